"""What a live chart costs the training loop, and how many updates it sends to the front end.

In a real ipykernel (started with jupyter_client, so widget messages are real comm messages
serialised onto iopub), a loop logs ``n`` steps (100k; quick: 5k) of 2 scalars, with and
without ``nbtrack.show_live()`` following the run, in two shapes:

- "bare": nothing but ``nbtrack.log()`` as fast as possible (the worst case: the chart's poller
  competes with the loop for the GIL);
- "50 µs step": a pure-Python step of about 50 µs before each ``log()`` (a very fast training
  step; real ones take milliseconds, where the chart's cost vanishes).

Each shape runs 3 times alternating with/without; figures are medians: the loop's time with
the chart as a multiple of its time without (floor = 1). Messages per second count every comm
message of the chart sent while the loop ran (deltas and the state updates that carry whole
series; the poller wakes every 0.2 s, so at most ~5 a second whatever the rate of ``log()``);
bytes per message are their JSON size. No peers: MLflow and W&B have no
notebook live chart to compare with. floor = the same loop without a chart.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

from benchmarks._common import Row, lt, main, pick, run_isolated, scratch_dir

NAME = "widget_stream"
MARK = "@@WIDGET-BENCH@@"

KERNEL_CODE = r"""
import json, time
import nbtrack
from nbtrack.widgets.live import show_live

nbtrack.auto_live(False)

def measure(n, live, spin, store):
    run = nbtrack.start("bench", store=store)
    sent = []
    if live:
        widget = show_live(interval=0.2)
        comm = widget.comm  # every message of the widget: deltas and state (whole series) alike
        original = comm.send
        def counting(data=None, metadata=None, buffers=None):
            sent.append((time.perf_counter(), len(json.dumps(data))))
            original(data=data, metadata=metadata, buffers=buffers)
        comm.send = counting
    log = nbtrack.log
    began = time.perf_counter()
    for i in range(n):
        if spin:
            sum(range(spin))
        log(step=i, loss=1.0 / (i + 1), acc=i / n)
    ended = time.perf_counter()
    nbtrack.finish()
    time.sleep(0.5 if live else 0)
    during = [s for s in sent if began <= s[0] <= ended]
    return {"seconds": ended - began, "messages": len(during), "total_messages": len(sent),
            "bytes": sum(b for _, b in sent)}

results = []
for rep in range(REPEATS):
    for spin in (0, SPIN):
        for live in ((False, True) if rep % 2 == 0 else (True, False)):
            results.append({"spin": spin, "live": live, **measure(N, live, spin, STORE)})
print(MARK + json.dumps(results))
"""


def _calibrate_spin(target_us: float = 50.0) -> int:
    import time

    spin = 1000
    began = time.perf_counter()
    for _ in range(200):
        sum(range(spin))
    per_call = (time.perf_counter() - began) / 200 * 1e6
    return max(1, int(spin * target_us / per_call))


def _kernel_case(n: int, repeats: int) -> dict[str, Any]:
    from jupyter_client.manager import start_new_kernel

    import nbtrack.widgets.live  # noqa: F401  (ImportError -> "not measured")
    spin = _calibrate_spin()
    with scratch_dir() as tmp:
        manager, client = start_new_kernel(kernel_name="python3", cwd=str(tmp))
        try:
            settings = f"N, SPIN, REPEATS, STORE, MARK = {n}, {spin}, {repeats}, {str(tmp / 'store')!r}, {MARK!r}\n"
            code = settings + KERNEL_CODE
            chunks: list[str] = []

            def on_output(msg: dict[str, Any]) -> None:
                if msg["msg_type"] == "stream":
                    chunks.append(msg["content"]["text"])
                elif msg["msg_type"] == "error":
                    chunks.append("ERROR " + "\n".join(msg["content"]["traceback"]))

            client.execute_interactive(code, timeout=1800, output_hook=on_output)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    text = "".join(chunks)
    if MARK not in text:
        raise RuntimeError(f"the kernel printed no result: {text[-2000:]}")
    results = json.loads(text.split(MARK, 1)[1].strip().splitlines()[0])
    out: dict[str, Any] = {}
    for spin_name, is_spin in (("bare", False), ("step", True)):
        pick_runs = [r for r in results if bool(r["spin"]) == is_spin]
        base = statistics.median(r["seconds"] for r in pick_runs if not r["live"])
        live_runs = [r for r in pick_runs if r["live"]]
        with_chart = statistics.median(r["seconds"] for r in live_runs)
        out[f"{spin_name}_base_s"] = base
        out[f"{spin_name}_ratio"] = with_chart / base
        if min(r["seconds"] for r in live_runs) >= 1.0:  # a rate needs a loop of a second or more
            out[f"{spin_name}_msgs_per_s"] = statistics.median(r["messages"] / r["seconds"] for r in live_runs)
        out[f"{spin_name}_bytes_per_msg"] = statistics.median(
            r["bytes"] / max(r["total_messages"], 1) for r in live_runs
        )
    return out


def measure(quick: bool = False) -> list[Row]:
    n = 5_000 if quick else 100_000
    repeats = 1 if quick else 3
    result = run_isolated("benchmarks.widget_stream:_kernel_case", n=n, repeats=repeats)
    rows = []
    for shape, label in (("bare", "bare log() loop"), ("step", "loop with 50 µs steps")):
        ratio = pick(result, f"{shape}_ratio")
        rate = pick(result, f"{shape}_msgs_per_s")
        base = pick(result, f"{shape}_base_s")
        per_step = f"{base * 1e6 / n:.1f} µs a step" if base else "-"
        rows.append(Row(NAME, f"loop time with live chart, {label}", "×", ratio, floor=1.0,
                        target="< 1.10" if shape == "step" else "",
                        met=lt(ratio, 1.10) if shape == "step" else None,
                        note=f"{n:,} steps × 2 scalars in a real ipykernel; floor = the loop without a "
                             f"chart: {base or 0:.3f} s ({per_step}); median of {repeats} alternating runs"))
        rows.append(Row(NAME, f"front-end messages/s, {label}", "msg/s", rate, target="≤ 10/s", met=lt(rate, 10.5),
                        note=f"{pick(result, f'{shape}_bytes_per_msg') or 0:.0f} B per message (JSON); "
                             "not measured when the loop ran under 1 s"))
    return rows


if __name__ == "__main__":
    main(measure)
