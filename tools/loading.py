"""Load a user's data file (CSV, TSV, Parquet, spreadsheet) or say in one sentence why not.

Loading is strict about what cannot be repaired (missing file, undecodable bytes, duplicate headers)
and leaves what can be repaired (constant columns, missing values, odd types) to profiling, which
records every repair it makes.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import io
import lzma
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from causalpilot.tools.errors import InputError

if TYPE_CHECKING:
    from causalpilot.tools.streaming import LazyTable

MIN_ROWS = 10
MAX_FIELD_BYTES = 10_000_000  # one cell longer than this is not data we can analyse


@dataclass
class Dataset:
    """A loaded table and where it came from."""

    frame: pd.DataFrame  # the whole table; for a streamed file, its seeded sample
    path: str
    sha256: str
    format: str
    repairs: list[dict] = field(default_factory=list)
    table: "LazyTable | None" = None  # a streamed file, read in batches (tools.streaming); None: in memory

    @property
    def n_rows(self) -> int:
        """The table's rows (a streamed file's, not its sample's)."""
        if self.table is not None and self.table.rows is not None:
            return int(self.table.rows)
        return int(self.frame.shape[0])

    @property
    def streamed(self) -> bool:
        return self.table is not None

    @property
    def n_cols(self) -> int:
        return int(self.frame.shape[1])


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes; of a folder of Parquet parts, of each part's path (relative to
    the folder) and bytes in order, so that the same parts under any folder name give the same digest."""
    from causalpilot.tools.streaming import parquet_parts

    h = hashlib.sha256()
    for part in parquet_parts(path):
        if part != path:
            h.update(str(part.relative_to(path).as_posix()).encode() + b"\0")
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def load_table(path: str | Path, *, stream: bool | None = False, sample_rows: int | None = None,
               seed: int = 0) -> Dataset:
    """Read ``path`` into a :class:`Dataset`; raise :class:`InputError` with one clear sentence.

    ``stream``: read a Parquet or CSV/TSV file lazily (tools.streaming) instead of into memory: True
    always, None when its table would not fit comfortably (:func:`causalpilot.tools.streaming.should_stream`),
    False never. A streamed Dataset's ``frame`` is a uniform sample of ``sample_rows`` rows (default
    SAMPLE_ROWS) drawn with ``seed``, and its ``table`` reads the whole file in batches."""
    p = Path(path)
    name = str(path)
    if not p.exists():
        raise InputError(f"Data file '{name}' does not exist.")
    if p.is_dir():  # a table written in Parquet parts (Spark, Dask, pyarrow, DuckDB)
        from causalpilot.tools.streaming import parquet_parts

        parts = parquet_parts(p)
        if not parts:
            raise InputError(f"'{name}' is a directory with no Parquet files in it: give a data file, or a folder "
                             "of Parquet parts of one table.")
        if stream is not False:
            from causalpilot.tools.streaming import should_stream

            if stream or should_stream(p):
                return _stream(p, name, sample_rows, seed)
        frame = _read_parquet(p, name)
        _check_shape(frame, name)
        return Dataset(frame=frame, path=str(p), sha256=sha256_of(p), format="parquet",
                       repairs=[{"repair": "parts", "reason": f"read as one table from the "
                                 f"{len(parts)} Parquet files in the folder, in the order of their names"}])
    try:
        size = p.stat().st_size
    except OSError as exc:  # permissions and the like
        raise InputError(f"Data file '{name}' cannot be read: {exc.strerror or exc}.") from None
    if size == 0:
        raise InputError(f"Data file '{name}' is empty.")

    suffix = p.suffix.lower()
    repairs: list[dict] = []
    if stream is not False:
        from causalpilot.tools.streaming import should_stream

        if stream and suffix in SPREADSHEETS:
            raise InputError(f"Streaming (--stream) reads Parquet and CSV/TSV files; save '{name}' as one of them.")
        if suffix not in SPREADSHEETS and (stream or should_stream(p)):
            return _stream(p, name, sample_rows, seed)
    if suffix in COMPRESSED:  # data.csv.gz: a delimited text file, compressed
        frame, fmt, dialect = _read_delimited(p, name, Path(p.stem).suffix.lower())
        if dialect:
            repairs.append({"repair": "dialect", "reason": dialect})
    elif suffix in (".parquet", ".pq"):
        frame, fmt = _read_parquet(p, name), "parquet"
    elif suffix in SPREADSHEETS:
        frame, fmt = _read_spreadsheet(p, name), "spreadsheet"
        repairs.append({"repair": "sheet", "reason": "the workbook's first sheet was read"})
    else:
        frame, fmt, dialect = _read_delimited(p, name, suffix)
        if dialect:
            repairs.append({"repair": "dialect", "reason": dialect})

    _check_shape(frame, name)
    return Dataset(frame=frame, path=str(p), sha256=sha256_of(p), format=fmt, repairs=repairs)


def _check_shape(frame: pd.DataFrame, name: str) -> None:
    if frame.shape[1] < 2:
        raise InputError(
            f"Data file '{name}' has only {frame.shape[1]} column; causal analysis needs at least two variables "
            "(is the delimiter right?)."
        )
    if frame.shape[0] == 0:
        raise InputError(f"Data file '{name}' has a header but no data rows.")
    if frame.shape[0] < MIN_ROWS:
        raise InputError(
            f"Data file '{name}' has only {frame.shape[0]} data row(s); causal analysis needs at least {MIN_ROWS}."
        )


def _stream(p: Path, name: str, sample_rows: int | None, seed: int) -> Dataset:
    """A streamed Dataset: the file opened lazily, its seeded sample in ``frame`` (tools.streaming)."""
    from causalpilot.tools.streaming import SAMPLE_ROWS, LazyTable

    size = SAMPLE_ROWS if sample_rows is None else int(sample_rows)
    if size < MIN_ROWS:
        raise InputError(f"The sample of a streamed file needs at least {MIN_ROWS} rows, not {size}.")
    table = LazyTable.open(p, name)
    _check_headers(table.columns, name)
    try:
        frame = table.sample(size, seed)
    except (pd.errors.ParserError, ValueError) as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise InputError(f"Data file '{name}' is not a well-formed table: {msg.rstrip('.')}.") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    _check_shape(frame, name)
    repairs = [{"repair": "streamed", "reason": (
        f"read in batches, not into memory: the profile runs on a seeded sample of {len(frame)} of its "
        f"{table.rows} rows")}]
    return Dataset(frame=frame, path=str(p), sha256=sha256_of(p), format=table.format, repairs=repairs, table=table)


def load_frame(frame: pd.DataFrame) -> Dataset:
    """A :class:`Dataset` from an in-memory table (the Python API), checked as a file would be.

    The frame is copied (the caller's is never changed); column names become strings. Its
    ``sha256`` is that of the frame written as CSV, so the same table gives the same fingerprint.
    Raises :class:`InputError` for fewer than two columns or ``MIN_ROWS`` rows, or duplicate names."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"data must be a pandas DataFrame, not {type(frame).__name__}.")
    if isinstance(frame.columns, pd.MultiIndex):
        raise InputError("The DataFrame has multi-level column names; flatten them to one name per column.")
    names = [str(c).strip() for c in frame.columns]
    _check_headers(names, "the DataFrame")
    if len(names) < 2:
        raise InputError(f"The DataFrame has only {len(names)} column; causal analysis needs at least two variables.")
    if frame.shape[0] < MIN_ROWS:
        raise InputError(f"The DataFrame has only {frame.shape[0]} row(s); causal analysis needs at least {MIN_ROWS}.")
    table = frame.reset_index(drop=True).copy()
    table.columns = names
    digest = hashlib.sha256(table.to_csv(index=False).encode("utf-8")).hexdigest()
    return Dataset(frame=table, path="", sha256=digest, format="dataframe")


def _read_parquet(p: Path, name: str) -> pd.DataFrame:
    """A Parquet file, or a folder of parts (tools.streaming.parquet_parts: the same columns, read in
    order as one table; the streamed path reads them so too)."""
    if p.is_dir():
        from causalpilot.tools.streaming import LazyTable, parquet_parts

        columns = LazyTable.open(p, name).columns  # checks that the parts agree; one sentence if not
        frames = [_read_parquet(part, f"{name}/{part.relative_to(p)}") for part in parquet_parts(p)]
        return pd.concat([f[columns] for f in frames], ignore_index=True)
    try:
        frame = pd.read_parquet(p)
    except ImportError:
        raise InputError(f"Reading Parquet file '{name}' needs pyarrow; install it or convert the file to CSV.") from None
    except Exception as exc:  # corrupt file: pyarrow raises many types
        raise InputError(f"Data file '{name}' is not a readable Parquet file ({type(exc).__name__}).") from None
    _check_headers([str(c) for c in frame.columns], name)
    frame.columns = [str(c) for c in frame.columns]
    return frame


SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".ods")


def _read_spreadsheet(p: Path, name: str) -> pd.DataFrame:
    """The first sheet of a workbook (openpyxl for .xlsx; pandas names what else it needs)."""
    try:
        frame = pd.read_excel(p, sheet_name=0)
    except ImportError:
        raise InputError(f"Reading spreadsheet '{name}' needs an Excel reader (pip install 'causalpilot[excel]' "
                         "for .xlsx); or save the sheet as CSV.") from None
    except Exception as exc:  # corrupt or not a workbook: the readers raise many types
        raise InputError(f"Data file '{name}' is not a readable spreadsheet ({type(exc).__name__}); "
                         "save the sheet as CSV.") from None
    _check_headers([str(c) for c in frame.columns], name)
    unnamed = [str(c) for c in frame.columns if str(c).startswith("Unnamed: ")]
    if unnamed:
        raise InputError(f"Data file '{name}' has an empty header in its first sheet ({unnamed[0]}); name every column.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _read_delimited(p: Path, name: str, suffix: str) -> tuple[pd.DataFrame, str, str | None]:
    """(table, format, how the dialect was read when it is not the plain one for the suffix)

    A file ending in .gz, .bz2 or .xz is decompressed first (Python's gzip, bz2 and lzma modules)."""
    raw = p.read_bytes()
    opener = COMPRESSED.get(p.suffix.lower())
    if opener is not None:
        try:
            raw = opener(raw)
        except (OSError, EOFError, ValueError, lzma.LZMAError, zlib.error):  # gzip.BadGzipFile is an OSError
            raise InputError(f"Data file '{name}' could not be decompressed: it is not a whole, valid "
                             f"{p.suffix.lower().lstrip('.')} file.") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"Data file '{name}' is not UTF-8 text (undecodable byte 0x{raw[exc.start]:02x} at byte {exc.start}); "
            "save it as UTF-8."
        ) from None
    if "\x00" in text:
        raise InputError(f"Data file '{name}' contains NUL bytes; it looks binary, not a CSV/TSV text file.")
    if not text.strip():
        raise InputError(f"Data file '{name}' is empty.")

    first_line = text.lstrip("\r\n").split("\n", 1)[0]
    default = "\t" if suffix == ".tsv" else ","
    sep, decimal = _sniff_dialect(text, default=default)
    fmt = "tsv" if sep == "\t" else "csv"

    try:
        header = next(csv.reader(io.StringIO(first_line), delimiter=sep))
    except (csv.Error, StopIteration):
        raise InputError(f"Data file '{name}' has an unreadable header line.") from None
    _check_headers(header, name)

    try:
        frame = pd.read_csv(io.StringIO(text), sep=sep, decimal=decimal, skip_blank_lines=True, low_memory=False)
    except pd.errors.ParserError as exc:
        msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else "malformed rows"
        raise InputError(f"Data file '{name}' is not a well-formed table: {msg.rstrip('.')}.") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"Data file '{name}' is empty.") from None
    except (ValueError, OverflowError, MemoryError) as exc:
        raise InputError(f"Data file '{name}' could not be parsed as a table ({type(exc).__name__}).") from None
    frame.columns = [str(c).strip() for c in header] if len(header) == frame.shape[1] else frame.columns
    dialect = None
    if sep != default or decimal != ".":
        dialect = f"read as {SEPARATORS[sep]}-separated" + (" with decimal commas" if decimal == "," else "") + \
            " (the separator that splits every sampled line into the same number of fields)"
    return frame, fmt, dialect


COMPRESSED = {".gz": gzip.decompress, ".bz2": bz2.decompress, ".xz": lzma.decompress}
SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")
_DECIMAL_POINT = re.compile(r"^\s*[-+]?\d*\.\d+\s*$")


def _sniff_dialect(text: str, default: str, sample_lines: int = 50) -> tuple[str, str]:
    """(separator, decimal mark) of a delimited text file.

    The separator is the one that splits the header and the first data lines into the same number
    (at least two) of fields; among several, the one giving the most fields, then ``default``
    (comma, or tab for .tsv). European spreadsheets write semicolon-separated files with decimal
    commas under a .csv name: with a separator other than the comma, cells like 3,14 that outnumber
    cells like 3.14 mean decimal commas.
    """
    lines = [ln for ln in text.lstrip("\r\n").splitlines()[:sample_lines + 1] if ln.strip()]
    best: tuple[int, int, str] | None = None
    for sep in SEPARATORS:
        try:
            widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=sep)}
        except csv.Error:
            continue
        if len(widths) == 1 and (w := widths.pop()) >= 2:
            key = (w, sep == default, sep)
            best = key if best is None or key[:2] > best[:2] else best
    sep = best[2] if best else default
    decimal = "."
    if sep != ",":
        cells = [c for row in csv.reader(io.StringIO("\n".join(lines[1:])), delimiter=sep) for c in row]
        commas = sum(bool(_DECIMAL_COMMA.match(c)) for c in cells)
        points = sum(bool(_DECIMAL_POINT.match(c)) for c in cells)
        if commas > points:
            decimal = ","
    return sep, decimal


def _check_headers(header: list[str], name: str) -> None:
    cleaned = [h.strip() for h in header]
    for i, h in enumerate(cleaned):
        if h == "":
            raise InputError(f"Data file '{name}' has an empty header for column {i + 1}; name every column.")
        if len(h) > 1000:
            raise InputError(f"Data file '{name}' has a header over 1000 characters in column {i + 1}.")
    seen: dict[str, int] = {}
    for i, h in enumerate(cleaned):
        if h in seen:
            raise InputError(
                f"Data file '{name}' has a duplicate column name '{h}' (columns {seen[h] + 1} and {i + 1})."
            )
        seen[h] = i
