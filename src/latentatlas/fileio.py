"""Atomic file writes: a reader sees either the old file or the complete new one, never half."""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .errors import OptionError

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read the process umask (there is no way to read it without setting it)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def clean_stale(path: str | os.PathLike[str]) -> int:
    """Remove the temporary files of earlier writes to ``path`` whose writing process is gone
    (killed mid-write); returns how many. Each temporary name carries its writer's pid."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)
            removed += 1
    return removed


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it onto ``path`` only if the block succeeds.

    The temporary file lives in the same directory so the final ``os.replace`` is atomic; it
    is flushed to disk before the rename and the directory after it, so a power cut leaves the
    old file or the new one, not an empty one. On any exception the temporary file is removed
    and ``path`` is left untouched; temporary files of writers that were killed are removed
    on the next write to the same path.
    """
    path = Path(path)
    clean_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual file mode
        _fsync(tmp_path)
        os.replace(tmp_path, path)
        _fsync(path.parent)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> None:
    """Call ``write(tmp_path)`` and move the result onto ``path`` atomically. A writer that
    reports a failed write in its own exception (safetensors does) raises ``OSError``."""
    from safetensors import SafetensorError

    with atomic_path(path) as tmp:
        try:
            write(tmp)
        except SafetensorError as e:
            code = re.search(r"os error (\d+)", str(e))
            if code is None:
                raise
            number = int(code.group(1))
            raise OSError(number, os.strerror(number), str(path)) from None


def check_output(path: str | os.PathLike[str], *, folder: bool = False,
                 option: str = "out") -> None:
    """Refuse an output path that cannot be written, before any work is done: a file whose
    folder is missing or not writable, an existing path that is not a regular file (``/dev/null``
    would be replaced by the atomic rename), or a ``folder`` under an unwritable one. The folder
    is probed by creating a file in it, so a read-only mount is caught even for root."""
    p = Path(path)
    if folder:
        if p.exists() and not p.is_dir():
            raise OptionError(option, f"{p} exists and is not a folder")
        target = p
        while not target.exists():  # the nearest folder that exists: the rest is created
            target = target.parent
    else:
        if p.exists() and not p.is_file():
            raise OptionError(option, f"{p} exists and is not a regular file")
        target = p.parent
        if not target.is_dir():
            raise OptionError(option, f"{p}: the folder {target} does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".latentatlas-probe.", dir=target)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise OptionError(option, f"{p}: cannot write in {target} ({e.strerror})") from None


_NOTED: set[str] = set()


def note_once(message: str) -> None:
    """Print ``note: message`` to stderr the first time this process says it."""
    if message not in _NOTED:
        _NOTED.add(message)
        print(f"note: {message}", file=sys.stderr)


def write_cache(path: str | os.PathLike[str], write: Callable[[Path], Any]) -> bool:
    """``write_atomic`` for a file that only saves recomputing (a codes cache, a fitted map):
    a folder that cannot be written is said once, not an error. True when it was written."""
    path = Path(path)
    try:
        path.parent.mkdir(exist_ok=True)
        write_atomic(path, write)
        return True
    except OSError as e:
        note_once(f"cannot write {path.parent} ({e.strerror}): results are recomputed instead "
                  "of cached there")
        return False


def cache_dir() -> Path:
    """Where the package keeps what it makes for itself (reference classifiers, measured
    precisions): ``$LATENTATLAS_CACHE``, else ``~/.cache/latentatlas``."""
    return Path(os.environ.get("LATENTATLAS_CACHE") or Path.home() / ".cache" / "latentatlas")


def out_path(path: str | os.PathLike[str], suffix: str, what: str) -> Path:
    """``path`` as a Path, or an OptionError (``--out``) unless it ends in ``suffix`` and its
    folder exists; ``what`` names the output in the message."""
    path = Path(path)
    if path.suffix.lower() != suffix:
        raise OptionError("out", f"{path}: {what} are written as {suffix}")
    if not path.parent.is_dir():
        raise OptionError("out", f"{path}: folder {path.parent} does not exist")
    return path


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    write_atomic(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def json_for_script(obj) -> str:
    """JSON that can sit inside an HTML <script> element: "<", ">" and "&" escaped, so no text
    in it can close the element or open a comment."""
    return json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace(
        "&", "\\u0026")
