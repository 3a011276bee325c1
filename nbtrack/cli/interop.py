"""The ``--from`` and ``--to`` forms of ``nbtrack import`` and ``nbtrack export`` (the verbs
themselves are defined once, in ``share.py``): runs from MLflow, W&B offline folders and
TensorBoard logs, and runs to MLflow (``nbtrack.interop``)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from nbtrack.api import rows
from nbtrack.cli.format import printable
from nbtrack.core.redact import redact_url
from nbtrack.interop.origin import TransferReport
from nbtrack.store.store import Store, open_store

SOURCES = ("mlflow", "wandb", "tensorboard")
TARGETS = ("mlflow",)


def import_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="source", choices=SOURCES,
                   help="import from another tracker: mlflow TRACKING_URI (a .db file, an mlruns folder, "
                        "http://host:port), wandb DIR (offline run folders), tensorboard LOGDIR")
    p.add_argument("--experiment", help="--from mlflow: only this experiment (default: all)")


def export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--to", choices=TARGETS, help="export to another tracker: --to mlflow TRACKING_URI")
    p.add_argument("--experiment", help="--to mlflow: the MLflow experiment to create runs in (default: nbtrack)")


def _finish(report: TransferReport, verb: str) -> int:
    print(f"{verb}: {report.line()}")
    for origin, why in report.skipped.items():
        print(f"nbtrack: {printable(origin)} left out: {printable(why)}", file=sys.stderr)
    return 0


@contextmanager
def _other_tracker(system: str) -> Iterator[None]:
    """The other tracker's missing package or refusal as one clear line (exit status 2)."""
    try:
        yield
    except ModuleNotFoundError as exc:
        raise ValueError(f"reading or writing {system} needs its package: pip install 'nbtrack[{system}]' "
                         f"({exc.name} is missing)") from exc
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != system:
            raise
        raise ValueError(f"{system}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from exc


def import_from(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    if args.experiment and args.source != "mlflow":
        print("nbtrack: --experiment goes with --from mlflow", file=sys.stderr)
        return 2
    status = 0
    for location in args.bundles:
        with _other_tracker(args.source):
            report = _import_one(args.source, location, store, args.experiment)
        status = max(status, _finish(report, f"imported {args.source} {redact_url(location)}"))
    return status


def _import_one(source: str, location: str, store: Store, experiment: str | None) -> TransferReport:
    if source == "mlflow":
        from nbtrack.interop import mlflow

        return mlflow.import_runs(location, store, experiment)
    if source == "wandb":
        from nbtrack.interop import wandb

        return wandb.import_runs(location, store)
    from nbtrack.interop import tensorboard

    return tensorboard.import_runs(location, store)


def export_to(args: argparse.Namespace) -> int:
    """``nbtrack export --to mlflow TRACKING_URI [RUN ...] [--filter F]``: the first positional
    argument is the tracking URI; no run named and no filter means every run."""
    if args.output:
        print("nbtrack: -o writes a bundle; --to writes to another tracker: choose one", file=sys.stderr)
        return 2
    if not args.runs:
        print("nbtrack: name the tracking store: nbtrack export --to mlflow TRACKING_URI [RUN ...]", file=sys.stderr)
        return 2
    location, names = args.runs[0], args.runs[1:]
    store = open_store(args.store)
    ids = [store.resolve(r) for r in names]
    if args.filter is not None:
        ids += [row.id for row in rows(store, args.filter)]
    if not names and args.filter is None:
        ids = [row.id for row in rows(store)]
    with _other_tracker("mlflow"):
        from nbtrack.interop import mlflow

        report = mlflow.export_runs(list(dict.fromkeys(ids)), store, location,
                                    args.experiment or mlflow.DEFAULT_EXPERIMENT)
    return _finish(report, f"exported to mlflow {redact_url(mlflow.tracking_uri(location))}")
