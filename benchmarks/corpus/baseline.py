"""Baseline of the corpus: run every notebook twice with plain papermill and compare.

For each notebook in ``manifest.json`` this runs ``papermill IN OUT -k python3`` twice (no
nbtrack anywhere), records whether it ran to completion, its wall-clock seconds, and which
code cells gave different outputs in the two executions, with a best guess of why. That is
what later defines a *false difference*: nbtrack reporting a difference in a cell where two
plain executions agree. It also detects the traits visible in the outputs (figures, HTML
tables, stderr, widgets, large outputs, tolerated exceptions) and writes everything back
into ``manifest.json`` and the summary block of ``README.md``.

    .venv/bin/python benchmarks/corpus/baseline.py                 # all notebooks
    .venv/bin/python benchmarks/corpus/baseline.py --subset fast   # the fast subset
    .venv/bin/python benchmarks/corpus/baseline.py --only 03_,17_  # by file-name prefix
    .venv/bin/python benchmarks/corpus/baseline.py --summary       # only re-render summary

Run it in a venv with ``requirements.txt`` installed, on an otherwise quiet machine (the
seconds are wall-clock). Executed copies go to ``.cache/baseline/`` (git-ignored).

The comparison (``compare``/``outputs_of``) is importable: a fidelity benchmark can use
the same notion of "same output" for original vs replay.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "manifest.json"
README = HERE / "README.md"
RUNS = HERE / ".cache" / "baseline"
LARGE = 512 * 1024  # bytes of one output (as stored in the .ipynb) counted as "large"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


# --------------------------------------------------------------------------- execute


def _children_cpu() -> float:
    """CPU seconds of finished child processes (papermill and the kernel it reaped): unlike
    wall-clock seconds, hardly changed by other work on the machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_papermill(notebook: Path, out: Path, timeout: float) -> dict:
    """Plain papermill in a fresh working folder.

    Returns exit code, seconds and error tail. papermill 2.x exits 1 when any cell has an
    error output, even one in a cell tagged ``raises-exception`` that nbclient let run on;
    ``completed`` below therefore reads the executed notebook instead of trusting the exit
    code alone."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    bindir = str(Path(sys.executable).parent)
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    with tempfile.TemporaryDirectory(prefix="corpus-run-") as cwd:
        cmd = [sys.executable, "-m", "papermill", str(notebook), str(out), "-k", "python3",
               "--cwd", cwd, "--no-progress-bar"]
        start = time.perf_counter()
        cpu_before = _children_cpu()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # papermill and the kernel it started
            proc.communicate()
            return {"exit": None, "seconds": time.perf_counter() - start,
                    "error": f"timeout after {timeout:.0f} s"}
        seconds = time.perf_counter() - start
    return {"exit": proc.returncode, "seconds": seconds, "cpu": _children_cpu() - cpu_before,
            "error": "" if proc.returncode == 0 else err[-2000:]}


def completed(run: dict, out: Path) -> bool:
    """Every code cell ran, and every error output is in a cell tagged raises-exception."""
    if run["exit"] is None or not out.exists():
        return False
    if run["exit"] == 0:
        return True
    nb = json.loads(out.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code" or not _text(cell["source"]).strip():
            continue
        if cell.get("execution_count") is None:
            return False
        tolerated = "raises-exception" in cell.get("metadata", {}).get("tags", [])
        if any(o["output_type"] == "error" for o in cell.get("outputs", [])) and not tolerated:
            return False
    return True


# --------------------------------------------------------------------------- compare


def _text(value) -> str:
    return value if isinstance(value, str) else "".join(value)


def outputs_of(cell: dict) -> dict[str, str]:
    """One cell's outputs as comparable parts: stream text per stream, each mime type
    (images as a digest of their bytes), errors. Parts that are equal compare equal."""
    parts: dict[str, list[str]] = {}
    for out in cell.get("outputs", []):
        kind = out["output_type"]
        if kind == "stream":
            parts.setdefault(out["name"], []).append(_text(out["text"]))
        elif kind in ("display_data", "execute_result"):
            for mime, value in out.get("data", {}).items():
                if mime.startswith("image/") and mime != "image/svg+xml":
                    raw = base64.b64decode(_text(value))
                    value = "sha256:" + hashlib.sha256(raw).hexdigest()
                elif not isinstance(value, (str, list)):
                    value = json.dumps(value, sort_keys=True)
                parts.setdefault(mime, []).append(_text(value))
        elif kind == "error":
            parts.setdefault("error", []).append(
                out["ename"] + ": " + out["evalue"] + "\n" + "\n".join(out.get("traceback", [])))
    # streams are concatenated per stream name, as a reader sees them
    return {k: ("" if k in ("stdout", "stderr") else "\n--\n").join(v) for k, v in parts.items()}


_MASKS: list[tuple[str, re.Pattern[str], str]] = [
    # warnings name the cell's temporary file, which holds the kernel's pid
    ("kernel-temp-path", re.compile(r"/tmp/ipykernel_\d+/\d+\.py"), "/tmp/ipykernel_PID/CELL.py"),
    ("memory-address", re.compile(r"0x[0-9a-fA-F]{6,}"), "0x?"),
    ("object-ids", re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                              r"|\b[0-9a-f]{32}\b|id=\"[^\"]*\"|sk-container-id-\d+|sk-estimator-id-\d+"
                              r"|#sk-[\w-]+|/tmp/[\w./-]+|\bT_[0-9a-f]{5}\w*"), "ID"),
    ("dates", re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4}\b"
                         r"|\b\d{4}-\d\d-\d\d[ T]\d\d:\d\d(?::\d\d(?:\.\d+)?)?\b"
                         r"|\b\d\d:\d\d:\d\d\b"), "DATE"),
    ("timing", re.compile(r"(?i)\d+(?:\.\d+)?(?:e[-+]?\d+)?\s*(?:s|sec|secs|seconds|ms|µs|us|ns|"
                          r"min|minutes|it/s|s/it)\b(?:\s*±\s*\d+(?:\.\d+)?\s*\w+)?"
                          r"|\d+ loops?\b|\d+(?:\.\d+)?(?=\s*(?:s|sec)\b)"
                          r"|(?i:(?:time|elapsed|took|duration|speed|latency)"
                          r"[^\n\d]{0,40})\d+(?:\.\d+)?(?:e[-+]?\d+)?"
                          r"|\[\d\d:\d\d<\d\d:\d\d"), "T"),
]

_TIMING_CODE = re.compile(r"\btime\.(?:time|perf_counter|process_time|monotonic)\b|\bperf_counter\("
                          r"|%%?timeit|%%?time\b|\btimeit\b|\bdatetime\.now\(|\btoday\(\)"
                          r"|\bstrftime\(|fit_time|score_time|\btime\(\)|default_timer|progress=True")


def _distance(a: str, b: str) -> int:
    """How many words the two texts do not share (as multisets)."""
    ca, cb = Counter(re.findall(r"\S+", a)), Counter(re.findall(r"\S+", b))
    return sum(((ca - cb) + (cb - ca)).values())


def _residual(code: str, earlier: str, notebook_random: bool) -> str:
    """The cause of a difference no mask explains (or of an image, which has no text).

    ``code`` is the cell's own source, ``earlier`` the source of the cells before it:
    a cell that times itself gives ``timing``; else a notebook that draws without a seed
    gives ``randomness``; else timings taken earlier and shown here (a table or a figure
    of times) give ``timing``; else ``unknown``."""
    if _TIMING_CODE.search(code):
        return "timing"
    if notebook_random:
        return "randomness"
    if _TIMING_CODE.search(earlier):
        return "timing"
    return "unknown"


def _causes(a: str, b: str, code: str, earlier: str, notebook_random: bool) -> list[str]:
    """Best guess of why two texts of one output part differ: each mask that removes part
    of the difference is a cause; what no mask explains is ordering or ``_residual``."""
    causes = []
    for name, pattern, repl in _MASKS:
        ma, mb = pattern.sub(repl, a), pattern.sub(repl, b)
        if ma == mb or _distance(ma, mb) < _distance(a, b):
            causes.append(name)
        a, b = ma, mb
        if a == b:
            return causes
    if sorted(a.splitlines()) == sorted(b.splitlines()):
        return [*causes, "ordering"]
    residual = _residual(code, earlier, notebook_random)
    return causes if residual in causes else [*causes, residual]


def compare(first: dict, second: dict, notebook_random: bool) -> list[dict]:
    """Code cells whose outputs differ between two executed copies of one notebook."""
    diffs = []
    code_cells = [(c, d) for c, d in zip(first["cells"], second["cells"]) if c["cell_type"] == "code"]
    earlier = ""
    for index, (a_cell, b_cell) in enumerate(code_cells):
        code = _text(a_cell["source"])
        a, b = outputs_of(a_cell), outputs_of(b_cell)
        if a != b:
            parts, causes = [], set()
            for key in sorted(set(a) | set(b)):
                if a.get(key) == b.get(key):
                    continue
                parts.append(key)
                if key.startswith("image/") and key != "image/svg+xml":
                    causes.add(_residual(code, earlier, notebook_random))
                elif key == WIDGET_VIEW:
                    causes.add("object-ids")
                else:
                    causes.update(_causes(a.get(key, ""), b.get(key, ""), code, earlier,
                                          notebook_random))
            diffs.append({"code_cell": index, "id": a_cell.get("id"), "parts": parts,
                          "cause": sorted(causes)})
        earlier += code + "\n"
    return diffs


# --------------------------------------------------------------------------- traits


def output_traits(nb: dict) -> tuple[list[str], int]:
    """Traits visible in one executed copy, and the size of its largest output in bytes."""
    traits: set[str] = set()
    largest = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = cell.get("metadata", {}).get("tags", [])
        for out in cell.get("outputs", []):
            largest = max(largest, len(json.dumps(out)))
            kind = out["output_type"]
            if kind == "stream":
                traits.add("stderr" if out["name"] == "stderr" else "stdout")
            elif kind == "error":
                traits.add("raises-exception" if "raises-exception" in tags else "error")
            data = out.get("data", {})
            if "image/png" in data:
                traits.add("figures")
            if "image/svg+xml" in data:
                traits.add("svg")
            if "<table" in _text(data.get("text/html", "")):
                traits.add("html-tables")
            elif "text/html" in data:
                traits.add("html")
            if WIDGET_VIEW in data:
                traits.add("widgets")
            if "text/latex" in data:
                traits.add("latex")
    if {"stdout", "stderr"} <= traits:
        traits.add("mixed-streams")
    if largest > LARGE:
        traits.add("large-output")
    return sorted(traits), largest


RANDOM_TRAITS = {"unseeded-numpy", "unseeded-random", "sklearn-no-random-state", "unseeded-rng"}


def apply_known_causes(record: dict, diffs: list[dict]) -> list[dict]:
    """Causes verified by hand (manifest ``known_causes``) replace the guess ``unknown``."""
    known = {k["code_cell"]: k["cause"] for k in record.get("known_causes", [])}
    for diff in diffs:
        if diff["code_cell"] in known:
            diff["cause"] = sorted((set(diff["cause"]) - {"unknown"}) | {known[diff["code_cell"]]})
    return diffs


def recompare(record: dict) -> dict | None:
    """The comparison again, from the executed copies of the last measurement."""
    stem = Path(record["file"]).stem
    runs = [RUNS / f"{stem}.run{i}.ipynb" for i in (1, 2)]
    result = dict(record.get("baseline") or {})
    if not result.get("completed") or not all(p.exists() for p in runs):
        return None
    first, second = (json.loads(p.read_text()) for p in runs)
    random = bool(RANDOM_TRAITS & set(record.get("traits", [])))
    diffs = apply_known_causes(record, compare(first, second, random))
    traits, largest = output_traits(first)
    traits = sorted(set(traits) | {c for d in diffs for c in d["cause"]} - {"randomness", "unknown"})
    result.update({"deterministic": not diffs, "differing_cells": diffs,
                   "output_traits": traits, "largest_output_bytes": largest})
    return result


def measure(record: dict, timeout: float) -> dict:
    notebook = HERE / record["file"]
    runs = []
    for i in (1, 2):
        out = RUNS / f"{notebook.stem}.run{i}.ipynb"
        run = run_papermill(notebook, out, timeout)
        run["completed"] = completed(run, out)
        run["out"] = out
        runs.append(run)
        print(f"  run {i}: {'ok' if run['completed'] else 'FAILED'} (exit {run['exit']}) "
              f"{run['seconds']:6.1f} s", flush=True)
        if not run["completed"]:
            break
    result = {
        "completed": len(runs) == 2 and all(r["completed"] for r in runs),
        "load_average": round(os.getloadavg()[0], 1),  # of the machine, after the runs
        "papermill_exit": [r["exit"] for r in runs],
        "seconds": [round(r["seconds"], 1) for r in runs],
        "cpu_seconds": [round(r.get("cpu", 0.0), 1) for r in runs],
    }
    if not result["completed"]:
        result["error"] = runs[-1]["error"][-600:]
        return result
    first = json.loads(runs[0]["out"].read_text())
    second = json.loads(runs[1]["out"].read_text())
    random = bool(RANDOM_TRAITS & set(record.get("traits", [])))
    diffs = apply_known_causes(record, compare(first, second, random))
    traits, largest = output_traits(first)
    traits = sorted(set(traits) | {c for d in diffs for c in d["cause"]} - {"randomness", "unknown"})
    result.update({
        "deterministic": not diffs,
        "differing_cells": diffs,
        "output_traits": traits,
        "largest_output_bytes": largest,
    })
    return result


# --------------------------------------------------------------------------- summary


def summary(manifest: dict) -> str:
    records = manifest["notebooks"]
    measured = [r for r in records if "baseline" in r]
    done = [r for r in measured if r["baseline"]["completed"]]
    det = [r for r in done if r["baseline"]["deterministic"]]
    total = sum(r["seconds"] for r in done)
    fast = [r for r in records if r.get("subset") == "fast"]
    fast_total = sum(r.get("seconds", 0) for r in fast)
    traits = Counter(t for r in records for t in r["traits"])
    causes = Counter(c for r in done for d in r["baseline"]["differing_cells"] for c in d["cause"])
    cells = sum(len(r["baseline"]["differing_cells"]) for r in done)
    code_cells = sum(r["cells"]["code"] for r in records)
    lines = [
        f"- notebooks: **{len(records)}** from {len({r['source']['package'] for r in records})} "
        f"source distributions; {code_cells} code cells, "
        f"{sum(r['cells']['markdown'] for r in records)} markdown cells, "
        f"{sum(r['cells'].get('raw', 0) for r in records)} raw cells",
        f"- run to completion offline with plain papermill: **{len(done)} / {len(measured)}**",
        f"- total plain execution time: **{total:.0f} s** wall-clock (one run each, the faster "
        f"of the two; median "
        f"{sorted(r['seconds'] for r in done)[len(done) // 2]:.1f} s, max "
        f"{max(r['seconds'] for r in done):.1f} s)" if done else "- total plain execution time: n/a",
        f"- identical outputs in two plain executions: **{len(det)} / {len(done)}**; "
        f"{cells} code cells differ in the other {len(done) - len(det)}",
        "- causes of those differing cells (best guess, a cell can have several): "
        + ", ".join(f"{k} {v}" for k, v in causes.most_common()),
        f"- CPU time of those executions (papermill + kernel, less sensitive to load): "
        f"{sum(r.get('cpu_seconds', 0) for r in done):.0f} s",
        f"- `fast` subset: {len(fast)} notebooks, {fast_total:.0f} s of plain execution "
        f"({sum(r.get('cpu_seconds', 0) for r in fast):.0f} s CPU)",
        "",
        "| trait | notebooks |",
        "| --- | --- |",
    ] + [f"| `{k}` | {v} |" for k, v in sorted(traits.items())]
    lines += ["", "| notebook | source | s (CPU s) | cells code/md | differing cells (cause) | traits |",
              "| --- | --- | --- | --- | --- | --- |"]
    for r in records:
        b = r.get("baseline", {})
        if not b:
            status = "not measured"
        elif not b["completed"]:
            status = "**did not complete**"
        else:
            found = Counter(c for d in b["differing_cells"] for c in d["cause"])
            n = len(b["differing_cells"])
            status = "none" if not n else f"{n} ({', '.join(sorted(found))})"
        fast = " (fast)" if r.get("subset") == "fast" else ""
        lines.append(
            f"| `{Path(r['file']).name}`{fast} | {r['source']['package']} {r['source']['version']}: "
            f"`{r['source']['path']}` | {r.get('seconds', '')} ({r.get('cpu_seconds', '-')}) | "
            f"{r['cells']['code']}/"
            f"{r['cells']['markdown']} | {status} | {', '.join(r['traits'])} |")
    return "\n".join(lines)


def write_summary(manifest: dict) -> None:
    text = summary(manifest)
    print(text)
    if README.exists():
        readme = README.read_text()
        new = re.sub(r"(<!-- summary:start -->\n).*?(<!-- summary:end -->)",
                     lambda m: m.group(1) + text + "\n" + m.group(2), readme, flags=re.S)
        README.write_text(new)


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subset", help="only notebooks of this subset (e.g. fast)")
    parser.add_argument("--only", help="comma-separated file-name prefixes")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per execution")
    parser.add_argument("--summary", action="store_true", help="only re-render the summary")
    parser.add_argument("--recompare", action="store_true",
                        help="no executions: compare the executed copies of the last run again")
    args = parser.parse_args()

    manifest = json.loads(MANIFEST.read_text())
    if not args.summary:
        for record in manifest["notebooks"]:
            name = Path(record["file"]).name
            if args.subset and record.get("subset") != args.subset:
                continue
            if args.only and not any(name.startswith(p) for p in args.only.split(",")):
                continue
            print(name, flush=True)
            if args.recompare:
                result = recompare(record)
                if result is None:
                    continue
            else:
                result = measure(record, args.timeout)
            record["seconds"] = min(result["seconds"])
            if result.get("cpu_seconds"):
                record["cpu_seconds"] = min(result["cpu_seconds"])
            record["output_traits"] = result.pop("output_traits", record.get("output_traits", []))
            record["largest_output_bytes"] = result.pop("largest_output_bytes", None)
            base = set(record["traits"]) - {"deterministic"}
            if result.get("deterministic"):
                base.add("deterministic")
            record["traits"] = sorted(base | set(record["output_traits"]))
            record["baseline"] = result
            MANIFEST.write_text(json.dumps(manifest, indent=1) + "\n")
    write_summary(manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
