"""Shared pieces of the benchmark suite: the Row record, isolation, timing and printing.

Every benchmark module ``benchmarks/<name>.py`` exposes ``measure(quick: bool = False) ->
list[Row]`` and ends with ``if __name__ == "__main__": main(measure)``. See README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from array import array
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
WORK_DIR = Path(os.environ.get("NBTRACK_BENCH_WORK", BENCH_DIR / ".work"))
MARKER = "@@NBTRACK-BENCH@@ "
PEERS = ("mlflow", "wandb")


@dataclasses.dataclass
class Row:
    """One figure of one benchmark. Figures are costs: lower is better."""

    benchmark: str
    figure: str
    unit: str
    nbtrack: float | None
    mlflow: float | None = None
    wandb: float | None = None
    floor: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""

    def ratio(self, peer: str) -> float | None:
        """``peer/nbtrack`` for a peer name, ``nbtrack/floor`` for ``"floor"``."""
        if peer == "floor":
            return _div(self.nbtrack, self.floor)
        return _div(getattr(self, peer), self.nbtrack)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _div(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def all_met(*checks: bool | None) -> bool | None:
    """Combine target checks; checks that could not be made (None) are skipped."""
    made = [c for c in checks if c is not None]
    return all(made) if made else None


def pick(result: dict[str, Any] | None, key: str, scale: float = 1.0) -> float | None:
    """``result[key] * scale``, or None when the tool was not measured."""
    if result is None or result.get(key) is None:
        return None
    return float(result[key]) * scale


def lt(value: float | None, bound: float | None) -> bool | None:
    """``value < bound``, or None when either side is unknown."""
    if value is None or bound is None:
        return None
    return value < bound


# ---------------------------------------------------------------- peers and isolation


def import_nbtrack() -> Any:
    """Import nbtrack; ImportError (reported as 'not measured') if its core API is absent."""
    import nbtrack

    if not hasattr(nbtrack, "start"):
        raise ImportError("nbtrack has no core API yet (nbtrack.start)", name="nbtrack")
    return nbtrack


class BenchError(RuntimeError):
    """A measurement failed (not: a peer is not installed)."""


def peers_enabled() -> bool:
    """Peers can be switched off with NBTRACK_BENCH_PEERS=0 (the smoke tests do)."""
    return os.environ.get("NBTRACK_BENCH_PEERS", "1") not in ("0", "false", "no")


def run_isolated(
    target: str, *, timeout: float = 1800, env: dict[str, str] | None = None, **kwargs: Any
) -> dict[str, Any] | None:
    """Run ``module:function(**kwargs)`` in a fresh interpreter and return its dict result.

    Returns None when the function raised ImportError for a peer (mlflow, wandb) or
    nbtrack: the figure is then reported as missing. Other failures raise BenchError.
    NBTRACK_BENCH_CHILD_TIMEOUT caps ``timeout`` (the smoke tests set it low).
    """
    cap = os.environ.get("NBTRACK_BENCH_CHILD_TIMEOUT")
    if cap:
        timeout = min(timeout, float(cap))
    cmd = [sys.executable, "-m", "benchmarks._worker", target, json.dumps(kwargs)]
    full_env = {**os.environ, "PYTHONPATH": _pythonpath(), **(env or {})}
    try:
        proc = subprocess.run(
            cmd, cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=timeout
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"{target} timed out after {timeout:.0f} s") from exc
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            result: dict[str, Any] = json.loads(line[len(MARKER) :])
            if "__missing__" in result:
                return None
            if "__error__" in result:
                raise BenchError(f"{target}: {result['__error__']}")
            return result
    tail = "\n".join((proc.stderr or proc.stdout).splitlines()[-15:])
    raise BenchError(f"{target} exited {proc.returncode} without a result:\n{tail}")


def _pythonpath() -> str:
    old = os.environ.get("PYTHONPATH")
    return f"{ROOT}{os.pathsep}{old}" if old else str(ROOT)


def peer(target: str, notes: list[str], **kwargs: Any) -> dict[str, Any] | None:
    """``run_isolated`` for a peer: disabled peers and peer failures give None + a note."""
    if not peers_enabled():
        return None
    try:
        return run_isolated(target, **kwargs)
    except BenchError as exc:
        notes.append(f"{target.rsplit(':', 1)[-1]} failed: {str(exc).splitlines()[0][:200]}")
        return None


@contextlib.contextmanager
def scratch_dir(prefix: str = "nbtrack-bench-") -> Iterator[Path]:
    """A temporary directory on the same disk as the work dir, removed afterwards."""
    base = Path(os.environ.get("NBTRACK_BENCH_TMP", tempfile.gettempdir()))
    base.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=base))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def dir_bytes(path: Path, exclude: Sequence[Path] = ()) -> int:
    """Apparent size in bytes of all regular files under ``path``."""
    skip = {p.resolve() for p in exclude}
    total = 0
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames[:] = [d for d in dirnames if (Path(dirpath) / d).resolve() not in skip]
        for name in filenames:
            with contextlib.suppress(OSError):
                total += (Path(dirpath) / name).lstat().st_size
    return total


# ---------------------------------------------------------------- timing


def timer_overhead_ns(n: int = 20_000) -> float:
    """Median cost of an empty ``t0 = clock(); t1 = clock()`` pair, subtracted from timings."""
    clock = time.perf_counter_ns
    out = array("q", bytes(8 * n))
    for i in range(n):
        t0 = clock()
        out[i] = clock() - t0
    return float(sorted(out)[n // 2])


def quantile(values: Sequence[float], q: float) -> float:
    """Nearest-rank quantile of ``values`` (0 <= q <= 1)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))])


def summarize_ns(samples: Sequence[int], overhead_ns: float) -> dict[str, float]:
    """Median and p99 of per-call timings, timer overhead removed, floored at 1 ns."""
    return {
        "median_ns": max(1.0, quantile(samples, 0.5) - overhead_ns),
        "p99_ns": max(1.0, quantile(samples, 0.99) - overhead_ns),
    }


# ---------------------------------------------------------------- memory


class Sampler:
    """Peak RSS of this process and its children, sampled in a daemon thread.

    Uses psutil; without it (the dev/CI env) only this process, read from /proc.
    """

    def __init__(self, interval: float = 0.005) -> None:
        try:
            import psutil
        except ImportError:
            psutil = None
        self._psutil: Any = psutil
        self._proc = psutil.Process() if psutil else None
        self.peak = self.rss()
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def rss(self) -> int:
        if self._proc is None:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        total = self._proc.memory_info().rss
        for child in self._proc.children(recursive=True):
            with contextlib.suppress(self._psutil.Error):
                total += child.memory_info().rss
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.peak = max(self.peak, self.rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())
        return self.peak


# ---------------------------------------------------------------- output


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    mag = abs(value)
    if mag >= 1000:
        return f"{value:,.0f}"
    if mag >= 100:
        return f"{value:.0f}"
    if mag >= 10:
        return f"{value:.1f}"
    if mag >= 0.01:
        return f"{value:.2f}"
    return f"{value:.2g}"


def fmt_ratio(value: float | None) -> str:
    return "-" if value is None else f"{fmt(value)}x"


HEADERS = (
    "benchmark",
    "figure",
    "unit",
    "nbtrack",
    "mlflow",
    "wandb",
    "floor",
    "mlflow/nbtrack",
    "wandb/nbtrack",
    "nbtrack/floor",
    "target",
    "met",
)


def table_cells(row: Row) -> list[str]:
    met = {True: "yes", False: "NO", None: "-"}[row.met]
    return [
        row.benchmark,
        row.figure,
        row.unit,
        fmt(row.nbtrack),
        fmt(row.mlflow),
        fmt(row.wandb),
        fmt(row.floor),
        fmt_ratio(row.ratio("mlflow")),
        fmt_ratio(row.ratio("wandb")),
        fmt_ratio(row.ratio("floor")),
        row.target,
        met,
    ]


def text_table(rows: Sequence[Row]) -> str:
    cells = [list(HEADERS), *(table_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    notes = notes_of(rows)
    return "\n".join(lines + (["", *notes] if notes else []))


def markdown_table(rows: Sequence[Row]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(esc(c) for c in table_cells(r)) + " |" for r in rows]
    return "\n".join(lines)


def notes_of(rows: Sequence[Row]) -> list[str]:
    seen: list[str] = []
    for row in rows:
        if row.note:
            line = f"- {row.benchmark} / {row.figure}: {row.note}"
            if line not in seen:
                seen.append(line)
    return seen


def main(measure: Callable[..., list[Row]]) -> None:
    """Standalone entry point of a benchmark module: print its table (or write JSON)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke tests")
    parser.add_argument("--json", metavar="PATH", help="write rows as JSON instead of a table")
    args = parser.parse_args()
    started = time.perf_counter()
    rows = measure(quick=args.quick)
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_dict() for r in rows], indent=1))
    else:
        print(text_table(rows))
        print(f"\n({time.perf_counter() - started:.1f} s)")
