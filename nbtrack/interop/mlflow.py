"""MLflow: import its runs (``nbtrack import --from mlflow URI``) and export runs to it
(``nbtrack export --to mlflow URI``), through MLflow's own client (``MlflowClient``), so any
store MLflow reads works: a sqlite file, a folder (``mlruns``), a running ``mlflow server``.

Mapping, both ways: params (MLflow keeps text: values are written as `origin.as_text` and read
back as `origin.typed`), every metric point (step, time in ms, value), tags (an nbtrack tag
``k=v`` is MLflow tag ``k`` = ``v``, a plain tag ``k`` is ``k`` = ""), the note
(``mlflow.note.content``), the run name, user, start, end and status, artifacts (files), the
parent (``mlflow.parentRunId``). An export also stores the run's last notebook snapshot as
``nbtrack/notebook.ipynb``. Exported runs carry ``nbtrack.run_id``: a second export finds them
and adds nothing, and importing them back into the store they came from adds nothing either.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from nbtrack.api.read import Run, StoreLike, as_store
from nbtrack.core.identity import effective_status
from nbtrack.core.records import CRASHED, FAILED, FINISHED, KILLED, RUNNING
from nbtrack.core.redact import redact_url
from nbtrack.core.series import decode_metrics
from nbtrack.interop.origin import Importer, TransferReport, as_text, typed

RUN_ID_TAG, COMPLETE_TAG = "nbtrack.run_id", "nbtrack.exported"
NOTE_TAG, PARENT_TAG, USER_TAG, SOURCE_TAG = "mlflow.note.content", "mlflow.parentRunId", "mlflow.user", \
    "mlflow.source.name"
DEFAULT_EXPERIMENT = "nbtrack"
STATUS_FROM = {"FINISHED": FINISHED, "FAILED": FAILED, "KILLED": KILLED}
STATUS_TO = {FINISHED: "FINISHED", FAILED: "FAILED", CRASHED: "FAILED", KILLED: "KILLED"}
BATCH = 1000  # metrics per log_batch call (MLflow's limit); params and tags: 100


def tracking_uri(location: str) -> str:
    """A tracking URI from what a user types: a URI as it is, a ``.db`` file as sqlite, a folder
    as a file store."""
    if re.match(r"^[a-z][a-z0-9+.-]*:", location) and not re.match(r"^[A-Za-z]:\\", location):
        return location
    path = Path(location).expanduser().resolve()
    if path.suffix in (".db", ".sqlite", ".sqlite3"):
        return f"sqlite:///{path}"
    return path.as_uri()


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    if uri.startswith("file:"):  # asked for by name: MLflow 3 refuses folder stores unless allowed
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
    return MlflowClient(tracking_uri=uri)


def _pages(fetch: Any) -> Iterator[Any]:
    token = None
    while True:
        page = fetch(token)
        yield from page
        token = page.token
        if not token:
            return


# ---- import
def import_runs(location: str, store: StoreLike = None, experiment: str | None = None) -> TransferReport:
    """Import every run of the tracking store at `location` (or of one experiment) into `store`."""
    from mlflow.entities import ViewType

    uri = tracking_uri(location)
    client = _client(uri)
    if experiment is not None:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise ValueError(f"no MLflow experiment named {experiment!r} at {redact_url(uri)}")
        experiments = [found]
    else:
        experiments = list(_pages(lambda t: client.search_experiments(ViewType.ACTIVE_ONLY, page_token=t)))
    importer = Importer(as_store(store), "mlflow", redact_url(uri))
    for exp in experiments:
        runs = list(_pages(lambda t, e=exp: client.search_runs([e.experiment_id], max_results=1000, page_token=t)))
        ids = {r.info.run_id: importer.run_id(r.info.run_id, r.info.start_time / 1000) for r in runs}
        for run in runs:
            _import_run(client, importer, run, exp.name, ids)
    return importer.report


def _import_run(client: Any, importer: Importer, run: Any, experiment: str, ids: dict[str, str]) -> None:
    info, tags = run.info, dict(run.data.tags)
    if info.status not in STATUS_FROM:
        importer.report.skipped[info.run_id] = f"{info.status.lower()} in MLflow: import it once it ended"
        return
    if importer.has(tags.get(RUN_ID_TAG, "")):
        importer.report.unchanged += 1  # exported from this very store
        return
    started = info.start_time / 1000
    header = {"name": info.run_name or tags.get("mlflow.runName"), "user": info.user_id or tags.get(USER_TAG),
              "note": tags.get(NOTE_TAG), "notebook": tags.get(SOURCE_TAG), "parent": ids.get(tags.get(PARENT_TAG, "")),
              "tags": [k if v == "" else f"{k}={v}" for k, v in sorted(tags.items()) if not _system_tag(k)]}
    target = importer.begin(info.run_id, started, header, experiment=experiment, nbtrack_run=tags.get(RUN_ID_TAG))
    if target is None:
        return
    target.params({k: typed(v) for k, v in run.data.params.items()})
    for key in sorted(run.data.metrics):
        history = client.get_metric_history(info.run_id, key)
        target.metric(key, [m.step for m in history], [m.timestamp / 1000 for m in history],
                      [m.value for m in history])
    ended = info.end_time / 1000 if info.end_time else None
    with tempfile.TemporaryDirectory(prefix="nbtrack-mlflow-") as folder:
        for path in _artifact_files(client, info.run_id, ""):
            local = Path(client.download_artifacts(info.run_id, path, folder))
            target.artifact(importer.store, path, local.read_bytes(), ts=ended)
    target.write(importer.store, ended, STATUS_FROM[info.status])
    importer.done(target)


def _system_tag(key: str) -> bool:
    return key.startswith(("mlflow.", "nbtrack."))


def _artifact_files(client: Any, run_id: str, path: str) -> Iterator[str]:
    for entry in client.list_artifacts(run_id, path or None):
        if entry.is_dir:
            yield from _artifact_files(client, run_id, entry.path)
        else:
            yield entry.path


# ---- export
def export_runs(run_ids: Iterable[str], store: StoreLike, location: str,
                experiment: str = DEFAULT_EXPERIMENT) -> TransferReport:
    """Create an MLflow run for each nbtrack run not exported there yet (see the module's doc)."""
    uri = tracking_uri(location)
    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else \
        client.create_experiment(experiment, artifact_location=_artifacts_beside(uri))
    report = TransferReport()
    exported: dict[str, str] = {}  # nbtrack id -> MLflow run id, for parents
    source = as_store(store)
    for run_id in run_ids:
        run = Run(source, source.resolve(run_id))
        _export_run(client, experiment_id, run, report, exported)
    return report


def _exported_before(client: Any, experiment_id: str, run_id: str) -> str | None:
    """The MLflow run an earlier export made of `run_id`; a half-made one is deleted."""
    for previous in client.search_runs([experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` = '{run_id}'"):
        if previous.data.tags.get(COMPLETE_TAG) == "true":
            return str(previous.info.run_id)
        client.delete_run(previous.info.run_id)  # an export interrupted half-way: made again
    return None


def _export_run(client: Any, experiment_id: str, run: Run, report: TransferReport, exported: dict[str, str]) -> None:
    from mlflow.entities import Metric, Param, RunTag

    state = run.state
    status = effective_status(state)
    if status == RUNNING:
        report.skipped[run.id] = "still running: export it once it ended"
        return
    origin = state.origin or {}
    if origin.get("system") == "mlflow" and _exists(client, origin.get("id")):
        report.unchanged += 1  # imported from this very tracking store
        return
    previous = _exported_before(client, experiment_id, run.id)
    if previous is not None:
        exported[run.id] = previous
        report.unchanged += 1
        return
    tags = {_key(k): v for k, v in (t.split("=", 1) if "=" in t else (t, "") for t in state.tags)}
    tags.update({RUN_ID_TAG: run.id, USER_TAG: state.user})
    if state.notes:
        tags[NOTE_TAG] = "\n\n".join(n["text"] for n in state.notes)
    if state.notebook:
        tags[SOURCE_TAG] = state.notebook
    if state.parent in exported:
        tags[PARENT_TAG] = exported[state.parent]
    created = client.create_run(experiment_id, start_time=int(state.started * 1000), run_name=state.name or None,
                                tags={RUN_ID_TAG: run.id})
    mlflow_id = created.info.run_id
    params = [Param(_key(k), as_text(v)[:6000]) for k, v in state.params.items()]
    tag_list = [RunTag(k, str(v)[:8000]) for k, v in tags.items()]
    for i in range(0, max(len(params), len(tag_list)), 100):
        client.log_batch(mlflow_id, params=params[i:i + 100], tags=tag_list[i:i + 100])
    points = list(_metric_points(run, Metric))
    for i in range(0, len(points), BATCH):
        client.log_batch(mlflow_id, metrics=points[i:i + BATCH])
    _export_files(client, mlflow_id, run)
    client.set_tag(mlflow_id, COMPLETE_TAG, "true")
    client.set_terminated(mlflow_id, STATUS_TO.get(status, "FINISHED"),
                          end_time=int((state.ended or state.last_seen) * 1000))
    exported[run.id] = mlflow_id
    report.copied.append(mlflow_id)


def _metric_points(run: Run, metric: Any) -> Iterator[Any]:
    for record in run.records_of("metrics"):
        keys, steps, times, columns = decode_metrics(record)
        for key, values in zip(keys, columns):
            for step, ts, value in zip(steps, times, values):
                yield metric(_key(key), value, int(ts * 1000), int(step))


def _export_files(client: Any, mlflow_id: str, run: Run) -> None:
    with tempfile.TemporaryDirectory(prefix="nbtrack-mlflow-") as folder:
        for entry in run.artifacts:
            name = Path(entry["name"])
            parent = "/".join(p for p in name.parent.parts if p not in ("..", "/", "."))
            local = Path(folder, "a", parent, name.name)
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(run.store.get_blob(entry["sha256"]))
            client.log_artifact(mlflow_id, str(local), parent or None)
        if run.snapshots:
            import nbformat

            notebook = Path(folder, "notebook.ipynb")
            nbformat.write(run.notebook(), str(notebook))
            client.log_artifact(mlflow_id, str(notebook), "nbtrack")


def _artifacts_beside(uri: str) -> str | None:
    """For a sqlite file, artifacts in a folder beside it (MLflow's default is ``./mlruns`` under
    whatever the current folder is); other stores keep their own default."""
    if not uri.startswith("sqlite:///"):
        return None
    return (Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlartifacts").as_uri()


def _exists(client: Any, mlflow_id: Any) -> bool:
    if not mlflow_id:
        return False
    try:
        client.get_run(mlflow_id)
        return True
    except Exception:
        return False


def _key(name: str) -> str:
    """A name MLflow accepts as a param, metric or tag key."""
    return re.sub(r"[^\w./\- :]", "_", str(name)) or "_"
