"""The run's writer never dies on data: text UTF-8 cannot encode in any user-text field is stored
and reads back identical, a record that cannot be stored at all is replaced by a warning, and an
internal error in the writer is reported once and recorded, while everything else is written."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

import nbtrack
from nbtrack.cli import main
from nbtrack.core import run as run_module
from nbtrack.core.text import encodable

ODD = "lone \ud800 and \udfff"  # what a bad decode or a sliced emoji leaves in a Python string
SHOWN = encodable(ODD)  # in tables: pandas' Arrow-backed strings refuse lone surrogates
FILE_NAME = "weights-\udcff.bin"  # a file name that was not UTF-8 on disk (surrogateescape)


def _log_after(points: int) -> None:
    for step in range(points):
        nbtrack.log(step=step, after=float(step))


def test_unencodable_text_in_every_field_is_stored_and_later_points_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "store")
    artifact = tmp_path / FILE_NAME
    artifact.write_bytes(b"weights")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing here is worth a warning, let alone a lost record
        run = nbtrack.start(ODD, tags=[ODD], note=ODD, params={"odd": ODD, "nested": {ODD: [ODD]}}, store=store)
        with pytest.raises(ValueError, match="printable"):  # a metric's or param's name: refused at the call
            nbtrack.log(step=0, **{ODD: 1.0})
        with pytest.raises(ValueError, match="printable"):
            nbtrack.log_params(**{f"p {ODD}": 1})
        nbtrack.log(step=0, odd=1.0)
        nbtrack.log_params(p=f"v {ODD}")
        nbtrack.note(f"note {ODD}")
        nbtrack.tag(f"tag {ODD}")
        nbtrack.log_artifact(b"bytes", name=f"artifact {ODD}")
        nbtrack.log_artifact(artifact)
        nbtrack.log_confusion_matrix([ODD, "b"], [ODD, ODD])
        _log_after(100)
        nbtrack.finish()

    stored = nbtrack.get_run(run.id, store)
    assert stored.status == "finished" and not stored.log.damage and stored.warnings == []
    assert stored.name == ODD and stored.tags == [ODD, f"tag {ODD}"] and stored.notes == [ODD, f"note {ODD}"]
    assert stored.params == {"odd": ODD, "nested": {ODD: [ODD]}, "p": f"v {ODD}"}
    assert list(stored.metrics[stored.metrics.key == "after"].step) == [float(i) for i in range(100)]
    assert list(stored.metrics[stored.metrics.key == "odd"].value) == [1.0]
    assert stored.artifact(f"artifact {ODD}") == b"bytes"
    assert stored.artifact_path(FILE_NAME, tmp_path / "out").read_bytes() == b"weights"  # same file name
    assert sorted(stored.records_of("confusion")[0]["labels"]) == sorted([ODD, "b"])

    row = nbtrack.runs(store=store).iloc[0]  # the index and the table read it back the same way
    assert row["name"] == SHOWN and row["params.odd"] == SHOWN and row["params.p"] == f"v {SHOWN}"
    capsys.readouterr()
    assert main(["--store", store, "runs"]) == 0 and main(["--store", store, "show", run.id]) == 0
    assert main(["--store", store, "runs", "--json"]) == 0
    out = capsys.readouterr().out
    assert "lone \\ud800 and \\udfff" in out  # escaped, never raw, in a terminal
    assert json.loads(out.splitlines()[-1])[0]["name"] == SHOWN  # the index keeps what UTF-8 can encode


def test_a_record_that_cannot_be_stored_becomes_a_warning_and_the_rest_is_written(tmp_path: Path) -> None:
    store = str(tmp_path / "store")
    run = nbtrack.start("odd records", store=store)
    with pytest.warns(RuntimeWarning, match="could not be stored") as caught:
        run.write({"t": "custom", "ts": 1.0, "value": {1, 2}})  # a set: not JSON at all
        run.write({"t": "custom", "ts": 2.0, "value": object()})  # the second is not reported again
        _log_after(50)
        run.flush()
    assert len([w for w in caught if "could not be stored" in str(w.message)]) == 1
    nbtrack.finish()
    stored = nbtrack.get_run(run.id, store)
    assert stored.status == "finished"
    assert len(stored.metrics) == 50
    assert [w["kind"] for w in stored.warnings] == ["data-lost"]
    assert "'custom' record" in stored.warnings[0]["message"]


def test_an_internal_error_in_the_writer_is_reported_once_recorded_and_survived(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = str(tmp_path / "store")
    run = nbtrack.start("writer error", store=store)
    real = run_module.encode_metrics
    failures = []

    def fails_twice(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if len(failures) < 2:
            failures.append(1)
            raise RuntimeError("boom")
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "encode_metrics", fails_twice)
    with pytest.warns(RuntimeWarning, match="writer failed") as caught:
        nbtrack.log(step=0, lost=1.0)
        run.flush()
        nbtrack.log(step=1, lost=2.0)
        run.flush()
    assert len([w for w in caught if "writer failed" in str(w.message)]) == 1
    _log_after(30)
    nbtrack.note("written after the errors")
    nbtrack.finish()
    stored = nbtrack.get_run(run.id, store)
    assert stored.status == "finished" and stored.notes == ["written after the errors"]
    assert list(stored.metrics[stored.metrics.key == "after"].step) == [float(i) for i in range(30)]
    assert [w["kind"] for w in stored.warnings] == ["writer-error"]
    assert "boom" in stored.warnings[0]["message"]
    assert any("writer failed" in problem for problem in run.problems)  # what %nbtrack status lists


class _Refusing:
    """Wraps a backend's append: the next `times` appends fail as a full disk does."""

    def __init__(self, append, times: int) -> None:  # type: ignore[no-untyped-def]
        self.append, self.times, self.tried = append, times, 0

    def __call__(self, key: str, data: bytes) -> None:
        self.tried += 1
        if self.tried <= self.times:
            raise OSError(28, "No space left on device")
        self.append(key, data)


@pytest.mark.parametrize("refusals", [3, 10_000])
def test_a_finishing_run_retries_a_refused_write_then_gives_up_saying_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, refusals: int
) -> None:
    """The store refuses writes when the run finishes: the writer keeps retrying for a while (the
    space may come back), and says so when it gives up instead of hanging the kernel's exit."""
    monkeypatch.setattr(run_module, "FINAL_RETRY_SECONDS", 1.0)
    store = str(tmp_path / "store")
    run = nbtrack.start("finishing", store=store)
    run.flush_interval = 0.05
    nbtrack.log(step=0, loss=1.0)
    refusing = _Refusing(run.store.backend.append, refusals)
    monkeypatch.setattr(run.store.backend, "append", refusing)
    with pytest.warns(RuntimeWarning, match="cannot write run|gave up") as caught:
        nbtrack.finish()
    gave_up = [w for w in caught if "gave up writing run" in str(w.message)]
    stored = nbtrack.get_run(run.id, store)
    if refusals == 3:  # back within the retry window: everything written, the outage recorded
        assert not gave_up and refusing.tried > 3
        assert stored.state.status == "finished" and list(stored.metrics.value) == [1.0]
        assert [w["kind"] for w in stored.warnings] == ["write-failed"]
    else:  # never back: one last warning says what was lost
        assert len(gave_up) == 1 and refusing.tried > 3
        assert stored.state.status == "running" and stored.metrics.empty
