"""Saved concepts of a run: ``RUN/atlas/concepts.json``, usable by name in every command."""

from __future__ import annotations

import json
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


def save_concept(run_dir: str | Path, concept: Concept) -> Path:
    """Add or replace ``concept`` in the run's concepts.json, atomically."""
    concepts = load_concepts(run_dir)
    concepts[concept.name] = concept
    path = Path(run_dir) / FILE
    path.parent.mkdir(exist_ok=True)
    write_json(path, {"concepts": [c.to_dict() for c in concepts.values()]})
    return path
