"""TensorBoard: import event files (``nbtrack import --from tensorboard LOGDIR``).

As TensorBoard itself does, each folder under LOGDIR that holds event files
(``events.out.tfevents.*``) is one run, named by its path under LOGDIR. Read with TensorBoard's
own ``EventAccumulator``: scalars (and scalar tensors, as TensorFlow 2 writes them) become
metrics with their steps and wall times; the hyper-parameters of the hparams plugin
(``add_hparams``, ``hp.hparams``) become params and its session status the run's status; text
summaries become notes. The run starts at its first event and ends at its last. Its identity is
its event files' names (they hold the writer's time, host and process id).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nbtrack.api.read import StoreLike, as_store
from nbtrack.core.records import FAILED, FINISHED
from nbtrack.interop.origin import Importer, TransferReport

EVENTS = "events.out.tfevents.*"
SESSION_STATUS = {"STATUS_SUCCESS": FINISHED, "STATUS_FAILURE": FAILED}


def run_folders(logdir: Path) -> list[Path]:
    return sorted({path.parent for path in logdir.rglob(EVENTS) if path.is_file()})


def import_runs(location: str, store: StoreLike = None) -> TransferReport:
    """Import every run (folder of event files) under `location` into `store`."""
    logdir = Path(location).expanduser()
    if not logdir.is_dir():
        raise FileNotFoundError(f"{location} is not a folder")
    folders = run_folders(logdir)
    if not folders:
        raise FileNotFoundError(f"no TensorBoard event files ({EVENTS}) under {location}")
    importer = Importer(as_store(store), "tensorboard", str(logdir.resolve()))
    for folder in folders:
        _import_run(importer, logdir, folder)
    return importer.report


def _import_run(importer: Importer, logdir: Path, folder: Path) -> None:
    from tensorboard.backend.event_processing import event_accumulator

    accumulator = event_accumulator.EventAccumulator(
        str(folder), size_guidance={event_accumulator.SCALARS: 0, event_accumulator.TENSORS: 0})
    accumulator.Reload()
    relative = folder.relative_to(logdir).as_posix()
    name = logdir.resolve().name if relative == "." else relative
    files = sorted(p.name for p in folder.glob(EVENTS))
    try:
        started = accumulator.FirstEventTimestamp()
    except ValueError:  # no event at all
        importer.report.skipped[relative] = "no events"
        return
    target = importer.begin(f"{relative}/{'+'.join(files)}", started, {"name": name}, folder=relative)
    if target is None:
        return
    ended = started
    tags = accumulator.Tags()
    for tag in tags.get(event_accumulator.SCALARS, []):
        events = accumulator.Scalars(tag)
        target.metric(tag, [e.step for e in events], [e.wall_time for e in events], [e.value for e in events])
        ended = max([ended, *(e.wall_time for e in events)])
    for tag in tags.get(event_accumulator.TENSORS, []):
        ended = max(ended, _tensor_series(target, tag, accumulator.Tensors(tag)))
    params, status = _hparams(accumulator)
    target.params(params)
    target.write(importer.store, ended, status)
    importer.done(target)


def _tensor_series(target: Any, tag: str, events: list[Any]) -> float:
    """Scalar tensors as a metric, text tensors as notes; returns the last wall time."""
    from tensorboard.util import tensor_util

    steps, times, values = [], [], []
    for event in events:
        array = tensor_util.make_ndarray(event.tensor_proto)
        if array.dtype.kind in "fiu" and array.size == 1:
            steps.append(event.step)
            times.append(event.wall_time)
            values.append(float(array.reshape(())))
        elif array.dtype.kind in "OSU" and array.size >= 1:
            text = array.reshape(-1)[0]
            text = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
            target.note(f"{tag.removesuffix('/text_summary')}: {text}", event.wall_time)
    target.metric(tag, steps, times, values)
    return max((e.wall_time for e in events), default=0.0)


def _hparams(accumulator: Any) -> tuple[dict[str, Any], str]:
    from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2

    params: dict[str, Any] = {}
    status = FINISHED
    for content in accumulator.PluginTagToContent("hparams").values() if _has_plugin(accumulator) else []:
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        which = data.WhichOneof("data")
        if which == "session_start_info":
            for key, value in data.session_start_info.hparams.items():
                params[key] = _value(value)
        elif which == "session_end_info":
            status = SESSION_STATUS.get(api_pb2.Status.Name(data.session_end_info.status), FINISHED)
    return params, status


def _has_plugin(accumulator: Any) -> bool:
    try:
        accumulator.PluginTagToContent("hparams")
        return True
    except KeyError:
        return False


def _value(value: Any) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    return None
