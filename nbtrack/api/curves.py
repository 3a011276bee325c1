"""Metrics by column, and curves as charts draw them.

A run's points are read into float64 arrays straight from the base64 columns of its ``metrics``
records (``numpy.frombuffer``: no Python object per point), so a run of 10 million points is a
few hundred MB of arrays, not gigabytes of floats.

A chart never needs every point: `run_curves` returns each metric's min/max envelope at the
resolution the chart draws (its width in pixels). A run that logged more points than a chart
draws stored its envelope when it finished (``core.series.MetricHistory.curves``); the index
knows the blob, so the curves of a long run cost one small blob read, not a parse of its log.
Other runs (short, crashed, imported) are reduced here from their columns, with the same
definition: each bucket of consecutive finite points keeps its lowest and its highest point.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from nbtrack.core.series import Curve, decode_curves
from nbtrack.core.text import encodable
from nbtrack.store.compaction import record_chunks, run_columns

if TYPE_CHECKING:
    from nbtrack.api.read import Run


def metrics_frame(records: Iterable[Mapping[str, Any]]) -> Any:  # -> pandas.DataFrame
    """Every logged point: columns key (categorical), step, time, value, in logging order."""
    import numpy as np
    import pandas as pd

    names: dict[str, int] = {}
    codes, steps, times, values = [], [], [], []
    for key, (s, t, v) in record_chunks(records):
        codes.append(np.full(len(v), names.setdefault(key, len(names)), dtype=np.int32))
        steps.append(s)
        times.append(t)
        values.append(v)

    def joined(parts: list[Any], dtype: Any) -> Any:
        return np.concatenate(parts) if parts else np.empty(0, dtype=dtype)

    return pd.DataFrame({
        "key": pd.Categorical.from_codes(joined(codes, np.int32), categories=[encodable(k) for k in names]),
        "step": joined(steps, np.float64), "time": joined(times, np.float64), "value": joined(values, np.float64),
    })


def envelope(steps: Any, times: Any, values: Any, buckets: int) -> Curve:
    """The finite points of a series reduced to `buckets` buckets of consecutive points (the last
    may be shorter), each kept as its lowest and its highest point, in order."""
    import numpy as np

    finite = np.isfinite(values) & np.isfinite(steps)
    index = np.flatnonzero(finite)
    count, skipped = len(index), len(values) - len(index)
    if count > 2 * buckets:
        width = -(-count // buckets)
        rows = -(-count // width)
        vals = values[index]
        low = np.full(rows * width, np.inf)
        high = np.full(rows * width, -np.inf)
        low[:count] = vals
        high[:count] = vals
        start = np.arange(rows) * width
        lows = start + low.reshape(rows, width).argmin(axis=1)
        highs = start + high.reshape(rows, width).argmax(axis=1)
        index = index[np.unique(np.concatenate([lows, highs]))]
    return Curve(steps[index].tolist(), times[index].tolist(), values[index].tolist(), count, skipped)


def run_curves(run: Run, buckets: int, keys: Iterable[str] | None = None) -> dict[str, Curve]:
    """Each metric of `run` (or those in `keys`) as a chart `buckets` pixels wide draws it."""
    sha = run.stored_curves
    if sha:
        try:
            return decode_curves(json.loads(run.store.get_blob(sha)), buckets, keys)
        except (OSError, ValueError, KeyError, TypeError):  # damaged or unreadable: from the log
            pass
    return {key: envelope(*series, buckets) for key, series in run_columns(run.records, keys).items()}
