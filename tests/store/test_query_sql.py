"""Filters, sorts and pages in SQL (``nbtrack.store.query``) answer exactly what the in-memory
filter language and ``page_rows`` answer, on random runs and random filters (hypothesis).

The reference is computed without the index: each run's log is reduced in Python, made a
`RunRow`, filtered with ``core.filters.predicate`` and paged with ``core.paging.page_rows``.
The runs mix every kind of value the language treats apart (None, NaN, infinities, bools, ints,
numeric text, lists, dicts, upper and lower case, non-ASCII), finished and running runs (live,
whose process died, whose heartbeats stopped), ties in start time, and fields that resolve
through several candidates (``loss`` as a param in one run and a metric in another).
"""

from __future__ import annotations

import itertools
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtrack.api.rows import RunRow, page
from nbtrack.core import framing, records
from nbtrack.core.filters import FilterError, predicate
from nbtrack.core.identity import boot_id
from nbtrack.core.paging import page_rows
from nbtrack.core.series import Batch, encode_metrics
from nbtrack.core.state import reduce
from nbtrack.store.local import LocalBackend
from nbtrack.store.store import Store

NOW = 1_700_000_000.0
DEAD_PID = 4_000_000  # above any pid Linux hands out (pid_max is at most 2**22)
WORDS = ["a", "A", "ab", "Net1", "net1", "x y", "é", "É", "0.5", "1e-3", " 2", "nan", "Inf", "true", "", ","]
KEYS = ["lr", "loss", "acc", "arch", "a.last", "params.x", "name", "tag"]
FIELDS = ["lr", "loss", "acc", "arch", "name", "status", "user", "tag",  # the likely ones twice
          "id", "name", "status", "user", "host", "start", "duration", "tags", "tag", "notes", "notebook", "replay_of",
          "parent", "params", "metrics", "kernel_id", "lr", "loss", "acc", "arch", "a.last", "a",
          "params.lr", "params.loss", "params.x", "params.params.x", "metrics.loss.last", "metrics.loss.min",
          "loss.max", "metrics.acc.max", "acc.min", "metrics.a.last.last", "zzz"]
OPS = ["=", "==", "!=", "<", "<=", ">", ">=", "~"]
VALUES = ["0.5", "1", "0", "-1", "nan", "inf", "-inf", "abc", "AB", "true", "False", "net1", "a", "x", "é",
          "1e-3", "run", "fin", "finished", "running", "crashed", "2023", "None", "[1", "{'", '""', '"x y"']

values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([0.5, -0.0, 1e-3, math.inf, -math.inf, math.nan]),
    st.sampled_from(WORDS), st.lists(st.sampled_from([1, "a", "B"]), max_size=2),
    st.dictionaries(st.sampled_from(["k", "K"]), st.integers(0, 2), max_size=1),
)
metric_values = st.lists(st.sampled_from([0.0, 0.5, 1.0, -2.0, math.nan, math.inf, 3.0]), min_size=1, max_size=3)
runs = st.lists(
    st.fixed_dictionaries({
        "name": st.sampled_from([*WORDS, "run 1", "Run 2"]),
        "user": st.sampled_from(["ann", "Bob", "bob", "1", "zoë"]),
        "host": st.sampled_from(["h1", "H2"]),
        "started": st.sampled_from([NOW - 1000, NOW - 500, NOW - 500, NOW - 3.25]),
        "length": st.sampled_from([0.0, 1.5, 60.0]),
        "status": st.sampled_from(["finished", "failed", "killed", "live", "dead", "silent"]),
        "tags": st.lists(st.sampled_from(WORDS), max_size=3),
        "notes": st.lists(st.sampled_from(WORDS), max_size=2),
        "params": st.dictionaries(st.sampled_from(KEYS), values, max_size=4),
        "metrics": st.dictionaries(st.sampled_from(KEYS), metric_values, max_size=3),
        "notebook": st.sampled_from([None, "a.ipynb", "B.ipynb"]),
        "parent": st.sampled_from([None, "01abc", "1e5"]),
    }),
    min_size=3, max_size=12,
)
terms = st.one_of(
    st.builds(lambda f, o, v: f"{f}{o}{v}", st.sampled_from(FIELDS), st.sampled_from(OPS),
              st.sampled_from(VALUES + [w for w in WORDS if w.strip() and " " not in w and "," not in w])),
    st.sampled_from(["run", "bob", "a", "x", "é", '"x y"', "1", "net1", "Fin"]),
)
filters = st.lists(terms, max_size=2).map(" ".join)  # "" is no filter
sorts = st.one_of(st.none(), st.sampled_from(FIELDS))
_counter = itertools.count()
_root = Path(tempfile.mkdtemp(prefix="nbtrack-query-sql-"))


def write_run(store: Store, i: int, spec: dict[str, Any]) -> None:
    run_id = f"01h{i:013d}"
    started, end = spec["started"], spec["started"] + spec["length"]
    status = spec["status"]
    alive = {"live": os.getpid(), "dead": DEAD_PID, "silent": os.getpid()}
    if status == "silent":  # its heartbeats stopped long ago
        started, end = started - 10_000, started - 9_000
    header = records.run_header(run_id, 10.0, {
        "name": spec["name"], "user": spec["user"], "host": spec["host"], "tags": spec["tags"],
        "boot_id": boot_id(), "pid": alive.get(status, 1), "notebook": spec["notebook"], "parent": spec["parent"],
    }, ts=started)
    body: list[dict[str, Any]] = [records.params(spec["params"], ts=started)] if spec["params"] else []
    body += [records.note(text, ts=started) for text in spec["notes"]]
    for key, points in spec["metrics"].items():
        batch = Batch((key,), [float(s) for s in range(len(points))], [started] * len(points), [points])
        body += encode_metrics([batch], started)
    if status in alive:
        body.append(records.heartbeat(ts=end if status != "live" else NOW - 1))
    else:
        body.append(records.status(status, ts=end))
    store.append(run_id, framing.encode_many([header, *body]))
    store.end(run_id)


def reference(store: Store, spec: Any, sort: str | None, desc: bool, offset: int, limit: int | None
              ) -> tuple[list[str], int]:
    found = [RunRow.from_summary(reduce(store.read_run(r).records).summary_fields(), NOW) for r in store.run_ids()]
    keep = predicate(spec)
    kept = [row for row in found if keep(row.flat)]
    shown, total = page_rows(kept, sort, desc, offset, limit, view=lambda row: row.flat)
    return [row.id for row in shown], total


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=runs, queries=st.lists(st.tuples(filters, sorts, st.booleans(), st.integers(0, 4),
                                              st.one_of(st.none(), st.integers(1, 5))), min_size=1, max_size=6))
def test_sql_pages_equal_the_in_memory_filter_and_sort(specs: list[dict[str, Any]], queries: list[Any]) -> None:
    folder = _root / str(next(_counter))
    store = Store(LocalBackend(str(folder / "store")), index_file=folder / "index.sqlite")
    try:
        for i, spec in enumerate(specs):
            write_run(store, i, spec)
        for text, sort, desc, offset, limit in queries:
            try:
                expected: Any = reference(store, text, sort, desc, offset, limit)
            except FilterError:
                with pytest.raises(FilterError):
                    page(store, text, sort, desc, offset, limit, now=NOW)
                continue
            got = page(store, text, sort, desc, offset, limit, now=NOW)
            assert ([row.id for row in got.rows], got.total) == expected, (text, sort, desc, offset, limit)
    finally:
        store.close()


def test_the_reference_sees_what_the_generator_wrote() -> None:
    """The property above compares real differences: filters do select, sorts do reorder."""
    store = Store(LocalBackend(str(_root / "fixed" / "store")), index_file=_root / "fixed" / "index.sqlite")
    base = {"name": "n", "user": "ann", "host": "h1", "started": NOW - 500, "length": 1.5, "status": "finished",
            "tags": [], "notes": [], "params": {}, "metrics": {}, "notebook": None, "parent": None}
    write_run(store, 0, {**base, "params": {"lr": 0.5}, "status": "dead"})
    write_run(store, 1, {**base, "params": {"lr": "1e-3"}, "metrics": {"lr": [2.0]}})
    write_run(store, 2, {**base, "metrics": {"lr": [math.nan]}, "status": "live"})
    assert page(store, "lr>0.01", now=NOW).total == 1
    assert [r.status for r in page(store, sort=None, limit=None, now=NOW).rows] == ["crashed", "finished", "running"]
    # numbers before text ascending, so text first descending; the NaN metric is missing: last
    assert [r.id[-1] for r in page(store, sort="lr", desc=True, limit=None, now=NOW).rows] == ["1", "0", "2"]
    assert page(store, "lr!=0.5", now=NOW).total == 2  # a NaN metric reads as "not 0.5"
    store.close()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specs=runs, text=filters)
def test_runs_frame_is_the_rows_as_columns(specs: list[dict[str, Any]], text: str) -> None:
    """``nbtrack.runs()`` builds its DataFrame a column at a time: the same frame as one built
    from each row's flat fields (the columns, the dtypes pandas infers, NaN where a run lacks one)."""
    import pandas as pd

    from nbtrack.api.read import BASE_COLUMNS, runs
    from nbtrack.api.rows import rows

    folder = _root / str(next(_counter))
    store = Store(LocalBackend(str(folder / "store")), index_file=folder / "index.sqlite")
    try:
        for i, spec in enumerate(specs):
            write_run(store, i, spec)
        try:
            flats = [{**row.flat, "start": row.started} for row in rows(store, text)]
        except FilterError:
            return
        names = BASE_COLUMNS + sorted({k for flat in flats for k in flat} - set(BASE_COLUMNS) - {"metrics"})
        expected = pd.DataFrame(flats, columns=names)
        expected["start"] = pd.to_datetime(expected["start"], unit="s", utc=True)
        got = runs(text, store=store)
        got["duration"] = expected["duration"]  # running runs' durations grow between the two reads
        pd.testing.assert_frame_equal(got, expected)
    finally:
        store.close()
