// nbtrack confusion matrix: SVG heatmap (colour = row-normalised rate) with counts, a step
// slider, and per-class precision/recall. Labels are user text: textContent / SVG text only.

const pct = (v) => (v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`);
const shade = (rate) => `rgb(${Math.round(247 - 200 * rate)},${Math.round(251 - 150 * rate)},${Math.round(255 - 80 * rate)})`;

function heatmap(parent, view) {
  const n = view.labels.length;
  const cell = Math.max(14, Math.min(64, Math.floor(480 / Math.max(n, 1))));
  const labelW = Math.min(140, 8 + 7 * Math.max(...view.labels.map((l) => l.length), 4));
  const left = labelW + 18, top = 22;
  const size = n * cell;
  const svg = el("svg", { width: left + size + 10, height: top + size + labelW + 24, class: "nbtrack-cm-svg", "font-size": 11 }, parent, SVG);
  text("text", "predicted →", { x: left + size / 2, y: 12, "text-anchor": "middle", fill: "currentColor" }, svg, SVG);
  text("text", "true ↓", { x: 2, y: top - 6, fill: "currentColor" }, svg, SVG);
  view.matrix.forEach((row, i) => {
    text("text", view.labels[i], { x: left - 4, y: top + i * cell + cell / 2 + 4, "text-anchor": "end", fill: "currentColor", class: "nbtrack-cm-row-label" }, svg, SVG);
    row.forEach((count, j) => {
      const rate = view.rates[i][j];
      const g = el("g", { class: "nbtrack-cm-cell", "data-row": i, "data-col": j, "data-count": count }, svg, SVG);
      el("rect", { x: left + j * cell, y: top + i * cell, width: cell - 1, height: cell - 1, fill: shade(rate) }, g, SVG);
      text("title", `true ${view.labels[i]}, predicted ${view.labels[j]}: ${count} (${pct(rate)} of the row)`, {}, g, SVG);
      if (cell >= 30) {
        const color = rate > 0.55 ? "#fff" : "#111";
        text("text", String(count), { x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 - (cell >= 40 ? 2 : -4), "text-anchor": "middle", fill: color, "font-weight": 600 }, g, SVG);
        if (cell >= 40) text("text", pct(rate), { x: left + j * cell + cell / 2, y: top + i * cell + cell / 2 + 12, "text-anchor": "middle", fill: color, "font-size": 9 }, g, SVG);
      }
    });
  });
  view.labels.forEach((label, j) => {
    const x = left + j * cell + cell / 2, y = top + size + 6;
    text("text", label, { x, y, transform: `rotate(45 ${x} ${y})`, fill: "currentColor", class: "nbtrack-cm-col-label" }, svg, SVG);
  });
}

function classTable(parent, view) {
  const table = el("table", { class: "nbtrack-cm-metrics" }, parent);
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
  const tr = el("tr", {}, body);
  text("td", "accuracy", {}, tr);
  text("td", pct(view.accuracy), { colspan: 2 }, tr);
  text("td", String(view.total), {}, tr);
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbtrack-cm" }, host);
  const bar = el("div", { class: "nbtrack-cm-bar" }, root);
  const title = text("strong", "", {}, bar);
  const slider = el("input", { type: "range", min: 0, step: 1, class: "nbtrack-cm-slider" }, bar);
  const stepLabel = text("span", "", { class: "nbtrack-cm-step" }, bar);
  const body = el("div", { class: "nbtrack-cm-body" }, root);
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
