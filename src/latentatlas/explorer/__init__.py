"""The explorer: a live web page over one or two runs (FastAPI + a static page), and a
self-contained static export of precomputed knob settings."""

from .session import Explorer, RunView, open_run

__all__ = ["Explorer", "RunView", "open_run"]
