// nbtrack run table: one page of rows from the kernel; sort, filter, paging and selection go back
// to it. Every cell is set with textContent (run names, tags and params are user text).

function render({ model, el: host }) {
  const root = el("div", { class: "nbtrack-table" }, host);
  const bar = el("div", { class: "nbtrack-table-bar" }, root);
  const filter = el("input", { type: "search", class: "nbtrack-table-filter", placeholder: "filter: resnet loss<0.3 status=finished tag=faces" }, bar);
  const count = text("span", "", { class: "nbtrack-table-count" }, bar);
  const compare = text("button", "Compare", { class: "nbtrack-table-compare", type: "button" }, bar);
  const clear = text("button", "Clear selection", { class: "nbtrack-table-clear", type: "button" }, bar);
  const refresh = text("button", "Refresh", { class: "nbtrack-table-refresh", type: "button" }, bar);
  const updated = text("span", "", { class: "nbtrack-table-updated" }, bar);
  const error = text("div", "", { class: "nbtrack-table-error" }, root);
  const scroll = el("div", { class: "nbtrack-table-scroll" }, root);
  const table = el("table", {}, scroll);
  const thead = el("thead", {}, table);
  const tbody = el("tbody", {}, table);
  const pager = el("div", { class: "nbtrack-table-bar nbtrack-table-pager" }, root);
  const first = text("button", "«", { type: "button", class: "nbtrack-page-first" }, pager);
  const prev = text("button", "‹ prev", { type: "button", class: "nbtrack-page-prev" }, pager);
  const where = text("span", "", { class: "nbtrack-page-where" }, pager);
  const next = text("button", "next ›", { type: "button", class: "nbtrack-page-next" }, pager);
  const last = text("button", "»", { type: "button", class: "nbtrack-page-last" }, pager);
  const size = el("select", { class: "nbtrack-page-size" }, pager);
  for (const n of [25, 50, 100, 200]) text("option", `${n} / page`, { value: n }, size);

  const save = (changes) => {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes();
  };
  const selected = () => new Set(model.get("selected"));

  const drawHead = () => {
    thead.replaceChildren();
    const tr = el("tr", {}, thead);
    const all = el("th", { class: "nbtrack-select-all" }, tr);
    const box = el("input", { type: "checkbox", title: "select this page" }, all);
    const ids = model.get("rows").map((r) => r.id);
    const sel = selected();
    box.checked = ids.length > 0 && ids.every((id) => sel.has(id));
    box.addEventListener("change", () => {
      const now = selected();
      for (const id of ids) (box.checked ? now.add(id) : now.delete(id));
      save({ selected: [...now] });
    });
    const sort = model.get("sort"), desc = model.get("desc");
    for (const col of model.get("columns")) {
      const th = text("th", col.label + (col.id === sort ? (desc ? " ▼" : " ▲") : ""), { "data-column": col.id, title: col.id }, tr);
      if (col.group) th.classList.add(`nbtrack-col-${col.group}`);
      th.addEventListener("click", () => {
        if (col.id === model.get("sort")) save({ desc: !model.get("desc"), offset: 0 });
        else save({ sort: col.id, desc: false, offset: 0 });
      });
    }
  };

  const drawBody = () => {
    tbody.replaceChildren();
    const columns = model.get("columns");
    const sel = selected();
    for (const row of model.get("rows")) {
      const tr = el("tr", { "data-run": row.id }, tbody);
      if (sel.has(row.id)) tr.classList.add("nbtrack-selected");
      const cell = el("td", {}, tr);
      const box = el("input", { type: "checkbox", class: "nbtrack-row-select" }, cell);
      box.checked = sel.has(row.id);
      box.addEventListener("change", () => {
        const now = selected();
        box.checked ? now.add(row.id) : now.delete(row.id);
        save({ selected: [...now] });
      });
      row.cells.forEach((value, i) => {
        const col = columns[i] || {};
        const td = el("td", { "data-column": col.id || "" }, tr);
        if (col.id === "status") {
          text("span", value, { class: `nbtrack-status nbtrack-status-${value}` }, td);
        } else {
          td.textContent = value;
          td.title = value;
        }
        if (col.numeric) td.classList.add("nbtrack-num");
      });
    }
  };

  const drawBar = () => {
    const total = model.get("total"), all = model.get("run_count");
    const offset = model.get("offset"), limit = model.get("limit");
    const nsel = model.get("selected").length;
    count.textContent = total === all ? `${all.toLocaleString()} runs` : `${total.toLocaleString()} of ${all.toLocaleString()} runs`;
    compare.textContent = `Compare (${nsel})`;
    compare.disabled = nsel < 2;
    clear.disabled = nsel === 0;
    updated.textContent = model.get("updated") ? `updated ${model.get("updated")}` : "";
    error.textContent = model.get("error");
    where.textContent = total ? `${(offset + 1).toLocaleString()}–${Math.min(offset + limit, total).toLocaleString()} of ${total.toLocaleString()}` : "no runs";
    first.disabled = prev.disabled = offset <= 0;
    next.disabled = last.disabled = offset + limit >= total;
    if (![...size.options].some((o) => o.value === String(limit))) text("option", `${limit} / page`, { value: limit }, size);
    size.value = String(limit);
    if (document.activeElement !== filter) filter.value = model.get("filter_text");
    root.dataset.total = String(total);
  };

  const redraw = () => { drawHead(); drawBody(); drawBar(); };
  let timer = null;
  const sendFilter = () => { clearTimeout(timer); if (filter.value !== model.get("filter_text")) save({ filter_text: filter.value }); };
  filter.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(sendFilter, 300); });
  filter.addEventListener("keydown", (e) => { if (e.key === "Enter") sendFilter(); });
  compare.addEventListener("click", () => model.send({ type: "compare" }));
  clear.addEventListener("click", () => save({ selected: [] }));
  refresh.addEventListener("click", () => model.send({ type: "refresh" }));
  const go = (offset) => save({ offset: Math.max(0, offset) });
  first.addEventListener("click", () => go(0));
  prev.addEventListener("click", () => go(model.get("offset") - model.get("limit")));
  next.addEventListener("click", () => go(model.get("offset") + model.get("limit")));
  last.addEventListener("click", () => {
    const limit = model.get("limit");
    go(Math.floor(Math.max(model.get("total") - 1, 0) / limit) * limit);
  });
  size.addEventListener("change", () => save({ limit: Number(size.value), offset: 0 }));
  for (const name of ["columns", "rows", "total", "run_count", "offset", "limit", "sort", "desc", "filter_text", "error", "selected", "updated"]) {
    model.on(`change:${name}`, redraw);
  }
  redraw();
  return () => root.remove();
}

export default { render };
