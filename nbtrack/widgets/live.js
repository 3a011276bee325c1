// nbtrack live curves: SVG charts fed by deltas from the kernel (no dependencies, works offline).
// User text (metric keys, run names) is set with textContent only.
const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
const PAD = { left: 56, right: 12, top: 10, bottom: 26 };

export function formatNumber(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

// Exponential moving average with TensorBoard's debiasing (the first points are not pulled to 0).
export function smooth(values, weight) {
  if (!(weight > 0)) return values;
  const out = new Array(values.length);
  let last = 0;
  let debias = 0;
  for (let i = 0; i < values.length; i++) {
    last = last * weight + (1 - weight) * values[i];
    debias = debias * weight + (1 - weight);
    out[i] = last / debias;
  }
  return out;
}

function applyDelta(store, key, d) {
  let s = store.get(key);
  if (!s || d.reset) {
    s = { step: [], time: [], value: [] };
    store.set(key, s);
  }
  for (const f of ["step", "time", "value"]) {
    if (!d.reset && d.drop) s[f].splice(s[f].length - d.drop, d.drop);
    for (const v of d[f]) s[f].push(v);
  }
}

function drawChart(box, group, store, stats, opts, width) {
  box.replaceChildren();
  const head = el("div", { class: "nbtrack-live-head" }, box);
  text("span", group.title, { class: "nbtrack-live-title" }, head);
  const height = opts.height;
  const svg = el("svg", { width, height, class: "nbtrack-live-svg", "data-group": group.title }, box, SVG);
  const lines = [];
  let xlo = Infinity, xhi = -Infinity, ylo = Infinity, yhi = -Infinity;
  group.keys.forEach((key, i) => {
    const s = store.get(key);
    if (!s || !s.value.length) return;
    const xs = s[opts.x];
    let ys = s.value;
    const smoothed = smooth(ys, opts.smoothing);
    const keep = (y) => !opts.log || y > 0;
    const tr = (y) => (opts.log ? Math.log10(y) : y);
    for (let j = 0; j < xs.length; j++) {
      if (!keep(ys[j])) continue;
      xlo = Math.min(xlo, xs[j]); xhi = Math.max(xhi, xs[j]);
      ylo = Math.min(ylo, tr(ys[j])); yhi = Math.max(yhi, tr(ys[j]));
    }
    lines.push({ key, xs, ys, smoothed, color: COLORS[i % COLORS.length], keep, tr });
  });
  if (!lines.length || !Number.isFinite(xlo)) {
    text("text", "waiting for data…", { x: 10, y: 20, class: "nbtrack-live-empty" }, svg, SVG);
    return;
  }
  if (xhi === xlo) { xhi = xlo + 1; }
  if (yhi === ylo) { yhi = ylo + Math.max(Math.abs(ylo) * 0.1, 1e-9); ylo -= Math.max(Math.abs(ylo) * 0.1, 1e-9); }
  const pw = width - PAD.left - PAD.right, ph = height - PAD.top - PAD.bottom;
  const sx = (x) => PAD.left + ((x - xlo) / (xhi - xlo)) * pw;
  const sy = (y) => PAD.top + (1 - (y - ylo) / (yhi - ylo)) * ph;
  const axes = el("g", { class: "nbtrack-live-axes", "font-size": 10, fill: "currentColor" }, svg, SVG);
  el("rect", { x: PAD.left, y: PAD.top, width: pw, height: ph, fill: "none", stroke: "#8884" }, axes, SVG);
  for (const t of niceTicks(ylo, yhi, 4)) {
    el("line", { x1: PAD.left, x2: PAD.left + pw, y1: sy(t), y2: sy(t), stroke: "#8882" }, axes, SVG);
    text("text", opts.log ? formatNumber(Math.pow(10, t)) : formatNumber(t), { x: PAD.left - 4, y: sy(t) + 3, "text-anchor": "end" }, axes, SVG);
  }
  for (const t of niceTicks(xlo, xhi, 6)) {
    text("text", formatNumber(t), { x: sx(t), y: PAD.top + ph + 14, "text-anchor": "middle" }, axes, SVG);
  }
  text("text", opts.x === "time" ? "seconds" : "step", { x: PAD.left + pw, y: height - 2, "text-anchor": "end" }, axes, SVG);
  const legend = el("div", { class: "nbtrack-live-legend" }, box);
  for (const line of lines) {
    const pts = (values) => {
      const out = [];
      for (let j = 0; j < line.xs.length; j++) {
        if (!line.keep(line.ys[j])) continue;
        const y = line.tr(values[j]);
        if (Number.isFinite(y)) out.push(sx(line.xs[j]).toFixed(1) + "," + sy(y).toFixed(1));
      }
      return out;
    };
    const raw = pts(line.ys);
    const faint = opts.smoothing > 0;
    el("polyline", { points: raw.join(" "), fill: "none", stroke: line.color, "stroke-width": 1.2, "stroke-opacity": faint ? 0.25 : 1, "data-key": line.key, "data-points": raw.length, class: "nbtrack-live-raw" }, svg, SVG);
    if (faint) {
      const sm = pts(line.smoothed);
      el("polyline", { points: sm.join(" "), fill: "none", stroke: line.color, "stroke-width": 1.6, "data-key": line.key, class: "nbtrack-live-smooth" }, svg, SVG);
    }
    const item = el("span", { class: "nbtrack-live-item" }, legend);
    el("span", { class: "nbtrack-live-swatch", style: `background:${line.color}` }, item);
    text("span", line.key, { class: "nbtrack-live-key" }, item);
    const st = stats[line.key] || {};
    const last = line.ys[line.ys.length - 1];
    const shown = `${formatNumber(last)}  (${(st.count ?? line.ys.length).toLocaleString()} pts, ${raw.length.toLocaleString()} drawn${st.skipped ? `, ${st.skipped} non-finite` : ""})`;
    text("span", shown, { class: "nbtrack-live-last" }, item);
  }
}

// The series live on the model (one copy however many views): messages that arrive before a
// view renders are kept. Messages are numbered; after a gap, deltas are ignored per series until
// that series is sent whole again (the kernel sends everything every few seconds).
const STATES = new WeakMap();

function modelState(model) {
  let state = STATES.get(model);
  if (state) return state;
  state = { store: new Map(), stats: {}, seq: 0, synced: new Set(), views: new Set() };
  STATES.set(model, state);
  model.on("msg:custom", (msg) => {
    if (!msg || msg.type !== "delta") return;
    if (msg.full || msg.seq !== state.seq + 1) state.synced.clear();
    state.seq = msg.seq;
    for (const [key, d] of Object.entries(msg.series)) {
      if (d.reset) state.synced.add(key);
      if (state.synced.has(key)) applyDelta(state.store, key, d);
    }
    state.stats = msg.stats || state.stats;
    for (const redraw of state.views) redraw();
  });
  model.send({ type: "sync" });
  return state;
}

function initialize({ model }) {
  modelState(model);
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbtrack-live" }, host);
  const bar = el("div", { class: "nbtrack-live-bar" }, root);
  const caption = text("span", "", { class: "nbtrack-live-caption" }, bar);
  const sLabel = text("label", "smoothing ", {}, bar);
  const slider = el("input", { type: "range", min: 0, max: 0.99, step: 0.01, class: "nbtrack-live-smoothing" }, sLabel);
  const logLabel = el("label", {}, bar);
  const logBox = el("input", { type: "checkbox", class: "nbtrack-live-log" }, logLabel);
  logLabel.appendChild(document.createTextNode(" log scale"));
  const xSelect = el("select", { class: "nbtrack-live-x" }, bar);
  for (const v of ["step", "time"]) text("option", `x: ${v}`, { value: v }, xSelect);
  const charts = el("div", { class: "nbtrack-live-charts" }, root);
  const state = modelState(model);
  const store = state.store;
  let pending = false;

  const redraw = () => {
    pending = false;
    const opts = { x: model.get("x_axis"), smoothing: model.get("smoothing"), log: model.get("log_scale"), height: model.get("height") };
    slider.value = String(opts.smoothing);
    logBox.checked = opts.log;
    xSelect.value = opts.x;
    const stats = state.stats;
    const total = Object.values(stats).reduce((a, s) => a + (s.count || 0), 0);
    caption.textContent = `${model.get("title")} · ${model.get("status")} · ${total.toLocaleString()} points`;
    root.dataset.status = model.get("status");
    const width = Math.max(320, Math.min(host.clientWidth || 640, 900));
    const groups = model.get("groups");
    while (charts.children.length > groups.length) charts.lastChild.remove();
    groups.forEach((group, i) => {
      const box = charts.children[i] || el("div", { class: "nbtrack-live-chart" }, charts);
      drawChart(box, group, store, stats, opts, width);
    });
  };
  const schedule = () => {
    if (!pending) { pending = true; requestAnimationFrame(redraw); }
  };
  state.views.add(schedule);
  for (const name of ["groups", "x_axis", "smoothing", "log_scale", "title", "status", "height"]) model.on(`change:${name}`, schedule);
  slider.addEventListener("input", () => { model.set("smoothing", Number(slider.value)); model.save_changes(); });
  logBox.addEventListener("change", () => { model.set("log_scale", logBox.checked); model.save_changes(); });
  xSelect.addEventListener("change", () => { model.set("x_axis", xSelect.value); model.save_changes(); });
  schedule();
  return () => {
    state.views.delete(schedule);
    root.remove();
  };
}

export default { initialize, render };
