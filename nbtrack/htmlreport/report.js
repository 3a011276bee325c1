// nbtrack shared report: each run's section and, for several runs, their comparison, drawn from
// the JSON in #nbtrack-data with the widgets' own code (charts.js on uPlot for the curves, the
// compare and confusion views as NBTRACK_VIEWS). User text goes in as text only (textContent);
// notebook snapshots are nbconvert's pages in sandboxed frames where no script runs.

const REPORT = JSON.parse(document.getElementById("nbtrack-data").textContent);
const SNAPSHOTS = JSON.parse(document.getElementById("nbtrack-snapshots").textContent);

// What the widget views read from an anywidget model, over plain values (no kernel behind it).
function staticModel(values) {
  const handlers = new Map();
  return {
    get: (key) => values[key],
    set: (key, value) => { values[key] = value; for (const f of handlers.get(`change:${key}`) || []) f(); },
    on: (event, f) => { if (!handlers.has(event)) handlers.set(event, []); handlers.get(event).push(f); },
    save_changes: () => {},
    send: () => {},
  };
}

const shown = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v));
const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+/, "").replace(/\+00:00$/, " UTC") : "–");

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function part(parent, title, cls) {
  const box = el("section", { class: `rp-part ${cls}` }, parent);
  text("h3", title, {}, box);
  return box;
}

function none(parent, message) {
  text("p", message, { class: "nbw-muted" }, parent);
}

// rows: arrays of cells, each a text or {text, cls, title}
function table(parent, headers, rows, cls) {
  const t = el("table", { class: `rp-table ${cls}` }, parent);
  const head = el("tr", {}, el("thead", {}, t));
  for (const h of headers) text("th", h, {}, head);
  const body = el("tbody", {}, t);
  for (const row of rows) {
    const tr = el("tr", {}, body);
    for (const cell of row) {
      const c = typeof cell === "object" && cell !== null ? cell : { text: cell };
      text("td", c.text, { class: c.cls || "", title: c.title || "" }, tr);
    }
  }
  return t;
}

function facts(parent, pairs) {
  const dl = el("dl", { class: "rp-facts" }, parent);
  for (const [term, value, cls] of pairs) {
    if (value === null || value === undefined || value === "") continue;
    text("dt", term, {}, dl);
    text("dd", value, { class: cls || "" }, dl);
  }
  return dl;
}

// The run's name and status, then its facts, tags and notes beside the parameters: returns
// that row, for paramsPart.
function header(parent, run) {
  const title = el("h2", { class: "rp-run-title" }, parent);
  text("span", run.name || "(unnamed run)", { class: "rp-run-name" }, title);
  text("span", run.status, { class: `nbw-status nbw-status-${run.status}` }, title);
  const overview = el("div", { class: "rp-overview" }, parent);
  const box = el("div", { class: "rp-about" }, overview);
  facts(box, [
    ["id", run.id, "nbw-mono"], ["user", run.user], ["host", run.host], ["started", when(run.start)],
    ["duration", duration(run.duration)], ["notebook", run.notebook, "nbw-mono"], ["replay of", run.replay_of, "nbw-mono"],
    ["error", run.error, "nbw-error"],
  ]);
  if (run.tags.length) {
    const tags = el("div", { class: "rp-tags" }, box);
    for (const tag of run.tags) text("span", tag, { class: "rp-tag" }, tags);
  }
  for (const note of run.notes) {
    const n = el("blockquote", { class: "rp-note" }, box);
    text("div", note.text, {}, n);
    text("div", when(note.time), { class: "nbw-muted" }, n);
  }
  return overview;
}

function paramsPart(box, run) {
  const p = part(box, "Parameters", "rp-params");
  p.querySelector("h3").classList.add("rp-first");
  if (!run.params.length) return none(p, "no parameters");
  table(p, ["name", "value"], run.params.map((r) => [r.key, { text: shown(r.value), cls: "nbw-mono" }]), "rp-kv");
}

// One chart per metric group (loss with val_loss...), a tile for metrics logged once: the
// same charts as the live widget.
function metricsPart(box, run, views) {
  const p = part(box, "Metrics", "rp-metrics");
  if (!run.metrics.length) return none(p, "no metrics logged");
  table(p, ["metric", "last", "min", "max", "last step", "points"], run.metrics.map((m) => [
    m.key, ...[m.last, m.min, m.max, m.step].map((v) => ({ text: formatNumber(v), cls: "nbw-num" })),
    { text: m.count.toLocaleString("en-US"), cls: "nbw-num" },
  ]), "rp-metric-table");
  const tiles = el("div", { class: "nbw-tiles" }, p);
  const grid = el("div", { class: "nbw-chart-grid" }, p);
  for (const group of run.groups) {
    const keys = group.keys.filter((k) => run.curves[k]);
    if (!keys.length) continue;
    if (keys.every((k) => run.curves[k].count <= 1)) {
      views.push(valueTile(tiles, { title: group.title, rows: keys.map((k, i) => ({
        key: k, label: k, value: run.curves[k].value[0], color: i,
        detail: run.curves[k].step.length ? `step ${formatNumber(run.curves[k].step[0])}` : "" })) }));
      continue;
    }
    const long = keys.filter((k) => run.curves[k].reduced);
    views.push(lineChart(grid, {
      title: group.title, xLabel: "step", yLabel: group.title, height: 220,
      series: keys.map((k, i) => ({ key: k, label: k, x: run.curves[k].step, y: run.curves[k].value, color: i })),
      note: long.length ? `long curves drawn as the min/max of buckets (${long.map((k) => `${k}: ${run.curves[k].count.toLocaleString("en-US")} points`).join(", ")})` : "",
    }));
  }
  tiles.hidden = !tiles.children.length;
}

function confusionPart(box, run) {
  if (!run.confusion.length) return;
  const p = part(box, "Confusion matrices", "rp-confusion");
  NBTRACK_VIEWS.confusion.render({
    model: staticModel({ title: run.name || run.id, matrices: run.confusion, index: run.confusion.length - 1 }),
    el: p,
  });
}

function dataPart(box, run) {
  const models = run.models || [];
  if (!run.data.length && !run.artifacts.length && !models.length) return;
  const p = part(box, "Data and artifacts", "rp-data");
  if (run.data.length) {
    table(p, ["data", "version", "sha256", "files", "size", "tracked"], run.data.map((d) => [
      { text: d.path, cls: "nbw-mono" }, { text: d.version || "fingerprint only", cls: d.version ? "nbw-mono" : "" },
      { text: (d.sha256 || "").slice(0, 16), cls: "nbw-mono", title: d.sha256 || "" },
      { text: shown(d.files), cls: "nbw-num" }, { text: bytes(d.bytes), cls: "nbw-num" }, when(d.time),
    ]), "rp-data-table");
  }
  if (run.artifacts.length) {
    table(p, ["artifact", "kind", "size", "sha256"], run.artifacts.map((a) => [
      { text: a.name, cls: "nbw-mono" }, a.kind || "", { text: bytes(a.size), cls: "nbw-num" },
      { text: (a.sha256 || "").slice(0, 16), cls: "nbw-mono", title: a.sha256 || "" },
    ]), "rp-artifact-table");
  }
  if (models.length) {
    table(p, ["model version registered from this run"], models.map((ref) => [{ text: ref, cls: "nbw-mono" }]),
      "rp-model-table");
  }
}

function environmentPart(box, run) {
  const p = part(box, "Environment", "rp-environment");
  const env = run.environment;
  if (!env) return none(p, "no environment recorded");
  const git = env.git;
  facts(p, [
    ["Python", [env.python, env.implementation].filter(Boolean).join(" ")], ["platform", env.platform],
    ["CPUs", shown(env.cpu_count)], ["memory", env.memory_bytes ? bytes(env.memory_bytes) : ""],
    ["GPUs", env.gpus.join(", ")], ["kernel", env.kernel], ["conda", env.conda],
    ["git commit", git ? shown(git.commit) : "not a git repository", "nbw-mono rp-git-commit"],
    ["git branch", git ? git.branch : ""],
    ["working tree", git ? (git.dirty ? "dirty: uncommitted changes" : "clean") : "", git && git.dirty ? "rp-dirty" : "rp-clean"],
  ]);
  const names = Object.keys(env.packages);
  if (names.length) {
    table(p, ["key package", "version"], names.map((n) => [n, { text: env.packages[n], cls: "nbw-mono" }]), "rp-packages");
  }
  text("p", `${env.package_count} packages recorded in all`, { class: "nbw-muted" }, p);
}

function warningsPart(box, run) {
  const p = part(box, "Reproducibility warnings", "rp-warnings");
  if (!run.warnings.length) return none(p, "none: the cells ran top to bottom, as saved");
  const list = el("ul", {}, p);
  for (const w of run.warnings) {
    const li = el("li", { class: "rp-warning" }, list);
    text("strong", w.kind, {}, li);
    li.appendChild(document.createTextNode(`: ${w.message}`));
  }
}

function replaysPart(box, run) {
  if (!run.replays.length) return;
  const p = part(box, "Replays", "rp-replays");
  for (const r of run.replays) {
    const item = el("div", { class: "rp-replay" }, p);
    const head = el("div", { class: "rp-replay-head" }, item);
    text("span", r.verdict, { class: `rp-verdict rp-verdict-${(r.verdict || "").split(" ")[0]}` }, head);
    text("span", ` ${r.role}: replay ${r.replay || ""}${r.name ? ` (${r.name})` : ""}`, { class: "nbw-muted" }, head);
    if (r.error) text("pre", r.error, { class: "nbw-error rp-pre" }, item);
    if (r.parameters && Object.keys(r.parameters).length) {
      text("div", `parameters: ${Object.entries(r.parameters).map(([k, v]) => `${k}=${shown(v)}`).join(", ")}`, {}, item);
    }
    if (r.cells) text("div", `${r.identical} cells identical, ${r.cells.length} not`, { class: "nbw-muted" }, item);
    for (const c of r.cells || []) {
      const cell = el("div", { class: "rp-replay-cell" }, item);
      text("div", `cell ${c.index + 1}${c.execution_count !== null && c.execution_count !== undefined ? ` [In ${c.execution_count}]` : ""} ${c.status}: ${c.source}`, {}, cell);
      for (const d of c.differences) text("pre", d, { class: "rp-pre" }, cell);
    }
    if (r.metrics && r.metrics.length) {
      table(item, ["metric", "original", "replay", ""], r.metrics.map((m) => [
        m.key, { text: formatNumber(m.original), cls: "nbw-num" }, { text: formatNumber(m.replay), cls: "nbw-num" }, m.status,
      ]), "rp-replay-metrics");
    }
    if (r.environment_count) {
      text("div", `environment: ${r.environment_count} differences (${r.environment.slice(0, 8).map((e) => `${e.package} ${shown(e.original)} → ${shown(e.replay)}`).join(", ")}${r.environment_count > 8 ? ", …" : ""})`, {}, item);
    }
    for (const d of r.data || []) text("div", `data ${d.path}: ${d.status}${d.note ? `; ${d.note}` : ""}`, {}, item);
  }
}

// A snapshot page made inert by the browser's own parser (DOMParser runs nothing and loads
// nothing): no scripts, frames, plugins or event handlers, no resource from outside the file
// (sources, styles and stylesheets that would fetch one).
// The frame is sandboxed as well; this keeps it from even trying (each try is a console error).
const ACTIVE = "script, iframe, frame, object, embed, applet, portal, link, base, meta[http-equiv]";
const FETCHING = new Set(["src", "srcset", "poster", "background", "data", "action", "formaction", "href", "xlink:href"]);
const EXTERNAL_CSS = /@import|url\(\s*['"]?\s*(?!data:|#)/i; // a stylesheet or style fetching from outside

function inertPage(body) {
  const doc = new DOMParser().parseFromString(`${SNAPSHOTS.head}${body}</body></html>`, "text/html");
  for (const node of doc.querySelectorAll(ACTIVE)) node.remove();
  for (const node of doc.querySelectorAll("style")) if (EXTERNAL_CSS.test(node.textContent)) node.remove();
  for (const node of doc.querySelectorAll("*")) {
    for (const { name, value } of [...node.attributes]) {
      const n = name.toLowerCase();
      const link = node.localName === "a" && n === "href"; // following a link is the reader's choice
      const fetching = FETCHING.has(n) && !link && !/^\s*(data:|#)/i.test(value);
      if (n.startsWith("on") || fetching || (n === "style" && EXTERNAL_CSS.test(value))) node.removeAttribute(name);
    }
  }
  return `<!DOCTYPE html>\n${doc.documentElement.outerHTML}`;
}

function snapshotPart(box, run, open) {
  const p = part(box, "Notebook snapshot", "rp-snapshot");
  if (run.snapshot_problem) return text("p", run.snapshot_problem, { class: "nbw-error rp-snapshot-problem" }, p);
  if (run.snapshot === null || run.snapshot === undefined) return none(p, "no notebook snapshot recorded");
  const details = el("details", { class: "rp-snapshot-box" }, p);
  details.open = open;
  text("summary", `the notebook as it ran, with its outputs (snapshot ${run.snapshot_count} of ${run.snapshot_count})`, {}, details);
  const frame = el("iframe", { sandbox: "allow-same-origin", class: "rp-snapshot-frame", title: `notebook of ${run.name || run.id}` }, details);
  const fit = () => {
    try {
      const main = frame.contentDocument && frame.contentDocument.querySelector("main");
      if (main && details.open) frame.style.height = `${Math.ceil(main.getBoundingClientRect().bottom) + 16}px`;
    } catch (e) { /* not readable: the frame keeps its own scroll bar */ }
  };
  frame.addEventListener("load", () => { frame.dataset.loaded = "true"; fit(); });
  details.addEventListener("toggle", fit);
  frame.srcdoc = inertPage(SNAPSHOTS.bodies[run.snapshot]);
}

function runSection(parent, run, index, views) {
  const box = el("article", { class: "rp-run", id: `run-${index}`, "data-run": run.id }, parent);
  paramsPart(header(box, run), run);
  metricsPart(box, run, views);
  confusionPart(box, run);
  dataPart(box, run);
  environmentPart(box, run);
  warningsPart(box, run);
  replaysPart(box, run);
  snapshotPart(box, run, REPORT.runs.length === 1);
}

function main() {
  const root = document.getElementById("nbtrack-report");
  const top = el("header", { class: "rp-top" }, root);
  text("h1", REPORT.title, {}, top);
  text("div", `nbtrack report, written ${when(REPORT.generated)}`, { class: "nbw-muted" }, top);
  if (REPORT.runs.length > 1) {
    const nav = el("nav", { class: "rp-nav" }, top);
    text("a", "Comparison", { href: "#comparison" }, nav);
    REPORT.runs.forEach((run, i) => text("a", `${run.name || "(unnamed)"} [${run.id.slice(0, 8)}]`, { href: `#run-${i}` }, nav));
  }
  const views = [];
  if (REPORT.comparison) {
    const box = el("section", { class: "rp-comparison", id: "comparison" }, root);
    text("h2", "Comparison", {}, box);
    NBTRACK_VIEWS.compare.render({ model: staticModel({ data: REPORT.comparison }), el: box });
  }
  REPORT.runs.forEach((run, i) => runSection(root, run, i, views));
  watchTheme(() => { for (const view of views) view.rebuild(); });
  root.dataset.ready = "true";
}

main();
