"""Reproducibility analysis over execution histories (pure; no kernel)."""

from __future__ import annotations

from nbtrack.core.cells import analyse, make_execution, names_of


def run(*cells: tuple[str | None, str]):  # type: ignore[no-untyped-def]
    return [make_execution(seq, cid, source, seq + 1) for seq, (cid, source) in enumerate(cells)]


def test_names_defined_and_used() -> None:
    defines, uses = names_of(
        "import numpy as np\nfrom os import path\nx = np.zeros(3) + y\nx += z\n"
        "def f(a, b=w):\n    t = a + b + g\n    return t\nclass C(Base):\n    k = 1\n"
        "squares = [i * i for i in items]\nprint(len(x))")
    assert defines == {"np", "path", "x", "f", "C", "squares"}
    assert uses == {"y", "z", "w", "g", "Base", "items"}
    assert names_of("%magic that does not parse (") == (frozenset(), frozenset())


def test_top_to_bottom_run_has_no_warnings() -> None:
    executions = run(("a", "x = 1"), ("b", "y = x + 1"), ("c", "print(y)"))
    assert analyse(executions, [("a", "x = 1"), ("b", "y = x + 1"), ("c", "print(y)")]) == []


def test_out_of_order_and_stale_dependency() -> None:
    cells = [("a", "x = 1"), ("b", "y = x + 1"), ("c", "print(y)")]
    executions = run(cells[0], cells[2], cells[1])
    kinds = [w["kind"] for w in analyse(executions, cells)]
    assert kinds == ["out_of_order"]
    executions = run(cells[0], cells[1], ("a", "x = 5"))
    warning = analyse(executions, [("a", "x = 5"), *cells[1:]])
    assert [w["kind"] for w in warning] == ["out_of_order", "stale_dependency", "edited_after_run"]
    assert warning[1]["cells"] == ["a", "b"] and "edited and re-run" in warning[1]["message"]


def test_rerunning_the_user_clears_the_staleness() -> None:
    executions = run(("a", "x = 1"), ("b", "y = x"), ("a", "x = 1"), ("b", "y = x"))
    assert analyse(executions) == []


def test_deleted_and_edited_cells_against_the_notebook() -> None:
    executions = run(("a", "x = 1"), ("gone", "z = 2"))
    warnings = analyse(executions, [("a", "x = 2")])
    assert {w["kind"]: w["cells"] for w in warnings} == {"edited_after_run": ["a"], "deleted_cell": ["gone"]}


def test_pre_start_state() -> None:
    executions = run((None, "y = w + 1"), (None, "w = 3\nprint(w)"))
    warnings = analyse(executions, before_start={"w", "unused"})
    assert (
        len(warnings) == 1 and warnings[0]["kind"] == "pre_start_state" and "w defined before" in warnings[0]["message"]
    )


def test_cells_without_ids_are_matched_by_source() -> None:
    executions = run((None, "x = 1"), (None, "print(x)"))
    notebook = [(None, "print(x)"), (None, "x = 1")]
    assert [w["kind"] for w in analyse(executions, notebook)] == ["out_of_order"]
