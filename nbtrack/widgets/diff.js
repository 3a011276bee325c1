// nbtrack run comparison: params and metrics tables (differences highlighted), environment
// changes, and a cell-by-cell notebook diff. All user text goes through textContent.

function grid(parent, runs, section, cls, onlyChanged) {
  const table = el("table", { class: cls }, parent);
  const head = el("tr", {}, el("thead", {}, table));
  text("th", "", {}, head);
  for (const run of runs) text("th", run.label, { title: run.id }, head);
  const body = el("tbody", {}, table);
  let shown = 0;
  for (const row of section.rows || []) {
    if (onlyChanged && !row.changed) continue;
    const tr = el("tr", { "data-key": row.key }, body);
    if (row.changed) tr.classList.add("nbtrack-changed");
    text("td", row.key, {}, tr);
    for (const v of row.values) text("td", v, { title: v }, tr);
    shown++;
  }
  if (!shown) text("td", onlyChanged ? "no differences" : "none", { colspan: runs.length + 1, class: "nbtrack-muted" }, el("tr", {}, body));
}

function lines(parent, ops) {
  for (const [op, line] of ops) {
    const cls = op === "+" ? "nbtrack-add" : op === "-" ? "nbtrack-del" : "nbtrack-muted";
    text("pre", `${op === " " ? " " : op} ${line}`, { class: cls }, parent);
  }
}

function cellsView(parent, cells) {
  if (!cells.available) { text("div", cells.reason || "no notebook snapshots to compare", { class: "nbtrack-muted" }, parent); return; }
  text("div", `${cells.a} → ${cells.b}: ${cells.summary || ""}`, { class: "nbtrack-muted" }, parent);
  const bar = el("label", {}, parent);
  const all = el("input", { type: "checkbox", class: "nbtrack-diff-all-cells" }, bar);
  bar.appendChild(document.createTextNode(" show unchanged cells"));
  const list = el("div", { class: "nbtrack-cells" }, parent);
  const draw = () => {
    list.replaceChildren();
    for (const cell of cells.cells) {
      if (cell.status === "unchanged" && !all.checked) continue;
      const box = el("div", { class: `nbtrack-cell nbtrack-cell-${cell.status.replace(" ", "-")}`, "data-status": cell.status }, list);
      text("div", `${cell.label} · ${cell.status}`, { class: "nbtrack-cell-head" }, box);
      if (cell.source && cell.source.length) lines(box, cell.source);
      if (cell.outputs && cell.outputs.length) {
        text("div", "outputs", { class: "nbtrack-muted" }, box);
        lines(box, cell.outputs);
      }
    }
  };
  all.addEventListener("change", draw);
  draw();
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbtrack-diff" }, host);
  const draw = () => {
    root.replaceChildren();
    const data = model.get("data");
    const runs = data.runs || [];
    text("h4", "Params", {}, root);
    const bar = el("label", {}, root);
    const only = el("input", { type: "checkbox", class: "nbtrack-diff-only-changed" }, bar);
    bar.appendChild(document.createTextNode(" differences only"));
    const params = el("div", { class: "nbtrack-diff-params-box" }, root);
    const drawParams = () => { params.replaceChildren(); grid(params, runs, data.params || {}, "nbtrack-diff-params", only.checked); };
    only.addEventListener("change", drawParams);
    drawParams();
    text("h4", "Metrics (last value)", {}, root);
    grid(root, runs, data.metrics || {}, "nbtrack-diff-metrics", false);
    text("h4", "Environment", {}, root);
    const env = data.environment || {};
    if (!env.available) text("div", env.reason || "no environment recorded", { class: "nbtrack-muted" }, root);
    else grid(root, [{ label: env.a, id: env.a }, { label: env.b, id: env.b }], { rows: env.rows }, "nbtrack-diff-env", false);
    text("h4", "Notebook cells", {}, root);
    cellsView(root, data.cells || {});
  };
  model.on("change:data", draw);
  draw();
  return () => root.remove();
}

export default { render };
