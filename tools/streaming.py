"""Data files larger than memory: read lazily, summarised in one streaming pass, sampled for the rest.

A Parquet or CSV/TSV file is *streamed* when its table would not fit comfortably in memory
(:func:`should_stream`: the estimated in-memory table is more than STREAM_MEMORY_SHARE of the memory
available; ``--stream`` / ``--no-stream`` decide it by hand). Then nothing reads the whole table at once:
- the profile, the planner and every method that needs rows run on a seeded uniform sample of
  SAMPLE_ROWS rows (:meth:`LazyTable.sample`: each row gets a random key from a generator seeded per
  fixed block of CHUNK_ROWS rows, and the rows with the smallest keys are kept, in file order; a file
  with no more rows than that is its own sample, in file order, so it is profiled exactly as in memory);
- the means and covariance of the analysis variables over every complete row come from one pass over
  the file in batches (:meth:`LazyTable.moments`, :class:`causalpilot.tools.moments.Moments`), in memory
  O(p^2): they carry Fisher-z PC, the Gaussian BIC searches (exact search, BOSS, GES) and linear
  effect estimates and their intervals, which need nothing else;
- bootstrap resamples of those methods are Poisson(1) row weights drawn per block in a second pass
  (:meth:`LazyTable.poisson_moments`), each resample a set of weighted moments, never a copy of rows.

Why pyarrow: it is already a dependency (pandas reads Parquet through it); its Parquet reader
(``ParquetFile.iter_batches``) decodes one row group at a time and only the columns asked for, and its
CSV dataset reads text block by block with a bounded read-ahead, both giving numbers without a detour
through pandas. DuckDB would add a dependency for SQL the pass does not need; Dask DataFrames would add
a scheduler to a pass that one process streams at disk speed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from causalpilot.tools.errors import InputError
from causalpilot.tools.moments import Moments

STREAM_MEMORY_SHARE = 0.25  # a table estimated above this share of the available memory is streamed
SAMPLE_ROWS = 100_000  # rows the profile and the row-level methods of a streamed file run on
CHUNK_ROWS = 65_536  # rows per block: the unit of the sample's keys and the bootstrap's weights
_READAHEAD = 2  # batches pyarrow decodes ahead of the pass (bounds its memory)


def available_memory() -> int | None:
    """Bytes of memory available to a new process (Linux MemAvailable, else free pages), or None if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


PARQUET_SUFFIXES = (".parquet", ".pq")


def parquet_parts(path: Path) -> list[Path]:
    """The Parquet files of a folder written as one table in parts (Spark, Dask, pyarrow and DuckDB write
    ``part-0000.parquet`` ...), in the order of their paths; the folder's own files and those of its
    partition sub-folders (``year=2024/``, nested), no other sub-folder, so a folder that is not a table
    is not walked. The writers' markers (``_SUCCESS``, ``_metadata``, ``.crc`` and other names starting
    with "_" or ".") are skipped. A file: ``[path]``. Partition values written only in folder names are
    not read as columns."""
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    for entry in path.iterdir():
        if entry.name.startswith(("_", ".")):
            continue
        if entry.is_dir() and "=" in entry.name:
            found.extend(parquet_parts(entry))
        elif entry.is_file() and entry.suffix.lower() in PARQUET_SUFFIXES:
            found.append(entry)
    return sorted(found)


def table_bytes(path: Path) -> int:
    """An estimate of the table's size in memory: 8 bytes per cell of a Parquet file or folder of
    parts (their metadata give rows and columns), the file's size for text."""
    if path.is_dir() or path.suffix.lower() in PARQUET_SUFFIXES:
        import pyarrow.parquet as pq

        total = 0
        for part in parquet_parts(path):
            try:
                meta = pq.ParquetFile(part).metadata
            except Exception:  # an unreadable file is reported by the reader
                total += part.stat().st_size
                continue
            total += int(meta.num_rows) * int(meta.num_columns) * 8
        return total
    return path.stat().st_size


def should_stream(path: Path) -> bool:
    """Whether to stream ``path``: its table (:func:`table_bytes`) would take more than STREAM_MEMORY_SHARE of
    the memory available (profiling copies a table a few times over)."""
    memory = available_memory()
    return memory is not None and table_bytes(path) > STREAM_MEMORY_SHARE * memory


# P(X <= k) of Poisson(1) for k = 0, 1, ... while below 1 in floating point: a uniform u maps to the number of
# these below or at u, an exact Poisson(1) draw (inverse CDF), twice as fast as numpy's sampler here
_POISSON1_CDF = np.cumsum(np.exp(-1.0) / np.cumprod(np.r_[1.0, np.arange(1, 30)]))
_POISSON1_CDF = _POISSON1_CDF[_POISSON1_CDF < 1.0]


def _block_rng(seed: int, block: int, stream: int) -> np.random.Generator:
    """The generator of one block of CHUNK_ROWS rows (``stream`` 0: sample keys; 1: bootstrap weights)."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), int(block)]))


def _blas_threads(p: int):
    """One BLAS thread for the pass's small products (p < 256): a 65536 x 20 cross-product took 0.40 s on two
    threads and 0.024 s on one on the loaded 2-core machine; wider ones keep the library's threads."""
    from contextlib import nullcontext

    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas") if p < 256 else nullcontext()


def _as_floats(table, columns: list[str]) -> np.ndarray:
    """The columns of a pyarrow table as a float array (rows, len(columns)); nulls as NaN."""
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.empty((table.num_rows, len(columns)))
    for j, c in enumerate(columns):
        col = pc.cast(table.column(c), pa.float64())
        out[:, j] = col.to_numpy(zero_copy_only=False)
    return out


@dataclass
class LazyTable:
    """A Parquet or CSV/TSV file read in batches (pyarrow), never whole.

    ``columns``: the table's columns in order; ``rows``: its data rows (None for a text file until a
    pass has counted them); ``sep`` / ``decimal``: a text file's dialect (as load_table reads it)."""

    path: str
    format: str  # parquet | csv | tsv
    columns: list[str]
    rows: int | None = None
    sep: str = ","
    decimal: str = "."
    parts: list[str] = field(default_factory=list)  # a folder of Parquet parts: its files in order

    @classmethod
    def open(cls, path: Path, name: str) -> "LazyTable":
        """Open ``path`` (a file, or a folder of Parquet parts: :func:`parquet_parts`) lazily; raises
        :class:`InputError` for a file pyarrow cannot read, or parts whose columns differ."""
        suffix = path.suffix.lower()
        if path.is_dir() or suffix in PARQUET_SUFFIXES:
            import pyarrow.parquet as pq

            parts, columns, rows = parquet_parts(path), None, 0
            for part in parts:
                shown = name if part == path else f"{name}/{part.relative_to(path)}"
                try:
                    meta = pq.ParquetFile(str(part))
                    schema = meta.schema_arrow
                except Exception as exc:  # corrupt file: pyarrow raises many types
                    raise InputError(f"Data file '{shown}' is not a readable Parquet file ({type(exc).__name__}).") from None
                index = {c for c in _pandas_index_columns(schema)}
                names = [f for f in schema.names if f not in index]
                if columns is not None and names != columns:
                    raise InputError(f"The Parquet parts of '{name}' do not share their columns: '{shown}' has "
                                     f"{len(names)} ({', '.join(names[:5])}{', ...' if len(names) > 5 else ''}), "
                                     f"the first part {len(columns)}.")
                columns, rows = names, rows + int(meta.metadata.num_rows)
            return cls(str(path), "parquet", columns or [], rows,
                       parts=[str(p) for p in parts] if path.is_dir() else [])
        from causalpilot.tools.loading import _sniff_dialect

        with open(path, "rb") as f:
            head = f.read(1 << 16).decode("utf-8-sig", errors="replace")
        sep, decimal = _sniff_dialect(head.rsplit("\n", 1)[0] if "\n" in head else head,
                                      default="\t" if suffix == ".tsv" else ",")
        header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig").columns
        return cls(str(path), "tsv" if sep == "\t" else "csv", [str(c).strip() for c in header], None, sep, decimal)

    def _raw_names(self) -> dict[str, str]:
        """A text file's column names as its header writes them (spaces and all), by their stripped names."""
        header = pd.read_csv(self.path, sep=self.sep, nrows=0, encoding="utf-8-sig").columns
        return {str(c).strip(): str(c) for c in header}

    def _batches(self, raw: list[str]):
        """pyarrow record batches of the columns ``raw`` (as the file names them), in file order.

        Parquet: ``ParquetFile.iter_batches``, one row group at a time without pre-buffering (a dataset
        scanner read ahead across row groups: 250 MB allocated at n = 10^7, p = 20, against 100 MB). Text:
        a pyarrow CSV dataset, the columns asked for read as float64, with a bounded read-ahead."""
        import pyarrow as pa

        if self.format == "parquet":
            import pyarrow.parquet as pq

            return (batch for part in (self.parts or [self.path])
                    for batch in pq.ParquetFile(part, pre_buffer=False).iter_batches(batch_size=CHUNK_ROWS, columns=raw))
        import pyarrow.csv as pcsv
        import pyarrow.dataset as pds

        convert = pcsv.ConvertOptions(column_types={c: pa.float64() for c in raw})
        data = pds.dataset(self.path, format=pds.CsvFileFormat(parse_options=pcsv.ParseOptions(delimiter=self.sep),
                                                               convert_options=convert))
        return data.to_batches(columns=raw, batch_size=CHUNK_ROWS, batch_readahead=_READAHEAD, fragment_readahead=1)

    def _blocks(self, columns: list[str]) -> Iterator[tuple[int, object]]:
        """(block number, pyarrow table of CHUNK_ROWS rows, the last one shorter) of ``columns``, in file order."""
        import pyarrow as pa

        raw = columns if self.format == "parquet" else [self._raw_names()[c] for c in columns]
        buf, have, block = [], 0, 0
        batches = self._batches(raw)
        try:
            for batch in batches:
                buf.append(batch)
                have += batch.num_rows
                while have >= CHUNK_ROWS:
                    table = pa.Table.from_batches(buf)
                    yield block, table.slice(0, CHUNK_ROWS)
                    block += 1
                    rest = table.slice(CHUNK_ROWS)
                    buf, have = rest.to_batches(), rest.num_rows
        except pa.ArrowInvalid as exc:
            raise InputError(f"Data file '{self.path}' could not be read past its first rows in batches "
                             f"({str(exc).splitlines()[0]}); convert it to Parquet, or analyse it with --no-stream.") from None
        if have:
            yield block, pa.Table.from_batches(buf)

    def _numeric_blocks(self, columns: list[str]) -> Iterator[tuple[int, np.ndarray]]:
        """(block number, float array (rows, len(columns))) over the file; text files with decimal commas are
        read by pandas (pyarrow reads decimal points only)."""
        if self.format == "parquet" or self.decimal == ".":
            for block, table in self._blocks(columns):
                if self.format != "parquet":
                    table = table.rename_columns([c.strip() for c in table.column_names])
                yield block, _as_floats(table, columns)
            return
        for block, frame in enumerate(self._pandas_chunks(columns)):
            yield block, frame.to_numpy(dtype=float)

    def _pandas_chunks(self, columns: list[str] | None = None) -> Iterator[pd.DataFrame]:
        """The text file in chunks of CHUNK_ROWS rows, parsed as load_table parses it (pandas)."""
        usecols = None if columns is None else [self._raw_names()[c] for c in columns]
        with pd.read_csv(self.path, sep=self.sep, decimal=self.decimal, skip_blank_lines=True, low_memory=False,
                         chunksize=CHUNK_ROWS, usecols=usecols, encoding="utf-8-sig") as reader:
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                yield chunk if columns is None else chunk[columns]

    def sample(self, size: int, seed: int) -> pd.DataFrame:
        """A uniform random sample of ``size`` rows (all of them when the file has no more), in file order:
        row r gets a key from the generator of its block (seeded by ``seed`` and the block number), and the
        rows with the smallest keys are kept. Sets ``rows``. Memory: about 2 x ``size`` rows."""
        keep_keys, keep_rows, parts, total = np.empty(0), np.empty(0, dtype=np.int64), [], 0
        if self.format == "parquet":
            blocks = ((b, t) for b, t in self._blocks(self.columns))
        else:
            blocks = enumerate(self._pandas_chunks())
        for block, part in blocks:
            m = len(part)
            keys = _block_rng(seed, block, 0).random(CHUNK_ROWS)[:m]
            rows = np.arange(total, total + m)
            total += m
            if len(keep_keys) >= size:  # only rows below the size-th smallest key so far can enter
                cut = np.partition(keep_keys, size - 1)[size - 1]
                take = np.flatnonzero(keys < cut)
            else:
                take = np.arange(m)
            if take.size:
                parts.append(part.take(take) if self.format == "parquet" else part.iloc[take])
                keep_keys = np.concatenate([keep_keys, keys[take]])
                keep_rows = np.concatenate([keep_rows, rows[take]])
            if len(keep_keys) > 2 * size:
                parts, keep_keys, keep_rows = self._prune(parts, keep_keys, keep_rows, size)
        self.rows = total
        if not parts:
            return pd.DataFrame(columns=self.columns)
        [frame], _, _ = self._prune(parts, keep_keys, keep_rows, size)
        frame = frame.to_pandas() if self.format == "parquet" else frame
        return frame.reset_index(drop=True)

    def _concat(self, parts):
        if self.format == "parquet":
            import pyarrow as pa

            return pa.concat_tables(parts)
        return pd.concat(parts)

    def _prune(self, parts, keys: np.ndarray, rows: np.ndarray, size: int):
        """The ``size`` rows with the smallest keys among the kept ones, in file order."""
        table = self._concat(parts)
        chosen = np.sort(np.argsort(keys, kind="stable")[:size])  # kept rows are in file order already
        table = table.take(chosen) if self.format == "parquet" else table.iloc[chosen]
        return [table], keys[chosen], rows[chosen]

    def moments(self, columns: list[str]) -> tuple[Moments, int]:
        """The moments of ``columns`` over the rows where all of them are finite numbers, in one pass:
        (moments, rows in the file)."""
        acc, total = Moments.empty(columns), 0
        with _blas_threads(len(columns)):
            for _, X in self._numeric_blocks(columns):
                total += len(X)
                X = X[np.isfinite(X).all(axis=1)]
                acc = acc.merge(Moments.of(X, columns))
        self.rows = total
        return acc, total

    def poisson_moments(self, columns: list[str], replicates: int, seed: int) -> list[Moments]:
        """``replicates`` Poisson bootstrap resamples of the complete rows of ``columns``, as weighted moments
        from one pass: row r enters resample b with weight W[b, r] ~ Poisson(1), drawn from the generator
        of r's block (seeded by ``seed`` and the block number), so the weights do not depend on how the
        file is split into row groups or batches."""
        acc = [Moments.empty(columns) for _ in range(replicates)]
        with _blas_threads(len(columns)):
            for block, X in self._numeric_blocks(columns):
                u = _block_rng(seed, block, 1).random((replicates, CHUNK_ROWS))[:, :len(X)]
                W = np.searchsorted(_POISSON1_CDF, u, side="right")  # Poisson(1) by its inverse CDF
                ok = np.isfinite(X).all(axis=1)
                parts = Moments.of_weighted(X[ok], columns, W[:, ok])
                acc = [a.merge(m) for a, m in zip(acc, parts)]
        return acc


def _pandas_index_columns(schema) -> list[str]:
    """Columns a pandas-written Parquet file stores its index in (pd.read_parquet makes them the index)."""
    meta = schema.pandas_metadata or {}
    return [c for c in meta.get("index_columns", []) if isinstance(c, str)]


@dataclass
class Streamed:
    """What an analysis of a streamed file knows beyond its sample.

    ``moments``: of the analysis variables over the file's complete rows (None when they cannot stand
    for the data: ``reason`` says why); ``complete_rows``: the rows they summarise."""

    table: LazyTable
    rows: int
    sample_rows: int
    moments: Moments | None = None
    complete_rows: int = 0
    reason: str | None = None

    def to_dict(self) -> dict:
        return {"rows": self.rows, "sample_rows": self.sample_rows, "complete_rows": self.complete_rows,
                "moments": self.moments is not None, "reason": self.reason}


def moments_reason(frame: pd.DataFrame, prepared) -> str | None:
    """Why the moments of the file's columns cannot stand for the analysis variables of ``prepared``
    (profiled on ``frame``, the file's sample), or None when they can: rows ordered in time or pooled
    from domains, or a variable that profiling read from text (coded categories, numbers with units)."""
    if prepared.time is not None or prepared.profile.value("time_series"):
        return "the rows are ordered in time"
    if prepared.domain is not None:
        return "the rows pool several domains"
    recoded = {r.get("column") for r in prepared.profile.repairs if r.get("repair") in ("encoded", "numbers_with_units")}
    for c in prepared.frame.columns:
        if c in recoded or c not in frame.columns or not (pd.api.types.is_numeric_dtype(frame[c])
                                                          or pd.api.types.is_bool_dtype(frame[c])):
            return f"'{c}' is read from text, not stored as numbers"
    return None


def summarise(ds, prepared) -> Streamed:
    """The :class:`Streamed` of a streamed Dataset ``ds`` (tools.loading) whose sample gave ``prepared``:
    one pass over the file for the moments of the analysis variables, when they can stand for the data."""
    table = ds.table
    out = Streamed(table, int(table.rows), int(len(ds.frame)), reason=moments_reason(ds.frame, prepared))
    if out.reason is None:
        columns = [str(c) for c in prepared.frame.columns]
        out.moments, out.rows = table.moments(columns)
        out.complete_rows = int(round(out.moments.n))
        if out.complete_rows <= len(columns) + 3:
            out.moments, out.reason = None, f"only {out.complete_rows} rows have a value in every analysis variable"
    return out


__all__ = ["CHUNK_ROWS", "SAMPLE_ROWS", "STREAM_MEMORY_SHARE", "LazyTable", "Streamed", "available_memory",
           "moments_reason", "should_stream", "summarise", "table_bytes"]
