"""Saved concepts of a run: ``RUN/atlas/concepts.json``, usable by name in every command."""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from pathlib import Path

from ..errors import UserError
from ..fileio import write_json
from .directions import Concept

FILE = Path("atlas") / "concepts.json"


def load_concepts(run_dir: str | Path) -> dict[str, Concept]:
    """All saved concepts of a run by name (empty when none were saved)."""
    path = Path(run_dir) / FILE
    if not path.is_file():
        return {}
    try:
        items = json.loads(path.read_text(encoding="utf-8"))["concepts"]
        return {d["name"]: Concept.from_dict(d) for d in items}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise UserError(f"cannot read {path}: {e}") from None


def get_concept(run_dir: str | Path, name: str) -> Concept:
    concepts = load_concepts(run_dir)
    if name not in concepts:
        known = ", ".join(concepts) or "none yet; make one with latentatlas concept"
        raise UserError(f"unknown concept {name!r}; saved: {known}")
    return concepts[name]


NAME_MAX = 100


def check_name(name: str) -> str:
    """A concept name: 1-100 letters, digits, '-', '_' or '.' (the same rule for the CLI, the
    Python API and the explorer), or a UserError."""
    if not isinstance(name, str) or not 1 <= len(name) <= NAME_MAX or not all(
            ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in name):
        raise UserError(f"a concept name is 1-{NAME_MAX} letters, digits, '-', '_' or '.', got "
                        f"{str(name)[:40]!r}")
    return name


@contextmanager
def _locked(run_dir: Path):
    """Hold the run's concepts lock (an flock: other threads and processes wait)."""
    lock = run_dir / FILE.parent / ".concepts.lock"
    lock.parent.mkdir(exist_ok=True)
    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def check_new(run_dir: str | Path, name: str, replace: bool = False) -> None:
    """Refuse to reuse a concept name of the run unless ``replace`` (the CLI's --force)."""
    if not replace and name in load_concepts(run_dir):
        raise UserError(f"{run_dir} already has a concept {name!r}; choose another name, or "
                        "pass `force` to replace it")


def save_concept(run_dir: str | Path, concept: Concept, replace: bool = False) -> Path:
    """Add ``concept`` to the run's concepts.json, atomically; an existing one of the same name
    is replaced only when ``replace``. Writers go one at a time, so two saving at once lose
    neither concept."""
    check_name(concept.name)
    path = Path(run_dir) / FILE
    with _locked(Path(run_dir)):
        check_new(run_dir, concept.name, replace)
        concepts = load_concepts(run_dir)
        concepts[concept.name] = concept
        write_json(path, {"concepts": [c.to_dict() for c in concepts.values()]})
    return path
