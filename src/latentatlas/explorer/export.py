"""The static export: one self-contained HTML file with every knob setting precomputed.

For ``steps`` values on each of ``knobs`` PCA knobs and ``items`` test items, all
steps**knobs x items decodes are made in batches here (images into one PNG sprite sheet, as a
data URI; sentences as JSON), and the page only looks them up: it opens from file:// with no
server, no network and no build step.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import torch
from PIL import Image

from ..atlas.workflow import EXPORT_DECODES_MAX, EXPORT_PIXELS_MAX, knob_sheet, sheet_columns
from ..errors import OptionError, UserError
from ..fileio import json_for_script, write_text
from ..models.rundir import run_kind
from ..plotting import grid_array
from .session import png_bytes


@torch.no_grad()
def export_html(run: str | Path, out: str | Path, *, knobs: int = 5, steps: int = 3,
                items: int = 5, span: float = 2.0, data_dir: str | Path | None = None) -> dict:
    """Write the page; return {"decodes", "bytes"}."""
    kind = run_kind(run)
    if not kind.latent:
        raise UserError(f"{run} holds {kind.named}, which has no latent space to export")
    try:
        sheet = knob_sheet(run, knobs, steps, items, span, data_dir=data_dir,
                           limit=EXPORT_DECODES_MAX, pixel_limit=EXPORT_PIXELS_MAX)
    except OptionError as e:  # this function calls the knob count ``knobs``
        raise OptionError("knobs" if e.option == "k" else e.option, e.message) from None
    fitted = sheet["fitted"]
    payload: dict = {"run": Path(run).name, "knobs": knobs, "steps": steps,
                     "values": torch.linspace(-span, span, steps).tolist(),
                     "explained": [round(float(r), 4) for r in fitted.explained_variance_ratio_]}
    if kind.text:
        payload.update(kind="text", items=[it["text"] for it in sheet["items"]],
                       decodes=[it["decodes"] for it in sheet["items"]])
    else:
        images = sheet["images"]
        cols = sheet_columns(len(images))
        grid = grid_array(images, nrow=cols, pad=0)  # (H, W) or (H, W, 3) uint8
        buf = io.BytesIO()
        Image.fromarray(grid).save(buf, format="PNG", optimize=True)
        payload.update(kind="image", cols=cols, tile=[int(images.shape[2]), int(images.shape[3])],
                       sheet="data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(),
                       items=["data:image/png;base64," + base64.b64encode(png_bytes(im)).decode()
                              for im in sheet["inputs"]])
    page = PAGE.replace("/*DATA*/", json_for_script(payload))
    write_text(out, page)
    return {"decodes": sheet["decodes"], "bytes": len(page.encode("utf-8"))}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Latent Atlas export</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body { font: 15px system-ui, sans-serif; margin: 2em; color: #222; }
.row { display: grid; grid-template-columns: 8em 16em 4em; gap: 6px; align-items: center; }
canvas { width: 224px; height: 224px; image-rendering: pixelated; background: #000; }
#sentence { font-size: 1.3em; min-height: 1.6em; }
#items img { width: 42px; height: 42px; image-rendering: pixelated; margin: 2px; cursor: pointer;
             border: 2px solid transparent; }
#items img.on { border-color: #c33; }
#items button.on { font-weight: bold; }
</style></head><body>
<h1>Latent Atlas: <span id="title"></span></h1>
<p>Every slider position was decoded in advance; this page needs no server.</p>
<div id="items"></div>
<p><canvas id="view" width="28" height="28" hidden></canvas></p>
<p id="sentence"></p>
<div id="sliders"></div>
<script type="application/json" id="data">/*DATA*/</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("data").textContent);
const pos = new Array(D.knobs).fill(Math.floor(D.steps / 2));
let item = 0;
window.__shown = 0;
document.getElementById("title").textContent = D.run;
const sheet = new Image();
function index() {
  let k = 0;
  for (const p of pos) k = k * D.steps + p;
  return k;
}
function show() {
  const k = index();
  if (D.kind === "text") {
    document.getElementById("sentence").textContent = D.decodes[item][k];
  } else {
    const n = item * Math.pow(D.steps, D.knobs) + k;
    const [h, w] = D.tile, c = document.getElementById("view"), g = c.getContext("2d");
    c.width = w; c.height = h; c.hidden = false;
    g.drawImage(sheet, (n % D.cols) * w, Math.floor(n / D.cols) * h, w, h, 0, 0, w, h);
  }
  window.__shown += 1;
  document.body.dataset.index = String(k);
}
const items = document.getElementById("items");
D.items.forEach((it, i) => {
  let e;
  if (D.kind === "text") { e = document.createElement("button"); e.textContent = it; }
  else { e = document.createElement("img"); e.src = it; e.alt = "item " + i; }
  e.addEventListener("click", () => { item = i; mark(); show(); });
  items.appendChild(e);
});
function mark() { [...items.children].forEach((e, i) => e.classList.toggle("on", i === item)); }
const sliders = document.getElementById("sliders");
for (let i = 0; i < D.knobs; i++) {
  const row = document.createElement("div"); row.className = "row";
  const name = document.createElement("span");
  name.textContent = "knob " + i + " (" + Math.round(100 * D.explained[i]) + "%)";
  const input = document.createElement("input");
  input.type = "range"; input.min = 0; input.max = D.steps - 1; input.step = 1;
  input.value = pos[i];
  const val = document.createElement("span");
  val.textContent = D.values[pos[i]].toFixed(1);
  input.addEventListener("input", () => {
    pos[i] = Number(input.value); val.textContent = D.values[pos[i]].toFixed(1); show();
  });
  row.append(name, input, val); sliders.appendChild(row);
}
mark();
if (D.kind === "text") { show(); document.body.dataset.ready = "1"; }
else { sheet.onload = () => { show(); document.body.dataset.ready = "1"; }; sheet.src = D.sheet; }
</script></body></html>
"""
