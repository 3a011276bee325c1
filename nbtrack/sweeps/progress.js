
// nbtrack sweep progress: a bar, the counts and one row per trial. Every user text (names,
// parameter values, errors, run ids) goes in through textContent only (dom.js `text`).

const fmt = (v) => (v === null || v === undefined ? "" : Number(v).toPrecision(6).replace(/\.?0+(e|$)/, "$1"));

function render({ model, el: host }) {
  const root = el("div", { class: "nbtrack-sweep" }, host);
  const head = el("div", { class: "nbtrack-sweep-head" }, root);
  const title = text("strong", "", { class: "nbtrack-sweep-title" }, head);
  const status = text("span", "", { class: "nbtrack-status" }, head);
  const track = el("div", { class: "nbtrack-sweep-track", role: "progressbar", "aria-valuemin": 0 }, root);
  const fill = el("div", { class: "nbtrack-sweep-fill" }, track);
  const counts = text("div", "", { class: "nbtrack-sweep-counts" }, root);
  const best = text("div", "", { class: "nbtrack-sweep-best" }, root);
  const table = el("table", { class: "nbtrack-sweep-trials" }, root);
  const headRow = el("tr", {}, el("thead", {}, table));
  const body = el("tbody", {}, table);

  const draw = () => {
    const total = model.get("total"), done = model.get("done");
    title.textContent = model.get("title");
    status.textContent = model.get("status");
    status.className = `nbtrack-status nbtrack-status-${model.get("status")}`;
    track.setAttribute("aria-valuemax", String(total));
    track.setAttribute("aria-valuenow", String(done));
    fill.style.width = `${total ? Math.min(100, (100 * done) / total) : 0}%`;
    const c = model.get("counts");
    counts.textContent = `${done} of ${total} done` + Object.entries(c).map(([k, n]) => ` · ${n} ${k}`).join("");
    best.textContent = model.get("best");
    const objective = model.get("objective");
    headRow.replaceChildren();
    for (const h of ["trial", "status", "parameters", objective || "", "run", "attempts"]) text("th", h, {}, headRow);
    body.replaceChildren();
    for (const row of model.get("rows")) {
      const tr = el("tr", { "data-trial": row.trial, "data-status": row.status }, body);
      text("td", String(row.trial), { class: "nbtrack-num" }, tr);
      const cell = el("td", {}, tr);
      text("span", row.status, { class: `nbtrack-status nbtrack-status-${row.status}` }, cell);
      text("td", row.params, { title: row.params }, tr);
      text("td", objective ? fmt(row.value) : "", { class: "nbtrack-num" }, tr);
      text("td", row.run, { class: "nbtrack-sweep-run", title: row.error || row.run }, tr);
      text("td", String(row.attempts), { class: "nbtrack-num" }, tr);
    }
  };
  for (const name of ["title", "status", "total", "done", "counts", "objective", "best", "rows"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  return () => root.remove();
}

export default { render };
