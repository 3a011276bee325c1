"""The filter language (``core.filters``) and the sort order (``core.paging``) as SQL over the index.

`compile_where` and `compile_order` turn a parsed filter and a sort column into SQL over the
index's tables (``runs`` as ``r``, and ``params``, ``metrics``, ``tags``; see
``nbtrack.store.columns``) that selects and orders exactly the runs the in-memory predicate and
``page_rows`` would (a property-based test holds them to it):

* A field resolves per run as ``filters.resolve`` does: a base column (``name``, ``status``,
  ``start``, ...), else the first of these the run has: ``params.X`` / ``metrics.K.F`` spelled
  out, the param of that name, the metric's last value, ``metrics.<field>``. Each candidate is a
  subquery SQLite evaluates once; a run matches the first candidate it has.
* ``status`` and ``duration`` are computed at query time (a running run whose process died, or
  whose heartbeats stopped, reads as crashed; a running run's duration grows), from ``:now`` and
  the ids of this machine's runs whose process is gone (``:dead``, a JSON array).
* Rare reads of a value as text that the index does not keep (a metric or a duration compared
  with a word, the ``notes``/``params``/``metrics`` columns as a whole) call small Python
  functions registered on the connection (`register_functions`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from nbtrack.core.filters import Comparison, Filter, number
from nbtrack.store.columns import FIELDS_COLUMNS, FIGURE_COLUMNS, FIGURES, TEXT_FIELDS, summary_fields

STATUS = ("(CASE WHEN r.status != 'running' THEN r.status"
          " WHEN r.id IN (SELECT value FROM json_each(:dead)) THEN 'crashed'"
          " WHEN :now - r.last_seen > 3 * r.heartbeat + 5 THEN 'crashed' ELSE 'running' END)")
DURATION = (f"max(COALESCE(r.ended, CASE WHEN {STATUS} = 'running' THEN :now ELSE r.last_seen END)"
            " - r.started, 0.0)")


@dataclass(frozen=True)
class Slot:
    """SQL expressions for one value as filters and sorts read it."""

    null: str  # the value is None
    nan: str  # the value is a float NaN
    fnum: str  # ``filters.number(value)`` (NULL: not a number)
    text: str  # ``str(value)``
    lower: str  # ``str(value).lower()``
    kind: str  # sort: 0 a number, 1 text, NULL missing
    snum: str  # sort: the number
    stext: str  # sort: the text


def _text_slot(column: str) -> Slot:
    value = f"r.{column}"
    lower = f"COALESCE(r.{column}_lower, {value})"
    return Slot(f"{value} IS NULL", "0", f"r.{column}_num", value, lower,
                f"(CASE WHEN {value} IS NULL THEN NULL ELSE 1 END)", "NULL", lower)


def _whole_slot(text: str, stext: str) -> Slot:
    """A list or dict column read as its Python text (rare: computed by registered functions)."""
    return Slot("0", "0", "NULL", text, f"nb_lower({text})", "1", "NULL", stext)


BASE: dict[str, Slot] = {name: _text_slot(name) for name in TEXT_FIELDS}
BASE.update({
    "status": Slot("0", "0", "NULL", STATUS, f"lower({STATUS})", "1", "NULL", f"lower({STATUS})"),
    "start": Slot("0", "0", "NULL", "r.start", "lower(r.start)", "1", "NULL", "r.start"),
    "duration": Slot("0", "0", DURATION, f"nb_str({DURATION})", f"nb_str({DURATION})", "0", DURATION, "NULL"),
    "tags": _whole_slot("nb_repr(r.tags)", "r.tags_sort"),
    "notes": _whole_slot("nb_repr(COALESCE(r.note_texts, '[]'))", "nb_joined(COALESCE(r.note_texts, '[]'))"),
    "params": _whole_slot("nb_repr(r.params)", "nb_lower(nb_repr(r.params))"),
    "metrics": _whole_slot("nb_metrics(r.metrics)", "nb_lower(nb_metrics(r.metrics))"),
})


def _param_slot(a: str) -> Slot:
    lower = f"COALESCE({a}.lower, {a}.text)"
    return Slot(f"{a}.kind = 0", f"{a}.kind = 1", f"{a}.fnum", f"{a}.text", lower,
                f"(CASE {a}.kind WHEN 2 THEN 0 WHEN 3 THEN 1 END)", f"{a}.num",
                f"(CASE {a}.kind WHEN 3 THEN COALESCE({a}.stext, {lower}) END)")


def _metric_slot(a: str, figure: str) -> Slot:
    value = f"{a}.{FIGURE_COLUMNS[figure]}"
    return Slot("0", f"{value} IS NULL", value, f"nb_str({value})", f"nb_str({value})",
                f"(CASE WHEN {value} IS NULL THEN NULL ELSE 0 END)", value, "NULL")


Candidate = tuple[str, str, str]  # table ("params"/"metrics"), key, figure ("" for params)


def candidates(field: str) -> list[Candidate]:
    """Where `field` may live for a run that has no base column of that name, in the order
    ``filters.resolve`` looks."""
    found: list[Candidate] = []
    if field.startswith("params."):
        found.append(("params", field[len("params."):], ""))
    if field.startswith("metrics."):
        head, dot, figure = field[len("metrics."):].rpartition(".")
        if dot and figure in FIGURES:
            found.append(("metrics", head, figure))
    found += [("params", field, ""), ("metrics", field, "last")]
    head, dot, figure = field.rpartition(".")
    if dot and figure in FIGURES:
        found.append(("metrics", head, figure))
    return list(dict.fromkeys(found))


class Sql:
    """SQL text being built, with its named parameters; with `db`, the params and metric keys no
    run has are left out of the candidates (a field then compiles to less SQL, which SQLite can
    drive from one index instead of building a list per candidate)."""

    def __init__(self, db: sqlite3.Connection | None = None) -> None:
        self.params: dict[str, Any] = {}
        self.db = db
        self._present: dict[tuple[str, str], bool] = {}

    def candidates(self, field: str) -> list[Candidate]:
        """`candidates(field)`, but those no run has."""
        return [c for c in candidates(field) if self._has(c[0], c[1])]

    def _has(self, table: str, key: str) -> bool:
        if self.db is None:
            return True
        if (table, key) not in self._present:
            found = self.db.execute(f"SELECT 1 FROM {table} WHERE key = ? LIMIT 1", (key,)).fetchone()
            self._present[table, key] = found is not None
        return self._present[table, key]

    def bind(self, value: Any) -> str:
        name = f"p{len(self.params)}"
        self.params[name] = value
        return f":{name}"


def _slot_of(table: str, alias: str, figure: str) -> Slot:
    return _param_slot(alias) if table == "params" else _metric_slot(alias, figure)


def _compare(slot: Slot, op: str, expected: str, sql: Sql) -> str:
    """SQL for ``filters.compare(value, op, expected)`` (and ``~``) on one slot."""
    if op == "~":
        return f"(NOT ({slot.null}) AND instr({slot.lower}, {sql.bind(expected.lower())}) > 0)"
    missing = "1" if op == "!=" else "0"
    b = number(expected)
    branches = [f"WHEN {slot.null} THEN {missing}"]
    if b is not None:
        branches.append(f"WHEN {slot.fnum} IS NOT NULL THEN {slot.fnum} {_sql_op(op)} {sql.bind(b)}")
    branches.append(f"WHEN {slot.nan} THEN {missing}")
    if op in ("=", "==", "!="):
        text = f"{slot.lower} {_sql_op(op)} {sql.bind(expected.lower())}"
    else:
        text = f"{slot.text} {op} {sql.bind(expected)}"
    return f"(CASE {' '.join(branches)} ELSE {text} END)"


def _sql_op(op: str) -> str:
    return {"==": "=", "=": "="}.get(op, op)


def _comparison(c: Comparison, sql: Sql) -> str:
    if c.field in ("tag", "tags"):
        value = sql.bind(c.value.lower())
        if c.op == "~":
            return f"r.id IN (SELECT run FROM tags WHERE instr(tag, {value}) > 0)"
        found = f"r.id IN (SELECT run FROM tags WHERE tag = {value})"
        return f"NOT ({found})" if c.op == "!=" else found
    if c.field in BASE:
        return _compare(BASE[c.field], c.op, c.value, sql)
    terms: list[str] = []
    absent: list[str] = []
    for table, key, figure in sql.candidates(c.field):
        alias = "p" if table == "params" else "m"
        # correlated: one primary key probe per run that the other terms (a tag's list) leave
        has = f"EXISTS (SELECT 1 FROM {table} WHERE key = {sql.bind(key)} AND run = r.id)"
        match = (f"EXISTS (SELECT 1 FROM {table} {alias} WHERE {alias}.key = {sql.bind(key)} AND {alias}.run = r.id"
                 f" AND {_compare(_slot_of(table, alias, figure), c.op, c.value, sql)})")
        terms.append(" AND ".join([*(f"NOT {a}" for a in absent), match]))
        absent.append(has)
    if c.op == "!=":  # a run that has none of them reads None, which only != matches
        terms.append(" AND ".join(f"NOT {a}" for a in absent) or "1")
    return "(" + " OR ".join(f"({t})" for t in terms) + ")" if terms else "0"


def compile_where(spec: Filter | None, sql: Sql) -> str:
    """A WHERE condition over ``runs r`` equal to ``spec.matches`` on each run's row."""
    if spec is None:
        return "1"
    terms = [_comparison(c, sql) for c in spec.comparisons]
    terms += [f"instr(r.words, {sql.bind(word)}) > 0" for word in spec.words]
    return " AND ".join(terms) or "1"


def compile_order(sort: str | None, desc: bool, sql: Sql) -> tuple[str, str]:
    """(joins, ORDER BY terms) ordering runs as ``core.paging.sort_rows`` does: by `sort`, missing
    values last, ties (and missing values) in id order."""
    direction = " DESC" if desc else ""
    if not sort:
        return "", f"r.id{direction}"
    if sort in ("start", "id"):  # never missing, always text: the indexed columns themselves
        return "", f"r.{sort}{direction}, r.id"
    if sort in BASE:
        slot, joins = BASE[sort], ""
    else:
        found = sql.candidates(sort)
        if not found:  # no run has it: every value missing, in id order
            return "", "r.id"
        joins = " ".join(f"LEFT JOIN {table} s{i} ON s{i}.key = {sql.bind(key)} AND s{i}.run = r.id"
                         for i, (table, key, _figure) in enumerate(found))
        slots = [(f"s{i}.run IS NOT NULL", _slot_of(table, f"s{i}", figure))
                 for i, (table, _key, figure) in enumerate(found)]

        def first(part: Callable[[Slot], str]) -> str:
            return "(CASE " + " ".join(f"WHEN {has} THEN {part(s)}" for has, s in slots) + " END)"

        slot = Slot("", "", "", "", "", first(lambda s: s.kind), first(lambda s: s.snum), first(lambda s: s.stext))
    constant = slot.kind in ("0", "1")  # never missing, one kind: only the value orders
    order = [] if constant else [f"({slot.kind}) IS NULL", f"{slot.kind}{direction}"]
    order += [f"{part}{direction}" for part in (slot.snum, slot.stext) if part != "NULL"]
    return joins, ", ".join([*order, "r.id"])


FIELDS = ", ".join(f"r.{c}" for c in FIELDS_COLUMNS)
_TABLE = {"id": "r.id", "name": "r.name", "status": STATUS, "user": "r.user", "host": "r.host", "start": "r.started",
          "duration": DURATION, "notebook": "r.notebook", "replay_of": "r.replay_of", "parent": "r.parent",
          "sweep": "r.sweep"}
TABLE_COLUMNS = (*_TABLE, "json")
FEW = 1000  # runs whose metric rows `table` looks up one by one rather than scanning


def select(
    db: sqlite3.Connection, moment: dict[str, Any], spec: Filter | None, sort: str | None, desc: bool,
    offset: int, limit: int | None, notebooks: Collection[str] | None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of summary fields and the number of runs matching (see ``Index.select``);
    `moment` binds ``:now`` and ``:dead``."""
    sql = Sql(db)
    where = compile_where(spec, sql)
    if notebooks is not None:
        where += f" AND r.notebook IN (SELECT value FROM json_each({sql.bind(json.dumps(list(notebooks)))}))"
    joins, order = compile_order(sort, desc, sql)
    sql.params.update(moment)
    page = f" LIMIT {-1 if limit is None else int(limit)} OFFSET {int(offset)}"
    if limit is None:
        found = db.execute(f"SELECT r.id, {FIELDS} FROM runs r {joins} WHERE {where} ORDER BY {order}{page}",
                           sql.params).fetchall()
    else:  # a page: sort the ids alone, then read the page's rows (not every match's wide row)
        ids = [i for (i,) in db.execute(f"SELECT r.id FROM runs r {joins} WHERE {where} ORDER BY {order}{page}",
                                        sql.params)]
        rows = {row[0]: row for row in db.execute(
            f"SELECT r.id, {FIELDS} FROM runs r WHERE r.id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))}
        found = [rows[i] for i in ids]
    if limit is None and offset == 0:
        total = len(found)
    else:
        (total,) = db.execute(f"SELECT count(*) FROM runs r WHERE {where}", sql.params).fetchone()
    return [summary_fields(row[0], row[1:]) for row in found], total


def table(
    db: sqlite3.Connection, moment: dict[str, Any], spec: Filter | None, final: bool | None = None
) -> dict[str, list[Any]]:
    """The runs matching `spec` (and with `final`, only the finished runs or only the others),
    oldest first, by column (`TABLE_COLUMNS`, with ``status`` and ``duration`` as at the moment),
    plus ``metric_rows``: (key, run, last, min, max) of each of their metrics: what a table of
    every run is built from, without an object per run beyond its values."""
    sql = Sql(db)
    where = compile_where(spec, sql)
    if final is not None:
        where = f"r.final = {int(final)}" if where == "1" else f"{where} AND r.final = {int(final)}"
    sql.params.update(moment)
    found = db.execute(
        f"SELECT {', '.join(_TABLE.values())}, '[' || r.tags || ',' || r.params || ','"
        f" || COALESCE(r.note_texts, '[]') || ']' FROM runs r WHERE {where} ORDER BY r.id", sql.params
    ).fetchall()
    if not found:
        return {}
    figures = "SELECT key, run, last_v, min_v, max_v FROM metrics"
    if len(found) <= FEW:  # a few runs (the running ones): looked up by (key, run), no scan
        ids = [row[0] for row in found]
        keys = {key for (text,) in db.execute(
            "SELECT metrics FROM runs WHERE id IN (SELECT value FROM json_each(?))", (json.dumps(ids),))
            for key in json.loads(text)}
        metric_rows = db.execute(f"{figures} WHERE key IN (SELECT value FROM json_each(?))"
                                 " AND run IN (SELECT value FROM json_each(?))",
                                 (json.dumps(sorted(keys)), json.dumps(ids))).fetchall()
    else:
        if where != "1":
            figures += f" WHERE run IN (SELECT r.id FROM runs r WHERE {where})"
        metric_rows = db.execute(figures, sql.params).fetchall()
    out = {name: list(values) for name, values in zip(TABLE_COLUMNS, zip(*found))}
    parsed = json.loads("[" + ",".join(out.pop("json")) + "]")  # the JSON columns, in one go
    out["tags"], out["params"], out["notes"] = (list(c) for c in zip(*parsed))
    out["metric_rows"] = metric_rows
    return out


def column_use(
    db: sqlite3.Connection, moment: dict[str, Any], spec: Filter | None
) -> tuple[int, dict[str, int], dict[str, int], set[str]]:
    """Among the runs matching `spec`: how many there are, how many have each param (not None)
    and each metric, and which of name, user, tags, notebook any has (what a table needs to pick
    its columns)."""
    sql = Sql(db)
    where = compile_where(spec, sql)
    sql.params.update(moment)
    matching = "" if where == "1" else f" AND run IN (SELECT r.id FROM runs r WHERE {where})"
    params = dict(db.execute(f"SELECT key, count(*) FROM params WHERE kind != 0{matching} GROUP BY key",
                             sql.params).fetchall())
    metrics = dict(db.execute(f"SELECT key, count(*) FROM metrics WHERE 1{matching} GROUP BY key",
                              sql.params).fetchall())
    found = db.execute("SELECT count(*), max(r.name != ''), max(r.user != ''), max(r.tags != '[]'),"
                       f" max(COALESCE(r.notebook, '') != '') FROM runs r WHERE {where}", sql.params).fetchone()
    filled = {name for name, any_has in zip(("name", "user", "tags", "notebook"), found[1:]) if any_has}
    if found[0]:
        filled |= {"id", "status", "start", "duration"}
    return int(found[0]), params, metrics, filled


def _repr(text: str | None) -> str | None:
    return None if text is None else str(json.loads(text))


def _metrics_repr(text: str | None) -> str | None:
    if text is None:
        return None
    figures = ("last", "min", "max", "step", "count")
    return str({k: dict(zip(figures, m)) for k, m in json.loads(text).items()})


def register_functions(db: sqlite3.Connection) -> None:
    """The Python functions the compiled SQL may call (only for rare reads, see the docstring)."""
    db.create_function("nb_lower", 1, lambda t: None if t is None else str(t).lower(), deterministic=True)
    db.create_function("nb_str", 1, lambda x: "nan" if x is None else str(float(x)), deterministic=True)
    db.create_function("nb_repr", 1, _repr, deterministic=True)
    db.create_function("nb_metrics", 1, _metrics_repr, deterministic=True)
    db.create_function("nb_joined", 1, lambda t: ", ".join(str(v) for v in json.loads(t)).lower(),
                       deterministic=True)
