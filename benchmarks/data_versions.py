"""Data versions: a 1 GB folder of mixed files versioned, then versioned again after a 1% change,
by nbtrack (``nbtrack data add``) and by DVC (``dvc add``) in the same run.

The folder is generated (seeded): 60% in four large binary shards, 30% in 3,000 small binary
"images", 10% in ten CSV files. The 1% change: five 1 MB regions of one shard overwritten, 30
images replaced, 2 MB appended to one CSV. Both tools are timed as command-line processes on the
same folder (start-up included), one after the other, with the data in the page cache for both;
bytes added are measured on disk (nbtrack's store, DVC's cache). DVC 3 (``dvc add`` in a
``dvc init --no-scm`` repository, default cache type: copy) is installed from the package index
into its own venv (``benchmarks/.work/dvc-venv``) on first use; its figures are in the ``floor``
column, so ``nbtrack/floor`` is nbtrack's time over DVC's. Peak RSS: a child process versions one
1 GB file (streamed: never in memory). Quick mode: 20 MB and no DVC.
"""

from __future__ import annotations

import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import (
    WORK_DIR,
    Row,
    dir_bytes,
    lt,
    main,
    peers_enabled,
    run_isolated,
    scratch_dir,
)

NAME = "data_versions"
MB = 1 << 20
DVC_VENV = WORK_DIR / "dvc-venv"


def generate(root: Path, total: int, seed: int = 1) -> None:
    """The mixed folder: shards (60%), small images (30%), CSV files (10%)."""
    rng = random.Random(seed)
    (root / "shards").mkdir(parents=True)
    (root / "images").mkdir()
    (root / "tables").mkdir()
    for i in range(4):
        with open(root / "shards" / f"shard-{i}.bin", "wb") as fh:
            left = int(total * 0.15)
            while left > 0:
                fh.write(rng.randbytes(min(left, 8 * MB)))
                left -= 8 * MB
    image = max(int(total * 0.30) // 3000, 1024)
    for i in range(3000):
        (root / "images" / f"{i // 100:02d}").mkdir(exist_ok=True)
        (root / "images" / f"{i // 100:02d}" / f"img-{i:04d}.bin").write_bytes(rng.randbytes(image))
    for i in range(10):
        with open(root / "tables" / f"table-{i}.csv", "w") as fh:
            left = int(total * 0.01)
            while left > 0:
                rows = "".join(f"{rng.random():.6f},{rng.randint(0, 10**6)},{rng.choice('abcdef')}\n"
                               for _ in range(10_000))
                fh.write(rows)
                left -= len(rows)


def change_one_percent(root: Path, total: int, seed: int = 2) -> None:
    """Five regions of one shard overwritten, 30 images replaced, rows appended to one CSV."""
    rng = random.Random(seed)
    region = max(total // 1000, 4096)  # 5 x 0.1%
    shard = root / "shards" / "shard-1.bin"
    size = shard.stat().st_size
    with open(shard, "r+b") as fh:
        for k in range(5):
            fh.seek(size * (k + 1) // 7)
            fh.write(rng.randbytes(region))
    images = sorted((root / "images").rglob("*.bin"))
    for path in rng.sample(images, 30):
        path.write_bytes(rng.randbytes(path.stat().st_size))
    with open(root / "tables" / "table-3.csv", "a") as fh:
        left = total // 500  # 0.2%
        while left > 0:
            rows = "".join(f"{rng.random():.6f},{rng.randint(0, 10**6)},z\n" for _ in range(1000))
            fh.write(rows)
            left -= len(rows)


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {done.stderr[-800:]}")
    return seconds


def ensure_dvc(notes: list[str]) -> Path | None:
    """DVC's command in its own venv (installed from the package index on first use)."""
    dvc = DVC_VENV / "bin" / "dvc"
    if dvc.exists():
        return dvc
    try:
        subprocess.run([sys.executable, "-m", "venv", str(DVC_VENV)], check=True, capture_output=True)
        pip = [str(DVC_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run([*pip, "-U", "pip"], check=True, capture_output=True, timeout=600)
        subprocess.run([*pip, "dvc>=3"], check=True, capture_output=True, timeout=1200)
    except (subprocess.SubprocessError, OSError) as exc:
        notes.append(f"DVC not measured: it could not be installed ({str(exc)[:120]})")
        return None
    return dvc


def dvc_version(dvc: Path) -> str:
    done = subprocess.run([str(dvc), "--version"], capture_output=True, text=True)
    return done.stdout.strip()


def peak_rss_case(path: str, store: str, index_dir: str) -> dict[str, Any]:
    """Child: version one large file; peak RSS of this process (after the imports)."""
    os.environ["NBTRACK_INDEX_DIR"] = index_dir
    from nbtrack.api.data import store_data
    from nbtrack.store.store import open_store

    target = open_store(store)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.perf_counter()
    version = store_data(target, path, "one-large-file")
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"seconds": seconds, "peak": peak, "before": peak if peak < before else before,
            "bytes": version["bytes"]}


def measure(quick: bool = False) -> list[Row]:
    total = 20 * MB if quick else 1024 * MB
    size = "20 MB" if quick else "1 GB"
    notes: list[str] = []
    dvc = ensure_dvc(notes) if peers_enabled() and not quick else None
    with scratch_dir("nbtrack-bench-data-") as work:
        workspace = work / "ws"
        data = workspace / "data"
        generate(data, total)
        folder_bytes = dir_bytes(data)
        store = work / "nbtrack-store"
        env = {**os.environ, "NBTRACK_INDEX_DIR": str(work / "index"),
               "PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                           os.environ.get("PYTHONPATH")]))}
        nbtrack_add = [sys.executable, "-m", "nbtrack", "--store", str(store), "data", "add", str(data),
                       "--name", "bench"]
        dvc_env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
        if dvc is not None:
            _timed([str(dvc), "init", "--no-scm", "-q"], workspace, dvc_env)
        first = _timed(nbtrack_add, work, env)
        stored_first = dir_bytes(store)
        dvc_first = _timed([str(dvc), "add", "-q", "data"], workspace, dvc_env) if dvc else None
        cache = workspace / ".dvc" / "cache"
        dvc_cache_first = dir_bytes(cache) if dvc else None

        change_one_percent(data, total)
        changed_bytes = dir_bytes(data)
        second = _timed(nbtrack_add, work, env)
        added = dir_bytes(store) - stored_first
        dvc_second = _timed([str(dvc), "add", "-q", "data"], workspace, dvc_env) if dvc else None
        dvc_added = dir_bytes(cache) - dvc_cache_first if dvc and dvc_cache_first is not None else None
        if dvc:
            notes.append(f"floor column: {dvc_version(dvc)} `dvc add` (CLI, cache type copy) on the same folder")

        big = work / "one-large-file.bin"
        with open(big, "wb") as fh:
            rng = random.Random(3)
            for _ in range(total // (8 * MB)):
                fh.write(rng.randbytes(8 * MB))
        rss = run_isolated("benchmarks.data_versions:peak_rss_case", path=str(big), store=str(store / "rss"),
                           index_dir=str(work / "index"))
    pct = 100.0 * added / changed_bytes
    dvc_pct = 100.0 * dvc_added / changed_bytes if dvc_added is not None else None
    peak_mb = rss["peak"] / MB if rss else None
    note = "; ".join(notes)
    return [
        Row(NAME, f"version a {size} folder (first)", "s", first, floor=dvc_first, target="< 1.5x DVC",
            met=lt(first, 1.5 * dvc_first if dvc_first else None),
            note=f"{folder_bytes / MB:.0f} MB in 3,014 files; " + note),
        Row(NAME, "version again after a 1% change", "s", second, floor=dvc_second, target="< 1.5x DVC",
            met=lt(second, 1.5 * dvc_second if dvc_second else None)),
        Row(NAME, "bytes stored for a 1% change", "% of folder", pct, floor=dvc_pct, target="<= 2%",
            met=pct <= 2.0, note=f"nbtrack {added / MB:.1f} MB"
            + (f", DVC {dvc_added / MB:.1f} MB" if dvc_added is not None else "")),
        Row(NAME, f"peak RSS versioning one {size} file", "MB", peak_mb, target="< 300 MB",
            met=lt(peak_mb, 300.0),
            note=f"the whole process (Python, nbtrack, pandas-free); took {rss['seconds']:.1f} s" if rss else ""),
    ]


if __name__ == "__main__":
    main(measure)
