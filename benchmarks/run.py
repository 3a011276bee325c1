"""Run the whole benchmark suite and write benchmarks/RESULTS.md.

    python3 -m benchmarks            # from the repository root; sets up benchmarks/.work/venv
    python3 -m benchmarks --quick    # small sizes, prints the table, leaves RESULTS.md alone
    python3 -m benchmarks --only log_overhead,query

Standard library only: this process just orchestrates. Each benchmark module runs in a fresh
interpreter of the benchmark venv, in its own process group (killed as a whole afterwards, so
no peer service outlives it); modules in turn isolate each tool in its own child process.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import BENCH_DIR, ROOT, WORK_DIR, Row, markdown_table, notes_of, text_table

VENV = Path(os.environ.get("NBTRACK_BENCH_VENV", WORK_DIR / "venv"))
NOT_BENCHMARKS = {"run", "__main__", "__init__"}
VERSIONS_OF = ("nbtrack", "mlflow", "wandb", "pandas", "numpy", "psutil", "ipython")


def discover() -> list[str]:
    """Every ``benchmarks/*.py`` not starting with ``_`` and not run.py, sorted by name."""
    return sorted(
        p.stem
        for p in BENCH_DIR.glob("*.py")
        if not p.name.startswith("_") and p.stem not in NOT_BENCHMARKS
    )


# ---------------------------------------------------------------- venv


def _stamp() -> str:
    digest = hashlib.sha256()
    for path in (BENCH_DIR / "requirements.txt", ROOT / "pyproject.toml"):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_venv() -> Path:
    """Create/refresh the benchmark venv (peers + editable nbtrack); return its python."""
    python = VENV / "bin" / "python"
    stamp_file = VENV / ".nbtrack-bench-stamp"
    if python.exists() and stamp_file.exists() and stamp_file.read_text() == _stamp():
        return python
    print(f"setting up benchmark venv at {VENV} (a few minutes the first time)", file=sys.stderr)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    env = {**os.environ, "SKIP_JUPYTER_BUILDER": "1"}
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True, env=env)
    subprocess.run([*pip, "-r", str(BENCH_DIR / "requirements.txt")], check=True, env=env)
    subprocess.run([*pip, "-e", str(ROOT)], check=True, env=env)
    stamp_file.write_text(_stamp())
    return python


# ---------------------------------------------------------------- running


def run_module(python: Path, name: str, quick: bool, timeout: float) -> tuple[list[Row], str]:
    """Run one module in its own process group; return its rows and an error text ('' if ok)."""
    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    out_json = logs / f"{name}.json"
    out_json.unlink(missing_ok=True)
    cmd = [str(python), "-m", f"benchmarks.{name}", "--json", str(out_json)]
    cmd += ["--quick"] if quick else []
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NBTRACK_BENCH_WORK": str(WORK_DIR)}
    with open(logs / f"{name}.log", "w") as log:
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the module's group: leftover peer services
            proc.wait()
    if code is None:
        return [], f"timed out after {timeout:.0f} s (log: {logs / name}.log)"
    if code != 0 or not out_json.exists():
        tail = (logs / f"{name}.log").read_text(errors="replace").splitlines()[-10:]
        return [], f"exited {code}:\n    " + "\n    ".join(tail)
    return [Row.from_dict(d) for d in json.loads(out_json.read_text())], ""


# ---------------------------------------------------------------- machine description

_VERSIONS_SNIPPET = """
import json, importlib.metadata as m
out = {}
for name in %r:
    try:
        out[name] = m.version(name)
    except m.PackageNotFoundError:
        out[name] = None
print(json.dumps(out))
"""


def machine(python: Path, load_before: tuple[float, float, float]) -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "unknown",
    )
    mem_kb = next(
        (
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        0,
    )
    py = subprocess.run(
        [str(python), "-c", "import platform; print(platform.python_version())"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    versions = json.loads(
        subprocess.run(
            [str(python), "-c", _VERSIONS_SNIPPET % (VERSIONS_OF,)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        or "{}"
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": f"{platform.system()} {platform.release()}",
        "python": py,
        "packages": ", ".join(f"{k} {v}" for k, v in versions.items() if v),
        "commit": commit or "(uncommitted tree)",
        "load average": (
            f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after (1 min; "
            f"{os.cpu_count()} cores; other processes add noise to timings)"
        ),
    }


def results_markdown(rows: list[Row], info: dict[str, str], errors: dict[str, str]) -> str:
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python3 -m benchmarks` (see README.md). Figures are costs: lower is",
        "better. Ratios are computed from values measured in this same run:",
        "`mlflow/nbtrack` and `wandb/nbtrack` > 1 mean nbtrack is cheaper; `nbtrack/floor`",
        "is nbtrack's cost over the plain-Python floor.",
        "",
        *(f"- **{k}**: {v}" for k, v in info.items()),
        "",
        markdown_table(rows),
    ]
    notes = notes_of(rows)
    if notes:
        lines += ["", "## Notes", "", *notes]
    if errors:
        lines += ["", "## Benchmarks that failed", ""]
        lines += [f"- {name}: {err.splitlines()[0]}" for name, err in errors.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="small sizes; RESULTS.md untouched")
    parser.add_argument("--only", help="comma-separated module names (default: all)")
    parser.add_argument("--here", action="store_true", help="use this interpreter, no venv")
    parser.add_argument("--timeout", type=float, default=3600, help="per module, seconds")
    parser.add_argument("--results", type=Path, help="where to write RESULTS.md")
    parser.add_argument(
        "--reuse",
        metavar="NAMES",
        help="comma-separated modules (or 'all') whose rows from the last run "
        "(benchmarks/.work/logs/<name>.json) are reused instead of measured again",
    )
    args = parser.parse_args()

    names = discover()
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - set(names)
        if unknown:
            parser.error(f"unknown benchmarks: {', '.join(sorted(unknown))}; have {names}")
        names = [n for n in names if n in wanted]
    python = Path(sys.executable) if args.here else ensure_venv()

    load_before = os.getloadavg()
    rows: list[Row] = []
    errors: dict[str, str] = {}
    reused: list[str] = []
    for i, name in enumerate(names, 1):
        print(f"[{i}/{len(names)}] {name} ...", end=" ", file=sys.stderr, flush=True)
        started = time.perf_counter()
        previous = WORK_DIR / "logs" / f"{name}.json"
        if (
            args.reuse
            and (args.reuse == "all" or name in args.reuse.split(","))
            and previous.exists()
        ):
            got, err = [Row.from_dict(d) for d in json.loads(previous.read_text())], ""
            reused.append(name)
        else:
            got, err = run_module(python, name, args.quick, args.timeout)
        print(f"{time.perf_counter() - started:.0f} s{' FAILED' if err else ''}", file=sys.stderr)
        rows += got
        if err:
            errors[name] = err
    print(text_table(rows))
    for name, err in errors.items():
        print(f"\n{name} FAILED: {err}")
    results = args.results or (None if args.quick else BENCH_DIR / "RESULTS.md")
    if results is not None:
        info = machine(python, load_before)
        if reused:
            stamps = [(WORK_DIR / "logs" / f"{n}.json").stat().st_mtime for n in reused]
            span = "–".join(
                dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime("%H:%M")
                for t in (min(stamps), max(stamps))
            )
            info["reused"] = (
                f"rows of {', '.join(reused)} measured by earlier runs (finished {span} UTC); "
                "date and load above are of the run that assembled this file"
            )
        results.write_text(results_markdown(rows, info, errors))
        print(f"\nwrote {results}")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
