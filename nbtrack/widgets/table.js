// nbtrack run table: one page of rows from the kernel; sort, filter, paging, column choice and
// selection go back to it. Every cell is set with textContent (run names, tags and params are
// user text). Columns are grouped (run | params | metrics); the checkbox, name and id columns
// stay pinned on the left while the rest scrolls.

const GROUP_LABELS = { run: "run", params: "params", metrics: "metrics" };
const PINNED = new Set(["name", "id"]);

function columnMenu(parent, model, save) {
  const box = el("span", { class: "nbw-columns" }, parent);
  const button = text("button", "Columns ▾", { type: "button", class: "nbw-table-columns", "aria-haspopup": "true" }, box);
  const menu = el("div", { class: "nbw-columns-menu", role: "menu" }, box);
  menu.hidden = true;
  const draw = () => {
    menu.replaceChildren();
    const columns = model.get("columns");
    for (const group of ["run", "params", "metrics"]) {
      const members = columns.filter((c) => c.group === group);
      if (!members.length) continue;
      text("h5", GROUP_LABELS[group], {}, menu);
      for (const col of members) {
        const label = el("label", {}, menu);
        const box = el("input", { type: "checkbox", "data-column": col.id }, label);
        box.checked = col.shown;
        box.disabled = PINNED.has(col.id);
        label.appendChild(document.createTextNode(col.label));
        box.addEventListener("change", () => save({ choice: { ...model.get("choice"), [col.id]: box.checked } }));
      }
    }
    const reset = text("button", "Default columns", { type: "button", class: "nbw-columns-reset" }, menu);
    reset.addEventListener("click", () => save({ choice: {} }));
  };
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    menu.hidden = !menu.hidden;
    if (!menu.hidden) draw();
  });
  const close = (e) => { if (!box.contains(e.target)) menu.hidden = true; };
  document.addEventListener("click", close);
  return { redraw: () => { if (!menu.hidden) draw(); }, dispose: () => document.removeEventListener("click", close) };
}

function render({ model, el: host }) {
  const root = el("div", { class: "nbw-root nbw-table" }, host);
  const bar = el("div", { class: "nbw-bar" }, root);
  const filter = el("input", { type: "search", class: "nbw-table-filter", placeholder: "Filter: resnet loss<0.3 status=finished tag=faces", "aria-label": "filter runs" }, bar);
  const count = text("span", "", { class: "nbw-table-count nbw-muted" }, bar);
  const save = (changes) => {
    for (const [k, v] of Object.entries(changes)) model.set(k, v);
    model.save_changes();
  };
  const chooser = columnMenu(bar, model, save);
  const compare = text("button", "Compare", { class: "nbw-table-compare nbw-primary", type: "button" }, bar);
  const clear = text("button", "Clear selection", { class: "nbw-table-clear", type: "button" }, bar);
  el("span", { class: "nbw-spacer" }, bar);
  const updated = text("span", "", { class: "nbw-table-updated nbw-muted" }, bar);
  const refresh = text("button", "Refresh", { class: "nbw-table-refresh", type: "button" }, bar);
  const error = text("div", "", { class: "nbw-table-error nbw-error" }, root);
  const refreshError = text("div", "", { class: "nbw-table-refresh-error nbw-error" }, root);
  const scroll = el("div", { class: "nbw-table-scroll" }, root);
  const table = el("table", {}, scroll);
  const thead = el("thead", {}, table);
  const tbody = el("tbody", {}, table);
  const pager = el("div", { class: "nbw-bar nbw-table-pager" }, root);
  const first = text("button", "«", { type: "button", class: "nbw-page-first", title: "first page" }, pager);
  const prev = text("button", "‹ Prev", { type: "button", class: "nbw-page-prev" }, pager);
  const where = text("span", "", { class: "nbw-page-where nbw-num" }, pager);
  const next = text("button", "Next ›", { type: "button", class: "nbw-page-next" }, pager);
  const last = text("button", "»", { type: "button", class: "nbw-page-last", title: "last page" }, pager);
  const size = el("select", { class: "nbw-page-size", "aria-label": "rows per page" }, pager);
  for (const n of [25, 50, 100, 200]) text("option", `${n} per page`, { value: n }, size);

  const selected = () => new Set(model.get("selected"));
  const shownColumns = () => model.get("columns").filter((c) => c.shown);
  const cellClasses = (col, columns, i) => {
    const classes = [];
    if (PINNED.has(col.id)) classes.push("nbw-pinned");
    if (col.id === "name") classes.push("nbw-name");
    if (col.id === "id") classes.push("nbw-id", "nbw-pinned-last");
    if (col.numeric) classes.push("nbw-num");
    if (col.group !== "run" && (i === 0 || columns[i - 1].group !== col.group)) classes.push(`nbw-first-${col.group}`);
    return classes;
  };

  const drawHead = () => {
    thead.replaceChildren();
    const columns = shownColumns();
    const groups = el("tr", { class: "nbw-groups" }, thead);
    const spans = [];
    for (const col of columns) {
      const lastSpan = spans[spans.length - 1];
      if (lastSpan && lastSpan.group === col.group) lastSpan.n++;
      else spans.push({ group: col.group, n: 1 });
    }
    spans.forEach((span, i) => {
      text("th", GROUP_LABELS[span.group], { colspan: span.n + (i === 0 ? 1 : 0), class: `nbw-group-${span.group}` }, groups);
    });
    const tr = el("tr", { class: "nbw-columns-row" }, thead);
    const all = el("th", { class: "nbw-select-all nbw-pinned" }, tr);
    const box = el("input", { type: "checkbox", title: "select this page", "aria-label": "select this page" }, all);
    const ids = model.get("rows").map((r) => r.id);
    const sel = selected();
    box.checked = ids.length > 0 && ids.every((id) => sel.has(id));
    box.addEventListener("change", () => {
      const now = selected();
      for (const id of ids) (box.checked ? now.add(id) : now.delete(id));
      save({ selected: [...now] });
    });
    const sort = model.get("sort"), desc = model.get("desc");
    columns.forEach((col, i) => {
      const th = text("th", col.label + (col.id === sort ? (desc ? " ▼" : " ▲") : ""), { "data-column": col.id, title: `${col.id} (click to sort)` }, tr);
      th.classList.add("nbw-sortable", ...cellClasses(col, columns, i));
      th.addEventListener("click", () => {
        if (col.id === model.get("sort")) save({ desc: !model.get("desc"), offset: 0 });
        else save({ sort: col.id, desc: col.numeric ? false : col.id === "start", offset: 0 });
      });
    });
  };

  const drawBody = () => {
    tbody.replaceChildren();
    const columns = shownColumns();
    const sel = selected();
    for (const row of model.get("rows")) {
      const tr = el("tr", { "data-run": row.id }, tbody);
      if (sel.has(row.id)) tr.classList.add("nbw-selected");
      const cell = el("td", { class: "nbw-pinned" }, tr);
      const box = el("input", { type: "checkbox", class: "nbw-row-select", "aria-label": "select run" }, cell);
      box.checked = sel.has(row.id);
      box.addEventListener("change", () => {
        const now = selected();
        box.checked ? now.add(row.id) : now.delete(row.id);
        save({ selected: [...now] });
      });
      columns.forEach((col, i) => {
        const value = (row.cells || {})[col.id] ?? "";
        const td = el("td", { "data-column": col.id }, tr);
        td.classList.add(...cellClasses(col, columns, i));
        if (col.id === "status") {
          text("span", value, { class: `nbw-status nbw-status-${value}` }, td);
        } else {
          td.textContent = value;
          if (value) td.title = value;
        }
      });
    }
  };

  // the pinned columns stick at the offsets of the columns before them; the column row sticks
  // below the group row
  const pin = () => {
    const headRows = thead.querySelectorAll("tr");
    if (headRows.length < 2) return;
    const groupHeight = headRows[0].getBoundingClientRect().height;
    for (const th of headRows[1].children) th.style.top = `${groupHeight}px`;
    const pinnedHeads = [...headRows[1].children].filter((th) => th.classList.contains("nbw-pinned"));
    let left = 0;
    const lefts = pinnedHeads.map((th) => { const at = left; left += th.getBoundingClientRect().width; return at; });
    for (const tr of [headRows[1], ...tbody.children]) {
      [...tr.children].filter((c) => c.classList.contains("nbw-pinned")).forEach((c, i) => { c.style.left = `${lefts[i] ?? 0}px`; });
    }
  };

  const drawBar = () => {
    const total = model.get("total"), all = model.get("run_count");
    const offset = model.get("offset"), limit = model.get("limit");
    const nsel = model.get("selected").length;
    const runs = (n) => `${n.toLocaleString("en-US")} run${n === 1 ? "" : "s"}`;
    count.textContent = total === all ? runs(all) : `${total.toLocaleString("en-US")} of ${runs(all)}`;
    compare.textContent = `Compare (${nsel})`;
    compare.disabled = nsel < 2;
    compare.title = nsel < 2 ? "select two or more runs" : "compare the selected runs below";
    clear.disabled = nsel === 0;
    updated.textContent = model.get("updated") ? `updated ${model.get("updated")}` : "";
    error.textContent = model.get("error");
    error.hidden = !model.get("error");
    refreshError.textContent = model.get("refresh_error");
    refreshError.hidden = !model.get("refresh_error");
    where.textContent = total ? `${(offset + 1).toLocaleString("en-US")}–${Math.min(offset + limit, total).toLocaleString("en-US")} of ${total.toLocaleString("en-US")}` : "no runs";
    first.disabled = prev.disabled = offset <= 0;
    next.disabled = last.disabled = offset + limit >= total;
    if (![...size.options].some((o) => o.value === String(limit))) text("option", `${limit} per page`, { value: limit }, size);
    size.value = String(limit);
    if (document.activeElement !== filter) filter.value = model.get("filter_text");
    root.dataset.total = String(total);
  };

  let frame = 0;
  let queued = false;
  const draw = () => {
    queued = false;
    cancelAnimationFrame(frame);
    drawHead(); drawBody(); drawBar(); chooser.redraw();
    frame = requestAnimationFrame(pin);
  };
  const redraw = () => { // one draw for the several traits one kernel update changes
    if (!queued) { queued = true; queueMicrotask(draw); }
  };
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
  for (const name of ["columns", "rows", "total", "run_count", "offset", "limit", "sort", "desc", "filter_text", "error", "refresh_error", "selected", "updated"]) {
    model.on(`change:${name}`, redraw);
  }
  const resize = new ResizeObserver(() => { cancelAnimationFrame(frame); frame = requestAnimationFrame(pin); });
  resize.observe(table);
  draw();
  return () => { resize.disconnect(); chooser.dispose(); cancelAnimationFrame(frame); root.remove(); };
}

export default { render };
