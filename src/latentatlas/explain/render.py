"""Attributions as HTML (tokens coloured by score, every token escaped) or as PNG overlays on an
image."""

from __future__ import annotations

import html

from .core import Attribution


def _colour(score: float, scale: float) -> str:
    a = min(1.0, abs(score) / scale) if scale > 0 else 0.0
    return f"rgba(214,39,40,{a:.3f})" if score >= 0 else f"rgba(31,119,180,{a:.3f})"


def attributions_html(results: list[Attribution], title: str = "") -> str:
    """One row per method: each token on a background whose strength is its score relative to
    the row's largest |score| (red: for the target, blue: against)."""
    rows = []
    for r in results:
        scale = float(max(abs(r.scores).max(), 1e-12))
        spans = "".join(
            f'<span title="{s:+.4f}" style="background:{_colour(float(s), scale)}">'
            f"{html.escape(t)}</span> " for t, s in zip(r.tokens, r.scores, strict=True))
        rows.append(f"<tr><th>{html.escape(r.method)}</th><td>{spans}</td></tr>")
    head = results[0]
    summary = (f"target <b>{html.escape(head.target)}</b> (p = {head.probability:.3f}); "
               f"prediction <b>{html.escape(head.prediction)}</b>")
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title or 'attributions')}</title><style>"
            "body{font:16px system-ui,sans-serif;margin:2em}th{text-align:right;"
            "padding-right:1em;font-weight:normal;color:#555}td span{padding:2px 3px;"
            "border-radius:3px;line-height:2}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>{summary}</p><table>{''.join(rows)}</table>"
            "</body></html>")


def cells_html(tokens: list[str], acts, cells: list[tuple[int, float | None]],
               title: str = "") -> str:
    """Every token coloured by the activation of the cell chosen in a list (``cells``: index and
    correlation with the searched pattern, strongest first); data as escaped JSON."""
    from ..fileio import json_for_script

    data = {"tokens": tokens, "cells": [[c, r] for c, r in cells],
            "acts": [[round(float(v), 4) for v in row] for row in acts.T]}
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title or 'RNN cells')}</title><style>"
            "body{font:15px system-ui,sans-serif;margin:2em}#text span{padding:1px 2px;"
            "line-height:1.9}</style></head><body>"
            f"<h1>{html.escape(title or 'RNN cells')}</h1>"
            "<label>cell <select id='cell'></select></label><p id='text'></p>"
            f"<script type='application/json' id='data'>{json_for_script(data)}</script>"
            "<script>'use strict';"
            "const D=JSON.parse(document.getElementById('data').textContent);"
            "const sel=document.getElementById('cell'),box=document.getElementById('text');"
            "for(const [c,r] of D.cells){const o=document.createElement('option');o.value=c;"
            "o.textContent='cell '+c+(r===null?'':' (r = '+r.toFixed(3)+')');sel.appendChild(o);}"
            "const spans=D.tokens.map((t)=>{const s=document.createElement('span');"
            "s.textContent=t;box.appendChild(s);box.appendChild(document.createTextNode(' '));"
            "return s;});"
            "function paint(){const a=D.acts[Number(sel.value)];"
            "const m=Math.max(...a.map(Math.abs),1e-9);"
            "a.forEach((v,i)=>{const x=Math.abs(v)/m;spans[i].title=v.toFixed(3);"
            "spans[i].style.background=v>=0?`rgba(214,39,40,${x})`:`rgba(31,119,180,${x})`;});}"
            "sel.addEventListener('change',paint);paint();document.body.dataset.ready='1';"
            "</script></body></html>")


def overlay_png(image, results: list[Attribution], path, title: str = "", scale: int = 3,
                truth: str | None = None):
    """The image (titled with the prediction, its probability, the target and the ``truth``
    when known), then one panel per method: the image in grey under its scores (red: for the
    target, blue: against; opacity relative to the panel's largest |score|). PNG, atomic."""
    import numpy as np

    from ..plotting import plain, png_path, pyplot, save_figure

    path = png_path(path, "image attributions")
    plt = pyplot()
    img = image.detach().float().clamp(0, 1).permute(1, 2, 0).numpy()
    grey = img.mean(-1)
    n = len(results) + 1
    fig, axes = plt.subplots(1, n, figsize=(1.0 * scale * n, 1.0 * scale + 0.9))
    axes = np.atleast_1d(axes)
    axes[0].imshow(img if img.shape[-1] == 3 else grey, cmap="gray", vmin=0, vmax=1)
    head = results[0]
    truth_line = f"\ntrue: {truth}" if truth is not None else ""
    axes[0].set_title(plain(f"predicted {head.prediction}\np = {head.probability:.2f} "
                            f"({head.target}){truth_line}"), fontsize=8)
    for ax, r in zip(axes[1:], results, strict=True):
        s = r.scores / max(float(np.abs(r.scores).max()), 1e-12)
        rgba = np.zeros((*s.shape, 4))
        rgba[..., 0] = s > 0
        rgba[..., 2] = s < 0
        rgba[..., 3] = np.abs(s)
        ax.imshow(grey, cmap="gray", vmin=0, vmax=1, alpha=0.6)
        ax.imshow(rgba)
        ax.set_title(r.method, fontsize=8)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    if title:
        fig.suptitle(plain(title), fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path)
