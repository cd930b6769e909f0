// Latent Atlas explorer: sliders over a run's latent vector, a map of its test set,
// interpolations and concepts. Plain DOM; every piece of text goes in through textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                 "#7f7f7f", "#bcbd22", "#17becf"];
const RAW_SLIDERS = 32;

const state = {
  run: null, z: null, zStart: null, points: [], itemCache: new Map(), current: null,
  inFlight: false, pending: false, inputTime: null, conceptAlpha: new Map(), groups: { pos: new Set(), neg: new Set() },
  concepts: [], compareTo: "", path: [], projection: null,
};
window.__latencies = [];  // slider input -> decoded image shown, ms (read by the browser tests)
window.__decodes = 0;

async function api(path, body) {
  const init = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) };
  const res = await fetch(path, init);
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = (await res.json()).detail; } catch (e) { /* keep the status text */ }
    throw new Error(typeof msg === "string" ? msg : JSON.stringify(msg));
  }
  return res;
}

function status(text) { $("status").textContent = text; }

function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "text") e.textContent = v; else if (k === "class") e.className = v; else e[k] = v;
  }
  for (const c of children) e.appendChild(c);
  return e;
}

// ---- latent arithmetic ---------------------------------------------------------------
function knobValues(z) {
  const k = state.run.knobs;
  return k.components.map((c, i) => c.reduce((s, cj, j) => s + cj * (z[j] - k.mean[j]), 0) / k.scale[i]);
}
function addScaled(z, v, a) { for (let j = 0; j < z.length; j++) z[j] += a * v[j]; }

// ---- decoding --------------------------------------------------------------------------
async function decode() {
  if (state.inFlight) { state.pending = true; return; }
  state.inFlight = true;
  const z = Array.from(state.z);
  const t0 = state.inputTime;
  state.inputTime = null;
  try {
    const rid = state.run.id;
    if (state.run.kind === "image") {
      const res = await api(`/api/runs/${rid}/decode.png`, { z });
      const url = URL.createObjectURL(await res.blob());
      const img = $("decoded");
      await new Promise((resolve) => {
        img.onload = () => { URL.revokeObjectURL(url); resolve(); };
        img.onerror = resolve;
        img.src = url;
      });
    } else {
      const out = await (await api(`/api/runs/${rid}/decode`, { z: [z] })).json();
      $("sentence").textContent = out.texts[0];
    }
    window.__decodes += 1;
    if (t0 !== null) window.__latencies.push(performance.now() - t0);
    if (state.points.length) drawMap();  // move the marker of the current code
    if (state.compareTo) await compare(z);
  } catch (e) {
    status(`error: ${e.message}`);
  } finally {
    state.inFlight = false;
    if (state.pending) { state.pending = false; decode(); }
  }
}

async function compare(z) {
  const out = await (await api(`/api/runs/${state.run.id}/translate`, { to: state.compareTo, z })).json();
  if (out.image) { $("compared").src = out.image; $("compared-sentence").textContent = ""; }
  else { $("compared").removeAttribute("src"); $("compared-sentence").textContent = out.text; }
}

function changed(except) {
  state.inputTime = state.inputTime ?? performance.now();
  syncSliders(except);
  decode();
}

// ---- sliders ---------------------------------------------------------------------------
function slider(container, label, min, max, value, onInput, extra) {
  const input = el("input", { type: "range", min, max, step: (max - min) / 200, value });
  const shown = el("span", { text: Number(value).toFixed(2) });
  input.addEventListener("input", () => {
    shown.textContent = Number(input.value).toFixed(2);
    onInput(Number(input.value), input);
  });
  const name = el("span", { text: label });
  if (extra) name.appendChild(extra);
  container.append(name, input, shown);
  return { input, shown };
}

function buildSliders() {
  const run = state.run;
  $("knobs").replaceChildren(); $("dims").replaceChildren();
  state.knobSliders = run.knobs.components.map((comp, i) => slider($("knobs"),
    `knob ${i} (${(100 * run.knobs.explained[i]).toFixed(0)}%)`, -3, 3, 0, (v, input) => {
      const cur = knobValues(state.z)[i];
      addScaled(state.z, comp, (v - cur) * run.knobs.scale[i]);
      changed(input);
    }));
  state.dimSliders = run.units.order.slice(0, RAW_SLIDERS).map((u) => {
    const m = run.knobs.mean[u], sd = Math.max(run.units.sd[u], 1e-3);
    const s = slider($("dims"), `z[${u}]`, m - 3 * sd, m + 3 * sd, m, (v, input) => {
      state.z[u] = v; changed(input);
    });
    s.unit = u;
    return s;
  });
}

async function loadConcepts() {
  const list = await (await api(`/api/runs/${state.run.id}/concepts`)).json();
  state.concepts = list;
  $("concepts").replaceChildren();
  state.conceptAlpha = new Map();  // a Map: a concept named __proto__ is just a key
  for (const c of list) {
    const leak = el("span", { class: "leak",
      text: c.leakage === null ? "" : ` leakage ${Number(c.leakage).toFixed(3)} (${c.leaks_into})` });
    state.conceptAlpha.set(c.name, 0);
    slider($("concepts"), c.name, -3, 3, 0, (v) => {
      addScaled(state.z, c.vector, v - state.conceptAlpha.get(c.name));
      state.conceptAlpha.set(c.name, v);
      changed(null);
    }, leak);
  }
}

function syncSliders(except) {
  const kv = knobValues(state.z);
  state.knobSliders.forEach((s, i) => {
    if (s.input !== except) { s.input.value = kv[i]; s.shown.textContent = kv[i].toFixed(2); }
  });
  for (const s of state.dimSliders) {
    if (s.input !== except) { s.input.value = state.z[s.unit]; s.shown.textContent = state.z[s.unit].toFixed(2); }
  }
}

// ---- items, map, interpolation -----------------------------------------------------------
async function item(index) {
  if (!state.itemCache.has(index)) {
    state.itemCache.set(index, await (await api(`/api/runs/${state.run.id}/items/${index}`)).json());
  }
  return state.itemCache.get(index);
}

async function loadItem(index) {
  const it = await item(index);
  state.z = Float64Array.from(it.z);
  state.zStart = Float64Array.from(it.z);
  state.current = index;
  const cls = state.run.classes && it.label !== null && it.label >= 0 ? state.run.classes[it.label] : "";
  status(`item ${index}${cls ? " (" + cls + ")" : ""}`);
  changed(null);
}

function mapXY(p) {
  const c = $("map"), pad = 10;
  return [pad + (p[0] - state.bounds.x0) / (state.bounds.x1 - state.bounds.x0) * (c.width - 2 * pad),
          c.height - pad - (p[1] - state.bounds.y0) / (state.bounds.y1 - state.bounds.y0) * (c.height - 2 * pad)];
}

// where a code lies on the map: the server's linear projection (mean, two axes)
function zOnMap(z) {
  const pr = state.projection;
  if (!pr) return null;
  return pr.axes.map((axis) => axis.reduce((s, a, j) => s + a * (z[j] - pr.mean[j]), 0));
}

function drawMap(box) {
  const c = $("map"), g = c.getContext("2d");
  g.clearRect(0, 0, c.width, c.height);
  const n = state.points.length, r = n < 50 ? 5 : n < 500 ? 3 : 2;  // few points: bigger
  for (const p of state.points) {
    const [x, y] = mapXY(p);
    const idx = p[3];
    g.fillStyle = state.groups.pos.has(idx) ? "#000" : state.groups.neg.has(idx) ? "#f0f" : PALETTE[(p[2] + 10) % 10];
    g.fillRect(x - r, y - r, 2 * r, 2 * r);
  }
  if (state.path.length > 1) {  // the last interpolation, as a line through its steps
    g.strokeStyle = "#333"; g.lineWidth = 1.5; g.beginPath();
    state.path.forEach((p, i) => { const [x, y] = mapXY(p); if (i) g.lineTo(x, y); else g.moveTo(x, y); });
    g.stroke();
  }
  const here = state.z ? zOnMap(state.z) : null;  // the code being decoded now
  if (here) {
    const [x, y] = mapXY(here);
    g.strokeStyle = "#d00"; g.lineWidth = 2; g.beginPath(); g.arc(x, y, 7, 0, 2 * Math.PI); g.stroke();
    window.__marker = [x, y];
  }
  if (box) { g.strokeStyle = "#000"; g.lineWidth = 1; g.strokeRect(box[0], box[1], box[2] - box[0], box[3] - box[1]); }
}

async function loadMap() {
  const m = await (await api(`/api/runs/${state.run.id}/map`)).json();
  state.points = m.points;
  state.projection = m.projection || null;
  state.path = [];
  const xs = m.points.map((p) => p[0]), ys = m.points.map((p) => p[1]);
  state.bounds = { x0: Math.min(...xs), x1: Math.max(...xs) + 1e-9, y0: Math.min(...ys), y1: Math.max(...ys) + 1e-9 };
  $("map-method").textContent = `(${m.method}, ${m.points.length} test items)`;
  $("legend").replaceChildren(...(m.classes || []).map((name, i) => {
    const swatch = el("i");
    swatch.style.background = PALETTE[i % 10];
    return el("span", {}, [swatch, document.createTextNode(name)]);
  }));
  drawMap();
}

function nearest(ev) {
  const r = $("map").getBoundingClientRect();
  const mx = ev.clientX - r.left, my = ev.clientY - r.top;
  let best = null, bd = 36;
  for (const p of state.points) {
    const [x, y] = mapXY(p);
    const d = (x - mx) ** 2 + (y - my) ** 2;
    if (d < bd) { bd = d; best = p; }
  }
  return best;
}

async function interpolateTo(b) {
  if (state.current === null) return;
  const out = await (await api(`/api/runs/${state.run.id}/interpolate`,
    { a: state.current, b, steps: 8, method: $("interp-method").value })).json();
  state.path = out.map_path || [];
  drawMap();
  const strip = $("strip");
  if (out.images) strip.replaceChildren(...out.images.map((src) => el("img", { src, alt: "step" })));
  else strip.replaceChildren(el("ol", {}, out.texts.map((t) => el("li", { text: t }))));
}

function setupMap() {
  const c = $("map");
  let drag = null;
  c.addEventListener("mousemove", async (ev) => {
    const r = c.getBoundingClientRect();
    if (drag) { drag[2] = ev.clientX - r.left; drag[3] = ev.clientY - r.top; drawMap(drag); return; }
    const p = nearest(ev), tip = $("tooltip");
    if (!p) { tip.hidden = true; return; }
    const it = await item(p[3]);
    tip.replaceChildren(it.image ? el("img", { src: it.image, alt: `item ${p[3]}` }) : el("span", { text: it.text }),
      el("div", { text: `#${p[3]}` }));
    tip.style.left = `${ev.clientX - r.left + 12}px`; tip.style.top = `${ev.clientY - r.top + 12}px`;
    tip.hidden = false;
  });
  c.addEventListener("mouseleave", () => { $("tooltip").hidden = true; });
  c.addEventListener("mousedown", (ev) => {
    const mode = document.querySelector("input[name=mode]:checked").value;
    if (mode === "load") return;
    const r = c.getBoundingClientRect();
    drag = [ev.clientX - r.left, ev.clientY - r.top, ev.clientX - r.left, ev.clientY - r.top];
  });
  c.addEventListener("mouseup", () => {
    if (!drag) return;
    const mode = document.querySelector("input[name=mode]:checked").value;
    const [x0, x1] = [Math.min(drag[0], drag[2]), Math.max(drag[0], drag[2])];
    const [y0, y1] = [Math.min(drag[1], drag[3]), Math.max(drag[1], drag[3])];
    for (const p of state.points) {
      const [x, y] = mapXY(p);
      if (x >= x0 && x <= x1 && y >= y0 && y <= y1) state.groups[mode].add(p[3]);
    }
    drag = null;
    $("groups").textContent = `positive ${state.groups.pos.size} / negative ${state.groups.neg.size}`;
    drawMap();
  });
  c.addEventListener("click", (ev) => {
    if (document.querySelector("input[name=mode]:checked").value !== "load") return;
    const p = nearest(ev);
    if (!p) return;
    if (ev.shiftKey) interpolateTo(p[3]); else loadItem(p[3]);
  });
}

async function createConcept() {
  try {
    const body = { name: $("concept-name").value.trim(), positive: [...state.groups.pos],
                   negative: [...state.groups.neg], method: $("concept-method").value };
    const c = await (await api(`/api/runs/${state.run.id}/concepts`, body)).json();
    status(`saved concept ${c.name}`);
    await loadConcepts();
  } catch (e) { status(`error: ${e.message}`); }
}

// ---- start -------------------------------------------------------------------------------
async function openRun(rid) {
  state.run = state.runs.find((r) => r.id === rid);
  state.itemCache.clear();
  state.groups = { pos: new Set(), neg: new Set() };
  $("sentence").textContent = "";
  $("decoded").removeAttribute("src");
  buildSliders();
  await Promise.all([loadMap(), loadConcepts()]);
  const others = state.runs.filter((r) => r.id !== rid);
  $("compare-label").hidden = others.length === 0;
  $("compare").replaceChildren(el("option", { value: "", text: "none" }),
    ...others.map((r) => el("option", { value: r.id, text: r.name })));
  state.compareTo = "";
  $("compare-view").hidden = true;
  // text runs: the test sentences the model reconstructs best (exact first), as the sentence
  // VAE demo loads them; the page opens on the first
  const best = state.run.best || [];
  $("best-label").hidden = best.length === 0;
  $("best").replaceChildren(...best.map((b) => el("option", {
    value: String(b.index), text: `${b.exact ? "" : "~ "}${b.text}` })));
  await loadItem(best.length ? best[0].index : 0);
}

async function main() {
  state.runs = await (await api("/api/runs")).json();
  $("run").replaceChildren(...state.runs.map((r) => el("option", { value: r.id, text: `${r.name} (${r.kind})` })));
  $("run").addEventListener("change", () => openRun($("run").value));
  $("compare").addEventListener("change", () => {
    state.compareTo = $("compare").value;
    $("compare-view").hidden = !state.compareTo;
    $("compare-caption").textContent = state.compareTo ? `${state.compareTo}: decode of T(z)` : "";
    changed(null);
  });
  $("best").addEventListener("change", () => loadItem(Number($("best").value)));
  $("random-item").addEventListener("click", () => loadItem(Math.floor(Math.random() * state.run.n_items)));
  $("randomise").addEventListener("click", () => {
    const k = state.run.knobs;
    state.z = Float64Array.from(k.mean);
    k.components.forEach((c, i) => addScaled(state.z, c, k.scale[i] * gauss()));
    changed(null);
  });
  $("reset").addEventListener("click", () => { state.z = Float64Array.from(state.zStart); changed(null); });
  $("create-concept").addEventListener("click", createConcept);
  $("clear-groups").addEventListener("click", () => {
    state.groups = { pos: new Set(), neg: new Set() };
    $("groups").textContent = "positive 0 / negative 0";
    drawMap();
  });
  setupMap();
  await openRun(state.runs[0].id);
  document.body.dataset.ready = "1";
}

function gauss() {
  const u = 1 - Math.random(), v = Math.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

main().catch((e) => status(`error: ${e.message}`));
