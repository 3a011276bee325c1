// nbtrack charts: line charts (uPlot, vendored) and value tiles in JupyterLab's look. Shared by
// the live curves and the comparison (and anything else that inlines uPlot, dom.js and this file).
// Every colour comes from the page's CSS variables (--jp-*, through --nbw-series-N), read
// when a chart is built and again when the theme changes. Labels go in as text only.

const SERIES_COLORS = 10; // --nbw-series-0 .. -9 (widgets.css)

function formatNumber(v) {
  if (v === null || v === undefined) return "–";
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toExponential(2);
  if (Number.isInteger(v)) return v.toLocaleString("en-US");
  return Number(v.toPrecision(4)).toLocaleString("en-US", { maximumFractionDigits: 6 });
}

// Exponential moving average with TensorBoard's debiasing (the first points are not pulled to 0).
function smooth(values, weight) {
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

// A CSS colour (var(), color-mix(), names) as the rgb()/rgba() string a canvas understands.
function resolveColor(probe, css) {
  probe.style.color = "";
  probe.style.color = css;
  return getComputedStyle(probe).color;
}

// The colours and font a chart needs, from the CSS variables in scope at `node`.
function chartTheme(node) {
  const probe = el("span", { style: "display:none" }, node);
  const style = getComputedStyle(node);
  const theme = {
    text: resolveColor(probe, "var(--jp-ui-font-color1, #333)"),
    muted: resolveColor(probe, "var(--jp-ui-font-color2, #666)"),
    grid: resolveColor(probe, "color-mix(in srgb, var(--jp-border-color2, #ddd) 80%, transparent)"),
    axis: resolveColor(probe, "var(--jp-border-color1, #bbb)"),
    select: resolveColor(probe, "color-mix(in srgb, var(--jp-brand-color1, #1976d2) 15%, transparent)"),
    font: (style.getPropertyValue("--jp-ui-font-family") || "system-ui, sans-serif").trim(),
    series: [],
  };
  for (let i = 0; i < SERIES_COLORS; i++) theme.series.push(resolveColor(probe, `var(--nbw-series-${i})`));
  probe.remove();
  return theme;
}

const seriesColor = (theme, i) => theme.series[i % theme.series.length];

// Calls `callback` when JupyterLab switches theme (or, outside JupyterLab, the system does).
function watchTheme(callback) {
  let frame = 0;
  const later = () => { cancelAnimationFrame(frame); frame = requestAnimationFrame(() => callback()); };
  const observer = new MutationObserver(later);
  observer.observe(document.body, { attributes: true, attributeFilter: ["data-jp-theme-name", "data-jp-theme-light"] });
  const media = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  if (media) media.addEventListener("change", later);
  return () => {
    observer.disconnect();
    if (media) media.removeEventListener("change", later);
    cancelAnimationFrame(frame);
  };
}

// Several series, each with its own x values, on one sorted x axis: uPlot's aligned columns.
// A series has `undefined` where it has no point (uPlot skips those when hovering and joins
// the line across them).
function align(series) {
  const xs = new Set();
  for (const s of series) for (const x of s.x) xs.add(x);
  const x = Float64Array.from(xs).sort();
  const at = new Map();
  x.forEach((v, i) => at.set(v, i));
  const columns = series.map((s) => {
    const column = new Array(x.length).fill(undefined);
    for (let i = 0; i < s.x.length; i++) column[at.get(s.x[i])] = s.y[i];
    return column;
  });
  return [x, ...columns];
}

// Tick labels need room: the widest label decides the y axis width.
// Later layout cycles only grow the axis (the values of the first cycle come from a scale not yet
// fitted to the data, so they can be narrower than the ones drawn), which still converges.
function axisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  let size = axis.ticks.size + axis.gap + 2;
  const longest = (values || []).reduce((a, v) => (String(v).length > a.length ? String(v) : a), "");
  if (longest) {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / devicePixelRatio;
  }
  size = Math.ceil(size);
  return cycleNum > 1 ? Math.max(axis._size || 0, size) : size;
}

// How many points each shown series draws in the visible x range (data-drawn, for people
// reading the DOM and for tests: a canvas has no elements to count).
function drawnCounts(u) {
  const counts = {};
  const [lo, hi] = u.series[0].idxs || [0, u.data[0].length - 1];
  u.series.forEach((s, i) => {
    if (i === 0 || !s.show || s.nbtrackRaw) return;
    let n = 0;
    const ys = u.data[i];
    for (let j = lo; j <= hi; j++) if (ys[j] !== undefined && ys[j] !== null) n++;
    counts[s.nbtrackKey] = n;
  });
  return counts;
}

/**
 * A line chart in `parent`: returns {update(spec), rebuild(), element, destroy()} (rebuild:
 * read the theme's colours again).
 * spec: {title, xLabel, yLabel, log, smoothing, height, series: [{key, label, x: [], y: [], color?}]}
 * `key` names a series for data-drawn; `label` is what the legend shows (user text).
 */
function lineChart(parent, spec) {
  const box = el("div", { class: "nbw-chart" }, parent);
  const head = el("div", { class: "nbw-chart-head" }, box);
  const title = text("span", "", { class: "nbw-chart-title" }, head);
  const reset = text("button", "Reset zoom", { type: "button", class: "nbw-chart-reset", title: "or double-click the chart" }, head);
  reset.hidden = true;
  const plot = el("div", { class: "nbw-chart-plot" }, box);
  const note = text("div", "", { class: "nbw-chart-note" }, box);
  let u = null;
  let shape = "";
  let zoomed = false;
  let current = spec;
  let latest = []; // each series' last value: what the legend shows when not hovering

  const width = () => Math.max(240, Math.floor(plot.clientWidth || box.clientWidth || parent.clientWidth || 480));

  const prepared = (s) => {
    const series = [];
    s.series.forEach((one, i) => {
      const keep = (v) => Number.isFinite(v) && (!s.log || v > 0);
      const x = [], y = [];
      for (let j = 0; j < one.x.length; j++) if (keep(one.y[j]) && Number.isFinite(one.x[j])) { x.push(one.x[j]); y.push(one.y[j]); }
      const color = one.color ?? i;
      if (s.smoothing > 0) {
        series.push({ key: one.key, label: one.label, color, x, y: smooth(y, s.smoothing) });
        series.push({ key: one.key, label: `${one.label} (raw)`, color, x, y, raw: true });
      } else {
        series.push({ key: one.key, label: one.label, color, x, y });
      }
    });
    return series;
  };

  const build = (s, series) => {
    if (u) u.destroy();
    const theme = chartTheme(box);
    const axisFont = `11px ${theme.font}`;
    const labelFont = `12px ${theme.font}`;
    const axis = (label) => ({
      label, stroke: theme.muted, font: axisFont, labelFont, labelSize: 18, size: axisSize, gap: 4,
      grid: { stroke: theme.grid, width: 1 }, ticks: { stroke: theme.axis, width: 1, size: 4 },
    });
    const opts = {
      width: width(),
      height: s.height || 220,
      scales: { x: { time: false }, y: s.log ? { distr: 3, log: 10 } : { auto: true } },
      axes: [
        { ...axis(s.xLabel), size: 24, values: (_, ticks) => ticks.map(formatNumber) },
        { ...axis(s.yLabel), values: (_, ticks) => ticks.map(formatNumber) },
      ],
      cursor: { drag: { x: true, y: false, setScale: true }, points: { size: 6 } },
      select: { show: true },
      legend: { live: true },
      series: [
        { label: s.xLabel, value: (_, v, __, idx) => (idx === null || idx === undefined ? "latest" : formatNumber(v)) },
        ...series.map((one, i) => {
          const color = typeof one.color === "number" ? seriesColor(theme, one.color) : one.color;
          return {
            label: one.label,
            class: one.raw ? "nbw-series-raw" : "nbw-series",
            stroke: color,
            width: one.raw ? 1 : 1.6,
            alpha: one.raw ? 0.3 : 1,
            spanGaps: true,
            value: (_, v, __, idx) => formatNumber(idx === null || idx === undefined ? latest[i] : v),
            nbtrackKey: one.key,
            nbtrackRaw: !!one.raw,
          };
        }),
      ],
      hooks: {
        setSelect: [(self) => { if (self.select.width > 0) { zoomed = true; reset.hidden = false; } }],
        draw: [(self) => { box.dataset.drawn = JSON.stringify(drawnCounts(self)); }],
      },
    };
    box.dataset.xLabel = s.xLabel || "";
    box.dataset.log = String(!!s.log);
    box.dataset.series = JSON.stringify(series.map((one) => one.label));
    u = new uPlot(opts, align(series), plot);
    u.over.addEventListener("dblclick", () => { zoomed = false; reset.hidden = true; });
    // uPlot's styles set the select box and cursor lines; ours follow the theme
    u.root.querySelector(".u-select").style.background = theme.select;
    u.root.style.setProperty("--nbw-cursor", theme.muted);
  };

  const update = (s) => {
    current = s;
    title.textContent = s.title || "";
    box.dataset.title = s.title || "";
    const series = prepared(s);
    latest = series.map((one) => (one.y.length ? one.y[one.y.length - 1] : null));
    const next = JSON.stringify([series.map((one) => [one.key, one.label, one.raw || false, one.color]), s.log, s.xLabel, s.yLabel, s.height]);
    if (!u || next !== shape) {
      shape = next;
      zoomed = false;
      reset.hidden = true;
      build(s, series);
    } else {
      u.setData(align(series), !zoomed);
    }
    note.textContent = s.note || "";
  };

  reset.addEventListener("click", () => {
    zoomed = false;
    reset.hidden = true;
    if (u) u.setData(u.data, true);
  });
  const resize = new ResizeObserver(() => {
    if (u && Math.abs(u.width - width()) > 1) u.setSize({ width: width(), height: u.height });
  });
  resize.observe(plot);
  update(spec);
  return {
    update,
    rebuild: () => { shape = ""; update(current); },
    element: box,
    destroy: () => { resize.disconnect(); if (u) u.destroy(); box.remove(); },
  };
}

/**
 * A value tile in `parent` for metrics logged once: returns the same handle as lineChart.
 * spec: {title, rows: [{key, label, value, detail, color?}]}
 */
function valueTile(parent, spec) {
  const box = el("div", { class: "nbw-tile" }, parent);
  const update = (s) => {
    box.replaceChildren();
    box.dataset.title = s.title || "";
    text("div", s.title || "", { class: "nbw-tile-title" }, box);
    let drawn = 0;
    for (const row of s.rows) {
      const line = el("div", { class: "nbw-tile-row" }, box);
      if (s.rows.length > 1 || row.label !== s.title) {
        const swatch = el("span", { class: "nbw-swatch" }, line);
        swatch.style.background = `var(--nbw-series-${(row.color ?? 0) % SERIES_COLORS})`;
        text("span", row.label, { class: "nbw-tile-label" }, line);
      }
      text("span", formatNumber(row.value), { class: "nbw-tile-value" }, line);
      if (row.detail) text("span", row.detail, { class: "nbw-tile-detail" }, line);
      if (row.value !== null && row.value !== undefined) drawn++;
    }
    box.dataset.drawn = String(drawn);
  };
  update(spec);
  return { update, rebuild: () => {}, element: box, destroy: () => box.remove() };
}
