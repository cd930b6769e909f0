"""One call for every attribution method, on texts and on images.

    explain(model, item, method, target=None, **params) -> Attribution
"""

from __future__ import annotations

from .core import Attribution
from .images import explain_image
from .tokens import explain_text


def explain(model, item, method: str, target: str | None = None, **params) -> Attribution:
    """``explain_text`` for a text (str), ``explain_image`` for an image tensor (C, H, W)."""
    if isinstance(item, str):
        return explain_text(model, item, method, target, **params)
    return explain_image(model, item, method, target, **params)
