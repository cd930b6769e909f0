"""Commands that serve or export a run: explore (live web page) and export (one HTML file)."""

from __future__ import annotations

import argparse
import sys

from ..errors import UserError
from .common import positive_int


def add_parsers(sub: argparse._SubParsersAction) -> None:
    ex = sub.add_parser("explore", help="a live web page over one or two runs")
    ex.set_defaults(func=cmd_explore)
    ex.add_argument("runs", nargs="+", metavar="RUN", help="one run, or two to compare")
    ex.add_argument("--port", type=int, default=8765)
    ex.add_argument("--host", default="127.0.0.1",
                    help="address to bind (default: this machine only)")
    ex.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                    help="another host name the page may be reached by (repeatable); requests "
                         "naming any other host are refused (a DNS-rebinding guard)")
    ex.add_argument("--threads", type=positive_int, default=1,
                    help="torch threads per decode (requests are decoded one at a time per "
                         "run; default 1 leaves a core for the server)")
    ex.add_argument("--data-dir")

    xp = sub.add_parser("export", help="one self-contained HTML page of precomputed knob "
                                       "settings that opens from file://")
    xp.set_defaults(func=cmd_export)
    xp.add_argument("run")
    xp.add_argument("--knobs", type=positive_int, default=5)
    xp.add_argument("--steps", type=positive_int, default=3)
    xp.add_argument("--items", type=positive_int, default=5)
    xp.add_argument("--span", type=float, default=2.0,
                    help="knob values run over +-span standard deviations")
    xp.add_argument("--data-dir")
    xp.add_argument("--out", required=True, help="HTML file")


def cmd_explore(a: argparse.Namespace) -> int:
    import uvicorn

    from ..explorer import Explorer
    from ..explorer.app import create_app

    if len(a.runs) > 2:
        raise UserError(f"explore takes one or two runs, got {len(a.runs)}")
    if not 0 < a.port < 65536:
        raise UserError(f"--port must be between 1 and 65535, got {a.port}")
    explorer = Explorer(a.runs, a.data_dir)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: binding {a.host}: anyone who can reach this machine on port {a.port} "
              "can use the explorer", file=sys.stderr)
    print(f"explorer: http://{'127.0.0.1' if a.host == '0.0.0.0' else a.host}:{a.port}/ "
          f"({', '.join(explorer.runs)}); Ctrl-C stops it", flush=True)
    app = create_app(explorer, bind=a.host, allow_hosts=tuple(a.allow_host))
    uvicorn.run(app, host=a.host, port=a.port, log_level="warning")
    return 0


def cmd_export(a: argparse.Namespace) -> int:
    import time

    from ..explorer.export import export_html

    t0 = time.perf_counter()
    info = export_html(a.run, a.out, knobs=a.knobs, steps=a.steps, items=a.items, span=a.span,
                       data_dir=a.data_dir)
    print(f"wrote {a.out}: {info['decodes']:,} decodes ({a.steps}^{a.knobs} settings x "
          f"{a.items} items), {info['bytes'] / 1e6:.1f} MB, {time.perf_counter() - t0:.1f} s")
    return 0
