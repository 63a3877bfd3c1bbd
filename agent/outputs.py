"""The output directory: confined paths and atomic writes.

Every file goes through :func:`write_atomic`, which writes a temporary file in the same directory
and renames it into place, so a crash never leaves a half-written report or graph. Names are fixed
by the program and checked to stay inside ``--out``.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from causalpilot.tools.errors import InputError


def check_out_dir(out: str | Path) -> Path:
    """Raise :class:`InputError` if ``out`` cannot be an output directory as it stands (an existing
    file); creates nothing. Returns the expanded path."""
    p = Path(out).expanduser()
    if p.exists() and not p.is_dir():
        raise InputError(f"Output path '{out}' exists and is not a directory.")
    return p


def prepare_out_dir(out: str | Path) -> Path:
    p = check_out_dir(out)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"Output directory '{out}' cannot be created: {exc.strerror or exc}.") from None
    if not os.access(p, os.W_OK):
        raise InputError(f"Output directory '{out}' is not writable.")
    return p.resolve()


def confined(out: Path, name: str) -> Path:
    target = (out / name).resolve()
    if out.resolve() not in target.parents and target != out.resolve():
        raise ValueError(f"refusing to write outside the output directory: {name!r}")
    return target


def write_atomic(out: Path, name: str, data: str | bytes) -> Path:
    target = confined(out, name)
    mode = "wb" if isinstance(data, bytes) else "w"
    fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if isinstance(data, bytes) else {"encoding": "utf-8", "newline": "\n"})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is a document to share like any other
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return target


def json_text(obj: Any) -> str:
    """``obj`` as the JSON text of every output file: indented, key order kept, UTF-8, no NaN."""
    return json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


def write_json(out: Path, name: str, obj: Any) -> Path:
    return write_atomic(out, name, json_text(obj))
