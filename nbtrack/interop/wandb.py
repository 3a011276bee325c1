"""W&B: import the run folders ``wandb`` writes offline (``WANDB_MODE=offline``):
``nbtrack import --from wandb DIR`` (a ``wandb/`` folder, a project folder holding one, or one
``offline-run-...`` folder).

A run's records are in its ``run-<id>.wandb`` file: protocol buffers (``wandb``'s own
``wandb_internal_pb2.Record``) framed as a LevelDB log, which this module reads itself (W&B's
client no longer ships a Python reader; the framing is checked record by record). Imported:
the config as params (nested keys joined with ``.``), every history row's numbers at their
``_step`` and ``_timestamp``, summary values never logged to history (one point at the last
step), the run's name, notes, tags, group and job type (as tags), its start, end and exit code
(0: finished, otherwise failed; a run without an exit record crashed), and the files the run
saved (``wandb.save``, media), never W&B's own bookkeeping files.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nbtrack.api.read import StoreLike, as_store
from nbtrack.core.records import CRASHED, FAILED, FINISHED
from nbtrack.core.values import flatten
from nbtrack.interop.origin import Importer, TransferReport

BLOCK, HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
FILE_IDENT, FILE_MAGIC = b":W&B", 0xBEE1
OWN_FILES = {"wandb-metadata.json", "wandb-summary.json", "config.yaml", "requirements.txt", "output.log",
             "diff.patch", "conda-environment.yaml"}


class NotAWandbLog(ValueError):
    pass


def read_records(path: Path) -> Iterator[bytes]:
    """The records of a ``.wandb`` file, each as the bytes of one protocol buffer message."""
    data = path.read_bytes()
    if len(data) < HEADER or data[:4] != FILE_IDENT or struct.unpack("<H", data[4:6])[0] != FILE_MAGIC:
        raise NotAWandbLog(f"{path} is not a W&B run log")
    pos, pending = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # the block's tail is padding
            pos += left
            continue
        checksum, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        chunk = data[pos + HEADER:pos + HEADER + length]
        if kind == 0 and length == 0:
            pos += left  # zero padding
            continue
        if len(chunk) < length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF != checksum:
            return  # a torn or damaged tail: everything before it is kept
        pos += HEADER + length
        pending = chunk if kind in (FULL, FIRST) else pending + chunk
        if kind in (FULL, LAST):
            yield pending
            pending = b""


def run_logs(folder: Path) -> list[Path]:
    """The ``.wandb`` files of the runs under `folder` (at most three levels down), each once
    (``latest-run`` is a link to one of them)."""
    found = [p for pattern in ("*.wandb", "*/*.wandb", "*/*/*.wandb") for p in folder.glob(pattern)]
    return sorted({p.resolve(): p for p in sorted(found, key=lambda p: "latest-run" not in p.parts)}.values())


def import_runs(location: str, store: StoreLike = None) -> TransferReport:
    """Import every offline W&B run under `location` into `store`."""
    folder = Path(location).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"{location} is not a folder")
    logs = run_logs(folder)
    if not logs:
        raise FileNotFoundError(f"no W&B run (run-*.wandb) under {location}")
    importer = Importer(as_store(store), "wandb", str(folder.resolve()))
    for log in logs:
        try:
            _import_run(importer, _parse(log), log.parent)
        except NotAWandbLog as exc:
            importer.report.skipped[str(log)] = str(exc)
    return importer.report


def _parse(log: Path) -> dict[str, Any]:
    """What a run log says: the run record's fields, config, history rows, summary, files, exit."""
    from wandb.proto import wandb_internal_pb2

    pb: Any = wandb_internal_pb2  # generated code: no static attributes

    run: dict[str, Any] = {"config": {}, "history": [], "summary": {}, "files": [], "exit": None, "host": None}
    for data in read_records(log):
        record = pb.Record()
        record.ParseFromString(data)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            r = record.run
            run.update(id=r.run_id, project=r.project, entity=r.entity, name=r.display_name, notes=r.notes,
                       tags=list(r.tags), group=r.run_group, job_type=r.job_type,
                       started=r.start_time.seconds + r.start_time.nanos / 1e9 if r.HasField("start_time") else None)
            run["config"].update(_items(r.config.update))
        elif kind == "config":
            run["config"].update(_items(record.config.update))
        elif kind == "history":
            run["history"].append(_items(record.history.item))
        elif kind == "summary":
            run["summary"].update(_items(record.summary.update))
        elif kind == "files":
            run["files"].extend(f.path for f in record.files.files if f.type != pb.FilesItem.FileType.WANDB)
        elif kind == "environment" and record.environment.host:
            run["host"] = record.environment.host
        elif kind == "exit":
            run["exit"] = (record.exit.exit_code, record.exit.runtime)
    if "id" not in run:
        raise NotAWandbLog(f"{log} holds no run record")
    return run


def _items(items: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key = item.key or "/".join(item.nested_key)
        try:
            out[key] = json.loads(item.value_json)
        except ValueError:
            continue
    return out


def _numbers(row: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in row.items()
            if not k.startswith("_") and isinstance(v, (int, float)) and not isinstance(v, bool)}


def _saved_file(folder: Path, name: str) -> Path | None:
    """The file a run saved as `name`, unless it is W&B's own or leads out of the project.

    ``wandb.save`` links the file it saves into the run's ``files/``; a link is followed only
    to a file inside the project (the folder holding ``wandb/``), so a run folder from elsewhere
    cannot bring in a file of the importing machine (``files/x -> ~/.ssh/id_rsa``)."""
    relative = Path(name)
    if relative.name in OWN_FILES or relative.is_absolute() or ".." in relative.parts:
        return None
    path = folder / "files" / relative
    project = folder.resolve().parent.parent
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if real.is_file() and real.is_relative_to(project) else None


def _import_run(importer: Importer, run: dict[str, Any], folder: Path) -> None:
    history = run["history"]
    times = [float(row["_timestamp"]) for row in history if "_timestamp" in row]
    started = run["started"] or (min(times) if times else folder.stat().st_mtime)
    tags = list(run["tags"]) + [f"{k}={run[k]}" for k in ("group", "job_type") if run.get(k)]
    origin_id = "/".join(p for p in (run["entity"], run["project"], run["id"]) if p)
    header = {"name": run["name"], "note": run["notes"], "tags": tags, "host": run["host"]}
    target = importer.begin(origin_id, started, header, project=run["project"], folder=folder.name)
    if target is None:
        return
    config = {k: v for k, v in run["config"].items() if not k.startswith("_")}
    target.params(flatten(config))
    series: dict[str, tuple[list[float], list[float], list[float]]] = {}
    last_step = 0.0
    for index, row in enumerate(history):
        step = float(row.get("_step", index))
        ts = float(row.get("_timestamp", started))
        last_step = max(last_step, step)
        for key, value in _numbers(row).items():
            steps, stamps, values = series.setdefault(key, ([], [], []))
            steps.append(step)
            stamps.append(ts)
            values.append(value)
    exit_code, runtime = run["exit"] or (None, 0)
    ended = max([started + runtime, *times]) if run["exit"] else None
    for key, value in _numbers(run["summary"]).items():
        if key not in series:
            series[key] = ([last_step], [ended or started], [value])
    for key, (steps, stamps, values) in series.items():
        target.metric(key, steps, stamps, values)
    for name in dict.fromkeys(run["files"]):
        path = _saved_file(folder, name)
        if path is not None:
            target.artifact(importer.store, name, path.read_bytes(), ts=ended)
    status = CRASHED if exit_code is None else (FINISHED if exit_code == 0 else FAILED)
    target.write(importer.store, ended, status, None if exit_code in (None, 0) else f"exit code {exit_code}")
    importer.done(target)
