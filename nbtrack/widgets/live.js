// nbtrack live curves: one chart per metric group (a value tile for metrics logged once), fed
// by the kernel while the cell runs. Metric keys and run names are user text: text only.
//
// The series live on the model, not on a view: `initialize` (once per model, before any message
// is handed over) listens for deltas, so nothing sent before a view renders is lost, and every
// view draws from that one store. The `snapshot` trait holds whole series (sent with the
// widget, then now and then and at the end: a view of a saved notebook or a reloaded page
// starts from it); numbered `delta` messages carry what changed since. After a gap in the
// numbering a series waits for the next whole copy of itself.

const LIVE = new Map(); // the model's `key` trait -> its series store

function liveState(model) {
  const key = model.get("key");
  let state = LIVE.get(key);
  if (!state) {
    state = { series: new Map(), stats: {}, seq: -1, synced: new Set(), views: new Set() };
    LIVE.set(key, state);
  }
  return state;
}

function applyDelta(series, key, d) {
  let s = series.get(key);
  if (!s || d.reset) {
    s = { step: [], time: [], value: [] };
    series.set(key, s);
  }
  for (const f of ["step", "time", "value"]) {
    if (!d.reset && d.drop) s[f].splice(s[f].length - d.drop, d.drop);
    for (const v of d[f]) s[f].push(v);
  }
}

function loadSnapshot(state, snap) {
  if (!snap || typeof snap.seq !== "number" || snap.seq < state.seq) return false;
  state.series = new Map();
  state.synced = new Set();
  for (const [key, d] of Object.entries(snap.series || {})) {
    applyDelta(state.series, key, { ...d, reset: true });
    state.synced.add(key);
  }
  state.stats = snap.stats || {};
  state.seq = snap.seq;
  return true;
}

function applyMessage(state, msg) {
  if (!msg || msg.type !== "delta") return false;
  if (msg.seq !== state.seq + 1) state.synced.clear();
  state.seq = msg.seq;
  for (const [key, d] of Object.entries(msg.series || {})) {
    if (d.reset) state.synced.add(key);
    if (state.synced.has(key)) applyDelta(state.series, key, d);
  }
  state.stats = msg.stats || state.stats;
  return true;
}

function initialize({ model }) {
  const state = liveState(model);
  const changed = () => { for (const redraw of state.views) redraw(); };
  loadSnapshot(state, model.get("snapshot"));
  model.on("change:snapshot", () => { if (loadSnapshot(state, model.get("snapshot"))) changed(); });
  model.on("msg:custom", (msg) => { if (applyMessage(state, msg)) changed(); });
  // a page opened while the run goes on: ask for whole series (answered once the kernel is free)
  if (model.get("status") === "running" && state.seq < 0) model.send({ type: "sync" });
  return () => LIVE.delete(model.get("key"));
}

const pts = (n) => `${n.toLocaleString("en-US")} point${n === 1 ? "" : "s"}`;

function groupSpec(group, state, opts) {
  const xLabel = opts.x === "time" ? "time (s)" : "step";
  const series = [], rows = [], notes = [];
  let most = 0;
  group.keys.forEach((key, i) => {
    const s = state.series.get(key);
    const st = state.stats[key] || {};
    const count = st.count ?? (s ? s.value.length : 0);
    most = Math.max(most, count);
    if (!s || !s.value.length) return;
    series.push({ key, label: key, x: s[opts.x], y: s.value, color: i });
    const last = s.value.length - 1;
    rows.push({ key, label: key, value: s.value[last], color: i, detail: `step ${formatNumber(s.step[last])}` });
    let line = `${key}: ${pts(count)}`;
    if (st.width > 1) line += `, drawn as ${pts(s.value.length)} (min/max of every ${st.width})`;
    if (st.skipped) line += `, ${st.skipped.toLocaleString("en-US")} not finite (not drawn)`;
    notes.push(line);
  });
  if (!series.length) return { kind: "empty", title: group.title };
  if (most <= 1) return { kind: "tile", title: group.title, rows };
  return {
    kind: "chart", title: group.title, xLabel, yLabel: group.title, series,
    log: opts.log, smoothing: opts.smoothing, height: opts.height, note: notes.join(" · "),
  };
}

function render({ model, el: host }) {
  const state = liveState(model);
  const root = el("div", { class: "nbw-root nbw-live" }, host);
  const bar = el("div", { class: "nbw-bar" }, root);
  const title = text("span", "", { class: "nbw-title" }, bar);
  const status = text("span", "", { class: "nbw-status" }, bar);
  const caption = text("span", "", { class: "nbw-live-caption nbw-muted" }, bar);
  el("span", { class: "nbw-spacer" }, bar);
  const sLabel = text("label", "Smoothing ", { class: "nbw-control" }, bar);
  const slider = el("input", { type: "range", min: 0, max: 0.99, step: 0.01, class: "nbw-live-smoothing" }, sLabel);
  const sValue = text("span", "", { class: "nbw-num" }, sLabel);
  const logLabel = el("label", { class: "nbw-control" }, bar);
  const logBox = el("input", { type: "checkbox", class: "nbw-live-log" }, logLabel);
  logLabel.appendChild(document.createTextNode(" Log scale"));
  const xLabel = text("label", "x ", { class: "nbw-control" }, bar);
  const xSelect = el("select", { class: "nbw-live-x" }, xLabel);
  text("option", "step", { value: "step" }, xSelect);
  text("option", "time", { value: "time" }, xSelect);
  const tiles = el("div", { class: "nbw-tiles" }, root);
  const grid = el("div", { class: "nbw-chart-grid" }, root);
  const views = new Map(); // group title -> {kind, view}
  let pending = false;

  const redraw = () => {
    pending = false;
    const opts = { x: model.get("x_axis"), smoothing: model.get("smoothing"), log: model.get("log_scale"), height: model.get("height") };
    slider.value = String(opts.smoothing);
    sValue.textContent = opts.smoothing.toFixed(2);
    logBox.checked = opts.log;
    xSelect.value = opts.x;
    const total = Object.values(state.stats).reduce((a, s) => a + (s.count || 0), 0);
    title.textContent = model.get("title");
    status.textContent = model.get("status");
    status.className = `nbw-status nbw-status-${model.get("status")}`;
    caption.textContent = total ? pts(total) : "waiting for the first log()…";
    root.dataset.status = model.get("status");
    const seen = new Set();
    for (const group of model.get("groups")) {
      const spec = groupSpec(group, state, opts);
      seen.add(group.title);
      let entry = views.get(group.title);
      if (entry && entry.kind !== spec.kind) { entry.view.destroy(); entry = null; }
      if (!entry) {
        const parent = spec.kind === "chart" ? grid : tiles;
        const view = spec.kind === "chart" ? lineChart(parent, spec)
          : valueTile(parent, spec.kind === "tile" ? spec : { title: spec.title, rows: [{ key: "", label: "waiting for data…", value: null }] });
        entry = { kind: spec.kind, view };
        views.set(group.title, entry);
      } else if (spec.kind !== "empty") {
        entry.view.update(spec);
      }
    }
    for (const [name, entry] of views) {
      if (!seen.has(name)) { entry.view.destroy(); views.delete(name); }
    }
    for (const group of model.get("groups")) { // keep the groups' order when a tile became a chart
      const entry = views.get(group.title);
      if (entry) entry.view.element.parentNode.appendChild(entry.view.element);
    }
    tiles.hidden = !tiles.children.length;
  };
  const schedule = () => {
    if (!pending) { pending = true; requestAnimationFrame(redraw); }
  };
  state.views.add(schedule);
  for (const name of ["groups", "x_axis", "smoothing", "log_scale", "title", "status", "height"]) model.on(`change:${name}`, schedule);
  slider.addEventListener("input", () => { model.set("smoothing", Number(slider.value)); model.save_changes(); });
  logBox.addEventListener("change", () => { model.set("log_scale", logBox.checked); model.save_changes(); });
  xSelect.addEventListener("change", () => { model.set("x_axis", xSelect.value); model.save_changes(); });
  const unwatch = watchTheme(() => { for (const { view } of views.values()) view.rebuild(); });
  redraw();
  return () => {
    unwatch();
    state.views.delete(schedule);
    for (const { view } of views.values()) view.destroy();
    root.remove();
  };
}

export default { initialize, render };
