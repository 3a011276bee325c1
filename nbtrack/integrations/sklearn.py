"""scikit-learn: ``autolog()`` once, then every ``fit`` is recorded.

Each outermost ``fit`` of a scikit-learn estimator (fits it makes inside, as a pipeline's steps
or a search's candidates, are part of it) records the estimator's parameters (``get_params``,
nested ones as ``step__param``), its class (``estimator_class``), the fit time and ``score`` on the data it was fitted
on (``training_score``), and when `log_models` the fitted estimator pickled as ``model.pkl``.
A ``GridSearchCV`` / ``RandomizedSearchCV`` (any ``BaseSearchCV``) also records its best
parameters (``best.<name>``) and best cross-validated score, and every candidate as a child
run (its header's ``parent`` is the search's run) holding the candidate's parameters and its
row of ``cv_results_`` (mean/std test scores, ranks, per-split scores, fit and score times).
``autolog(disable=True)`` restores the original methods.
"""

from __future__ import annotations

import functools
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any, cast

from sklearn.utils import all_estimators

from nbtrack.api.whole import WholeRun
from nbtrack.core.identity import host_fields
from nbtrack.core.ids import new_run_id
from nbtrack.core.run import ActiveRun
from nbtrack.integrations.scope import TrainingRun, numbers, plain, report
from nbtrack.store.store import Store

ORIGINAL = "__nbtrack_original__"
_settings: dict[str, Any] = {"log_models": False, "max_candidates": None}
_depth = 0  # process-wide: fits running inside a recorded fit, in any thread, are part of it
_lock = threading.Lock()


def autolog(log_models: bool = False, max_candidates: int | None = None, disable: bool = False) -> None:
    """Record every scikit-learn ``fit`` from now on (see the module's documentation);
    `max_candidates` caps the child runs of one search (the best ranked are kept)."""
    _settings.update(log_models=log_models, max_candidates=max_candidates)
    for cls in _fitting_classes():
        fit = cls.__dict__["fit"]
        original = getattr(fit, ORIGINAL, None)
        if disable and original is not None:
            setattr(cls, "fit", original)  # noqa: B010 - a class's method, replaced on purpose
        elif not disable and original is None:
            setattr(cls, "fit", _recorded(fit))  # noqa: B010


def _fitting_classes() -> list[type]:
    """scikit-learn's classes that define ``fit`` themselves (estimators and their bases)."""
    found: dict[type, None] = {}
    for _, estimator in all_estimators():
        for cls in estimator.__mro__:
            if cls.__module__.startswith("sklearn.") and "fit" in cls.__dict__:
                found[cls] = None
    return list(found)


def _recorded(fit: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fit)
    def recorded_fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        global _depth
        with _lock:
            outermost = _depth == 0
            _depth += 1
        try:
            return _fit_and_record(fit, self, args, kwargs) if outermost else fit(self, *args, **kwargs)
        finally:
            with _lock:
                _depth -= 1

    setattr(recorded_fit, ORIGINAL, fit)
    return recorded_fit


def _fit_and_record(fit: Callable[..., Any], estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The user's fit, as it would run without nbtrack (its result, its exception), recorded; a
    failure of the recording is reported once and never reaches the user's code."""
    scope = TrainingRun()
    try:
        run = scope.begin(type(estimator).__name__)
        scope.params({**_estimator_params(estimator), "estimator_class": type(estimator).__name__})
    except Exception as exc:
        report("nbtrack.integrations.sklearn (before fit)", exc)
        scope.end()
        return fit(estimator, *args, **kwargs)
    started = time.perf_counter()
    try:
        result = fit(estimator, *args, **kwargs)
    except BaseException as exc:
        scope.end(f"{type(exc).__name__}: {exc}")
        raise
    try:
        _record_fitted(scope, run, estimator, args, kwargs, time.perf_counter() - started)
    except Exception as exc:
        report("nbtrack.integrations.sklearn (after fit)", exc)
    finally:
        scope.end()
    return result


def _record_fitted(scope: TrainingRun, run: ActiveRun, estimator: Any, args: tuple[Any, ...],
                   kwargs: dict[str, Any], fit_time: float) -> None:
    values = {"fit_time": fit_time}
    score = _training_score(estimator, args, kwargs)
    if score is not None:
        values["training_score"] = score
    if hasattr(estimator, "cv_results_"):
        _record_search(estimator, run, values)
    scope.log(None, values)
    if _settings["log_models"]:
        scope.model("model.pkl", lambda path: path.write_bytes(pickle.dumps(estimator)))


def _estimator_params(estimator: Any) -> dict[str, Any]:
    try:
        params = estimator.get_params(deep=True)
    except Exception:
        return {}
    return {name: plain(value) for name, value in params.items()}


def _training_score(estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> float | None:
    if not hasattr(estimator, "score") or not (args or "X" in kwargs):
        return None
    x = args[0] if args else kwargs["X"]
    y = args[1] if len(args) > 1 else kwargs.get("y")
    try:
        score = estimator.score(x) if y is None else estimator.score(x, y)
        return float(score)
    except Exception:  # not every estimator can score the data it was fitted on
        return None


def _record_search(search: Any, run: ActiveRun, values: dict[str, float]) -> None:
    """The search's best candidate on its run, and every candidate as a child run."""
    best = getattr(search, "best_params_", None)
    if best:
        run.log_params(**{f"best.{k}": plain(v) for k, v in best.items()})
    if isinstance(getattr(search, "best_score_", None), (int, float)):
        values["best_cv_score"] = float(search.best_score_)
    results = search.cv_results_
    count = len(results["params"])
    order = list(range(count))
    limit = _settings["max_candidates"]
    ranks = next((results[k] for k in results if k.startswith("rank_test_")), None)
    if limit is not None and ranks is not None:
        order = sorted(order, key=lambda i: ranks[i])[:limit]
    run.log_params(candidates=count)
    now = time.time()
    fields = {k: v for k, v in host_fields().items() if k in ("user", "host", "platform")}
    for i in sorted(order):
        child = WholeRun(new_run_id(now), now, {
            "name": f"{run.name or type(search).__name__} candidate {i}", "parent": run.id, **fields,
        })
        child.params({**{k: plain(v) for k, v in results["params"][i].items()}, "candidate": i})
        row = {k: column[i] for k, column in results.items() if k != "params" and not k.startswith("param_")}
        child.metrics_at(0, numbers(row), now)
        child.write(cast(Store, run.store), now)
