"""What every study script does with one part: 2 torch threads, time it, write ROOT/PART.json
(with the command that made it) and print it."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def run_part(script: str, root: Path, part: str, make: Callable[[], dict[str, Any]]) -> None:
    """Run ``make`` (the part's study) and record its result as ``root/part.json``."""
    torch.set_num_threads(2)
    root.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    result = make()
    result = {"command": f"python scripts/{script} {part}",
              "minutes": round((time.perf_counter() - t) / 60, 1), **result}
    text = json.dumps(result, indent=1)
    (root / f"{part}.json").write_text(text + "\n")
    print(text)


def trained_run(root: Path, name: str, kind: str, data: str, retrain: bool = False,
                quiet: bool = False, **options: Any) -> Path:
    """ROOT/NAME, a ``kind`` run on ``data`` trained now (``latentatlas.fit`` with
    ``options``) unless it already holds a finished run or ``retrain``; the time on stderr."""
    from latentatlas import fit

    out = root / name
    if retrain or not (out / "model.safetensors").is_file():
        print(f"training {name}: {kind} on {data} {options}", file=sys.stderr, flush=True)
        t = time.perf_counter()
        fit(kind, data, out, force=True, quiet=quiet, **options)
        print(f"  {name}: {(time.perf_counter() - t) / 60:.1f} min", file=sys.stderr)
    return out


def table_main(script: str, doc: str, root: Path, make: Callable[[argparse.Namespace], dict],
               **flags: dict[str, Any]) -> None:
    """The command line of a study whose one part is ``table``: ``flags`` maps each option's
    name (``n_train`` for ``--n-train``) to its argparse keywords; ``--retrain`` is added.
    Runs ``make(args)`` through ``run_part``."""
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument("part", choices=["table"])
    for name, kw in flags.items():
        p.add_argument("--" + name.replace("_", "-"), **kw)
    p.add_argument("--retrain", action="store_true")
    a = p.parse_args()
    run_part(script, root, a.part, lambda: make(a))
