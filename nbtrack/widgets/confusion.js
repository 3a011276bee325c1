// nbtrack confusion matrix: SVG heatmap (colour = row-normalised rate) with counts, a step
// slider, and per-class precision/recall. Labels are user text: textContent / SVG text only.
// Cells mix the theme's brand colour into its background, so every theme reads well.

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
const shade = (rate) => `fill: color-mix(in srgb, var(--nbw-tint) ${Math.round(6 + 94 * rate)}%, var(--jp-layout-color0, #fff))`;

const LABEL_MAX = 200; // px: longer labels are cut with "…" (the full label in a tooltip)

// Each label as drawn (cut to fit LABEL_MAX), and the width the longest one needs.
function fitLabels(svg, labels) {
  const probe = text("text", "", { "font-size": 11, visibility: "hidden" }, svg, SVG);
  const width = (s) => { probe.textContent = s; return probe.getComputedTextLength() || 7 * s.length; };
  const shown = labels.map((label) => {
    if (width(label) <= LABEL_MAX) return label;
    let cut = label;
    while (cut.length > 1 && width(`${cut}…`) > LABEL_MAX) cut = cut.slice(0, -1);
    return `${cut}…`;
  });
  const widest = Math.max(28, ...shown.map(width));
  probe.remove();
  return { shown, widest };
}

function label(svg, full, shown, attrs, cls) {
  const g = el("g", { class: cls, "data-label": full }, svg, SVG);
  text("title", full, {}, g, SVG);
  text("text", shown, attrs, g, SVG);
}

function heatmap(parent, view) {
  const n = view.labels.length;
  const cell = Math.max(14, Math.min(64, Math.floor(480 / Math.max(n, 1))));
  const svg = el("svg", { class: "nbw-cm-svg", "font-size": 11 }, parent, SVG);
  const { shown, widest } = fitLabels(svg, view.labels);
  const labelW = Math.ceil(widest) + 8;
  const left = labelW + 18, top = 22;
  const size = n * cell;
  const drop = Math.ceil(widest * Math.SQRT1_2) + 24; // the columns' labels, at 45 degrees
  svg.setAttribute("width", left + size + drop);
  svg.setAttribute("height", top + size + drop);
  text("text", "predicted →", { x: left + size / 2, y: 12, "text-anchor": "middle", class: "nbw-cm-axis" }, svg, SVG);
  text("text", "true ↓", { x: 2, y: top - 6, class: "nbw-cm-axis" }, svg, SVG);
  view.matrix.forEach((row, i) => {
    label(svg, view.labels[i], shown[i], { x: left - 4, y: top + i * cell + cell / 2 + 4, "text-anchor": "end" }, "nbw-cm-row-label");
    row.forEach((count, j) => {
      const rate = view.rates[i][j];
      const g = el("g", { class: "nbw-cm-cell", "data-row": i, "data-col": j, "data-count": count }, svg, SVG);
      el("rect", { x: left + j * cell, y: top + i * cell, width: cell, height: cell, style: shade(rate) }, g, SVG);
      text("title", `true ${view.labels[i]}, predicted ${view.labels[j]}: ${count} (${pct(rate)} of the row)`, {}, g, SVG);
      if (cell >= 30) {
        const strong = rate > 0.55 ? "nbw-cm-on-strong" : "";
        text("text", String(count), { x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 - (cell >= 40 ? 2 : -4), "text-anchor": "middle", "font-weight": 600, class: strong }, g, SVG);
        if (cell >= 40) text("text", pct(rate), { x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 + 12, "text-anchor": "middle", "font-size": 10, class: strong }, g, SVG);
      }
    });
  });
  view.labels.forEach((full, j) => {
    const x = left + j * cell + cell / 2, y = top + size + 6;
    label(svg, full, shown[j], { x, y, transform: `rotate(45 ${x} ${y})` }, "nbw-cm-col-label");
  });
}

function classTable(parent, view) {
  const table = el("table", { class: "nbw-cm-metrics" }, parent);
  const head = el("tr", {}, el("thead", {}, table));
  for (const h of ["class", "precision", "recall", "support"]) text("th", h, {}, head);
  const body = el("tbody", {}, table);
  view.classes.forEach((c, i) => {
    const tr = el("tr", {}, body);
    text("td", view.labels[i], {}, tr);
    text("td", pct(c.precision), {}, tr);
    text("td", pct(c.recall), {}, tr);
    text("td", String(c.support), {}, tr);
  });
  const tr = el("tr", { class: "nbw-cm-total" }, body);
  text("td", "accuracy", {}, tr);
  text("td", pct(view.accuracy), { colspan: 2 }, tr);
  text("td", String(view.total), {}, tr);
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbw-root nbw-cm" }, host);
  const bar = el("div", { class: "nbw-bar" }, root);
  const title = text("span", "", { class: "nbw-title" }, bar);
  text("span", "confusion matrix", { class: "nbw-muted" }, bar);
  const stepBox = el("label", { class: "nbw-control" }, bar);
  const slider = el("input", { type: "range", min: 0, step: 1, class: "nbw-cm-slider" }, stepBox);
  const stepLabel = text("span", "", { class: "nbw-cm-step nbw-num" }, stepBox);
  const body = el("div", { class: "nbw-cm-body" }, root);
  const draw = () => {
    const matrices = model.get("matrices");
    const index = Math.min(Math.max(model.get("index"), 0), matrices.length - 1);
    const view = matrices[index];
    title.textContent = model.get("title");
    slider.max = String(matrices.length - 1);
    slider.value = String(index);
    slider.style.display = matrices.length > 1 ? "" : "none";
    stepLabel.textContent = view ? `step ${view.step ?? "–"}${matrices.length > 1 ? ` (${index + 1} of ${matrices.length})` : ""}` : "";
    body.replaceChildren();
    if (!view) return;
    heatmap(body, view);
    classTable(body, view);
  };
  slider.addEventListener("input", () => { model.set("index", Number(slider.value)); model.save_changes(); });
  model.on("change:matrices", draw);
  model.on("change:index", draw);
  model.on("change:title", draw);
  draw();
  return () => root.remove();
}

export default { render };
