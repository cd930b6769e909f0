"""Progress bars for long work: on stderr when it is a terminal, silent otherwise (pipes, logs,
tests), so printed results and ``--json`` stay clean."""

from __future__ import annotations

import sys


def progress(total: int, desc: str, unit: str = "it"):
    """A tqdm bar of ``total`` steps: ``with progress(n, "decoding") as bar: bar.update(k)``."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False,
                disable=not sys.stderr.isatty(), file=sys.stderr)
