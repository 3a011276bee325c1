// nbtrack run comparison: the runs' curves overlaid (one chart per metric, a legend naming the
// runs), params and metrics side by side with differences marked, environment changes, and a
// cell-by-cell notebook diff. All user text goes through textContent.

function grid(parent, runs, section, cls, onlyChanged, numeric = false) {
  const table = el("table", { class: cls }, parent);
  const head = el("tr", {}, el("thead", {}, table));
  text("th", "", {}, head);
  runs.forEach((run, i) => {
    const th = el("th", { title: run.id || "" }, head);
    if (run.color !== undefined) el("span", { class: "nbw-swatch", style: `background: var(--nbw-series-${i % 10}); margin-right: 6px` }, th);
    th.appendChild(document.createTextNode(run.label));
  });
  const body = el("tbody", {}, table);
  let shown = 0;
  for (const row of section.rows || []) {
    if (onlyChanged && !row.changed) continue;
    const tr = el("tr", { "data-key": row.key }, body);
    if (row.changed) tr.classList.add("nbw-changed");
    text("td", row.key, {}, tr);
    for (const v of row.values) text("td", v, { title: v, class: numeric ? "nbw-num" : "" }, tr);
    shown++;
  }
  if (!shown) text("td", onlyChanged ? "no differences" : "none", { colspan: runs.length + 1, class: "nbw-muted" }, el("tr", {}, body));
  return table;
}

function lines(parent, ops) {
  for (const [op, line] of ops) {
    const cls = op === "+" ? "nbw-add" : op === "-" ? "nbw-del" : "nbw-muted";
    text("pre", `${op === " " ? " " : op} ${line}`, { class: cls }, parent);
  }
}

function cellsView(parent, cells) {
  if (!cells.available) { text("div", cells.reason || "no notebook snapshots to compare", { class: "nbw-muted" }, parent); return; }
  text("div", `${cells.a} → ${cells.b}: ${cells.summary || "no cells"}`, { class: "nbw-muted" }, parent);
  const bar = el("label", { class: "nbw-control" }, parent);
  const all = el("input", { type: "checkbox", class: "nbw-diff-all-cells" }, bar);
  bar.appendChild(document.createTextNode(" Show unchanged cells"));
  const list = el("div", { class: "nbw-cells" }, parent);
  const draw = () => {
    list.replaceChildren();
    for (const cell of cells.cells) {
      if (cell.status === "unchanged" && !all.checked) continue;
      const box = el("div", { class: `nbw-cell nbw-cell-${cell.status.replace(" ", "-")}`, "data-status": cell.status }, list);
      text("div", `${cell.label} · ${cell.status}`, { class: "nbw-cell-head" }, box);
      if (cell.source && cell.source.length) lines(box, cell.source);
      if (cell.outputs && cell.outputs.length) {
        text("div", "outputs", { class: "nbw-muted" }, box);
        lines(box, cell.outputs);
      }
    }
  };
  all.addEventListener("change", draw);
  draw();
}

// One chart per metric, one line per run (the run's colour everywhere); a tile when every
// run logged the metric once.
function curvesView(parent, runs, curves) {
  const charts = (curves && curves.charts) || [];
  if (!charts.length) { text("div", "no metrics logged", { class: "nbw-muted" }, parent); return () => {}; }
  const bar = el("div", { class: "nbw-bar" }, parent);
  const sLabel = text("label", "Smoothing ", { class: "nbw-control" }, bar);
  const slider = el("input", { type: "range", min: 0, max: 0.99, step: 0.01, value: 0, class: "nbw-diff-smoothing" }, sLabel);
  const sValue = text("span", "0.00", { class: "nbw-num" }, sLabel);
  const logLabel = el("label", { class: "nbw-control" }, bar);
  const logBox = el("input", { type: "checkbox", class: "nbw-diff-log" }, logLabel);
  logLabel.appendChild(document.createTextNode(" Log scale"));
  const tiles = el("div", { class: "nbw-tiles" }, parent);
  const chartGrid = el("div", { class: "nbw-chart-grid" }, parent);
  const views = [];
  const spec = (chart) => {
    if (chart.lines.every((line) => line.count <= 1)) {
      return { tile: true, title: chart.key, rows: chart.lines.map((line) => ({
        key: runs[line.run].id, label: runs[line.run].label, value: line.value[0], color: line.run,
        detail: line.step.length ? `step ${formatNumber(line.step[0])}` : "" })) };
    }
    return {
      title: chart.key, xLabel: "step", yLabel: chart.key, height: 240,
      log: logBox.checked, smoothing: Number(slider.value),
      series: chart.lines.map((line) => ({ key: runs[line.run].id, label: runs[line.run].label, x: line.step, y: line.value, color: line.run })),
      note: chart.lines.some((line) => line.count > line.value.length)
        ? `long runs drawn as the min/max of buckets (${chart.lines.map((line) => `${runs[line.run].label}: ${line.count.toLocaleString("en-US")} points`).join(", ")})`
        : "",
    };
  };
  for (const chart of charts) {
    const s = spec(chart);
    views.push({ chart, view: s.tile ? valueTile(tiles, s) : lineChart(chartGrid, s) });
  }
  tiles.hidden = !tiles.children.length;
  const redraw = () => {
    sValue.textContent = Number(slider.value).toFixed(2);
    for (const { chart, view } of views) if (!spec(chart).tile) view.update(spec(chart));
  };
  slider.addEventListener("input", redraw);
  logBox.addEventListener("change", redraw);
  const unwatch = watchTheme(() => { for (const { view } of views) view.rebuild(); });
  return () => { unwatch(); for (const { view } of views) view.destroy(); };
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbw-root nbw-diff" }, host);
  let cleanup = () => {};
  const draw = () => {
    cleanup();
    root.replaceChildren();
    const data = model.get("data");
    const runs = (data.runs || []).map((run, i) => ({ ...run, color: i }));
    const head = el("div", { class: "nbw-diff-runs" }, root);
    runs.forEach((run, i) => {
      const item = el("span", { class: "nbw-diff-run", title: run.id }, head);
      el("span", { class: "nbw-swatch", style: `background: var(--nbw-series-${i % 10})` }, item);
      text("strong", run.label, {}, item);
      if (run.status) text("span", run.status, { class: `nbw-status nbw-status-${run.status}`, style: "margin-left: 6px" }, item);
      if (run.user) text("span", ` ${run.user}`, { class: "nbw-muted" }, item);
    });
    if (data.curves) {
      text("h4", "Curves", {}, root);
      cleanup = curvesView(el("div", { class: "nbw-diff-curves" }, root), runs, data.curves);
    }
    text("h4", "Params", {}, root);
    const bar = el("label", { class: "nbw-control" }, root);
    const only = el("input", { type: "checkbox", class: "nbw-diff-only-changed" }, bar);
    bar.appendChild(document.createTextNode(" Differences only"));
    const params = el("div", { class: "nbw-diff-params-box" }, root);
    const drawParams = () => { params.replaceChildren(); grid(params, runs, data.params || {}, "nbw-diff-params", only.checked); };
    only.addEventListener("change", drawParams);
    drawParams();
    text("h4", "Metrics (last value)", {}, root);
    grid(root, runs, data.metrics || {}, "nbw-diff-metrics", false, true);
    const env = data.environment || {};
    text("h4", "Environment", {}, root);
    if (!env.available) text("div", env.reason || "no environment recorded", { class: "nbw-muted" }, root);
    else if (!(env.rows || []).length) text("div", `${env.a} and ${env.b}: same environment`, { class: "nbw-muted nbw-diff-env-same" }, root);
    else grid(root, [{ label: env.a, id: env.a }, { label: env.b, id: env.b }], { rows: env.rows }, "nbw-diff-env", false);
    text("h4", "Notebook cells", {}, root);
    cellsView(root, data.cells || {});
  };
  model.on("change:data", draw);
  draw();
  // the curves at the width the charts draw (device pixels): Python sends them again when it differs
  const width = Math.ceil(root.clientWidth * (window.devicePixelRatio || 1));
  if (width > 0 && model.get("data").curves) model.send({ type: "width", px: width });
  return () => { cleanup(); root.remove(); };
}

export default { render };
