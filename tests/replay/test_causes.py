"""A cause for every difference (``core.causes``), and secrets put back from the environment."""

from __future__ import annotations

import pytest

from nbtrack.core.causes import CellEvidence, cell_cause, metric_cause
from nbtrack.core.reproduce import DIFFERENT, CellComparison, Report
from nbtrack.replay.report import render
from nbtrack.replay.secrets import supply

NUMBERS = ["--- original\n+++ replay\n-[stdout]\n-0.41\n+[stdout]\n+0.73"]
CHANGED_NUMPY = [{"package": "numpy", "original": "2.3.0", "replay": "2.4.6", "kind": "changed"}]
CHANGED_DATA = [{"path": "/d/train.csv", "status": "different"}]


@pytest.mark.parametrize(
    ("evidence", "data", "environment", "cause"),
    [
        (CellEvidence("print(df)", original_text="[nbtrack: output cut here, 90 more bytes not stored]"),
         [], [], "original incomplete"),
        (CellEvidence('api_key = "[REDACTED]"\nprint(call(api_key))', secrets=["API_KEY"]), [], [],
         "secret removed"),
        (CellEvidence("print(total)", out_of_order=True), [], [], "order"),
        (CellEvidence("print(train(steps))", parameters="steps=3"), [], [], "parameters"),
        (CellEvidence("t0 = time.perf_counter()\nfit()\nprint(time.perf_counter() - t0)"), [], [], "timing"),
        (CellEvidence("%timeit fit()"), [], [], "timing"),
        (CellEvidence("print(table)", earlier="from timeit import timeit\nt = timeit(f, number=3)",
                      hash_seed_known=False), [], [], "timing"),
        (CellEvidence("print(np.random.default_rng().normal())", rng_restored=True), [], [], "randomness"),
        (CellEvidence("print(model.score(X, y))", nondeterministic=True), [], [], "randomness"),
        (CellEvidence("print(np.random.rand())", rng_restored=False), [], [], "randomness"),
        (CellEvidence("print(len(pd.read_csv('train.csv')))"), CHANGED_DATA, [], "data"),
        (CellEvidence("print(np.linalg.norm(x))", earlier="import numpy as np"), [], CHANGED_NUMPY, "environment"),
        (CellEvidence("print(pd.__version__)", earlier="import pandas as pd"), [], CHANGED_NUMPY, "unknown"),
        (CellEvidence("print({'a', 'b'})", hash_seed_known=False), [], [], "randomness"),
        (CellEvidence("for s in {Scaler(), Sampler(seed=0)}:\n    plot(s)"), [], [], "randomness"),
        (CellEvidence("for s in set([Scaler(), Sampler()]):\n    plot(s)"), [], [], "randomness"),
        (CellEvidence("for s in {'a', 'b'}:\n    plot(s)"), [], [], "unknown"),  # strings: the hash seed
    ],
)
def test_each_difference_gets_the_cause_its_evidence_shows(evidence, data, environment, cause) -> None:
    found, detail = cell_cause(evidence, NUMBERS, data, environment)
    assert found == cause and detail
    if cause == "secret removed":
        assert "$API_KEY" in detail


def test_a_set_of_objects_is_named_as_ordered_by_memory_address() -> None:
    found, detail = cell_cause(CellEvidence("samplers = {Identity(), Under(random_state=0)}\nfit(samplers)",
                                            hash_seed_known=False), NUMBERS, [], [])
    assert found == "randomness" and "memory addresses" in detail


def test_metrics_take_the_cause_of_the_cell_that_computes_them() -> None:
    cells = [CellComparison(0, "x", "identical"), CellComparison(4, "fit()", DIFFERENT, cause="timing")]
    row = {"key": "acc", "original": 0.9, "replay": 0.8, "status": DIFFERENT}
    assert metric_cause(row, cells, None, [])[0] == "timing"
    assert metric_cause(row, cells, True, [])[0] == "randomness"
    assert metric_cause(row, cells, None, CHANGED_DATA)[0] == "data"
    assert metric_cause(row, [], None, [])[0] == "unknown"


def test_redacted_secrets_are_supplied_by_their_environment_variable() -> None:
    source = ('api_key = "[REDACTED]"\nclient = connect(token="[REDACTED]")\n'
              'headers = {"X-Api-Key": "[REDACTED]"}\n%env HF_TOKEN=[REDACTED]\nauth = "Bearer [REDACTED]"')
    replayed, slots = supply(source, {"API_KEY": "s3cr3t-value", "HF_TOKEN": "hf_abc"})
    assert replayed.splitlines()[0] == "api_key = 's3cr3t-value'"
    assert "%env HF_TOKEN=hf_abc" in replayed and 'token="[REDACTED]"' in replayed
    assert [(s.variable, s.supplied) for s in slots] == [
        ("API_KEY", True), ("TOKEN", False), ("X_API_KEY", False), ("HF_TOKEN", True), (None, False)]
    assert supply("x = 1  # nothing secret", {"X": "1"}) == ("x = 1  # nothing secret", [])


def test_the_printed_report_and_json_name_each_cause() -> None:
    cells = [CellComparison(2, "draw()", DIFFERENT, ["-1\n+2"], cause="randomness", cause_detail="fresh draw"),
             CellComparison(3, 'key = "[REDACTED]"', "identical", secrets=["KEY"])]
    metrics = [{"key": "m", "original": 1.0, "replay": 2.0, "status": DIFFERENT, "agree": False,
                "cause": "randomness", "cause_detail": "as cell 3"}]
    report = Report("a", "b", cells, metrics, hash_seed="0")
    text = "\n".join(render(report))
    assert "cause: randomness (fresh draw)" in text and "cause: randomness (as cell 3)" in text
    assert "cell 4: a secret was removed from its source (supplied by $KEY)" in text
    assert "causes: 2 randomness" in text and "PYTHONHASHSEED=0" in text
    data = report.to_dict()
    assert data["causes"] == {"randomness": 2} and data["cells"][0]["cause"] == "randomness"
    assert Report.from_dict(data).to_dict() == data
