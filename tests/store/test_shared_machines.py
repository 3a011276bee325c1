"""Three machines, one shared folder and one bucket: separate processes, each with its own
machine-local index, all writing at once. Nothing is lost, nothing is counted twice, and every
machine's index sees every run and record of the others."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbtrack

RUNS_EACH = 8
STEPS = 40

MACHINE = textwrap.dedent(
    f"""
    import json, sys, nbtrack
    from nbtrack.store.store import open_store
    folder, bucket, machine = sys.argv[1:4]
    stores = {{"folder": folder, "bucket": bucket}}
    written = {{"folder": [], "bucket": []}}
    for i in range({RUNS_EACH}):
        for where, url in stores.items():
            with nbtrack.start(f"{{machine}} run {{i}}", params={{"machine": machine, "i": i}}, store=url) as run:
                for step in range({STEPS}):
                    nbtrack.log(step=step, loss=1.0 / (step + 1))
                nbtrack.note(f"{{machine}} {{i}}")
            written[where].append(run.id)
            open_store(url).index.refresh()  # read while the other machines write
    print(json.dumps(written), flush=True)
    sys.stdin.readline()  # every machine has finished writing
    seen = {{}}
    for where, url in stores.items():
        seen[where] = {{s.id: [s.status, s.user, s.metrics["loss"].count, [n["text"] for n in s.notes]]
                        for s in open_store(url).index.states()}}
    print(json.dumps(seen), flush=True)
    """
)


def test_three_machines_write_one_folder_and_one_bucket_at_once(
    tmp_path: Path, child_env: dict[str, str], s3_server  # type: ignore[no-untyped-def]
) -> None:
    folder = str(tmp_path / "team-share" / "runs")
    bucket = s3_server.url()
    machines = ["m1", "m2", "m3"]
    procs = {
        name: subprocess.Popen(
            [sys.executable, "-c", MACHINE, folder, bucket, name],
            env=child_env | {"NBTRACK_INDEX_DIR": str(tmp_path / f"index-{name}"), "NBTRACK_USER": name},
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for name in machines
    }
    written: dict[str, dict[str, list[str]]] = {}
    for name, proc in procs.items():
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, proc.communicate(timeout=60)[1]
        written[name] = json.loads(line)
    outputs = {name: proc.communicate("go\n", timeout=120) for name, proc in procs.items()}
    for name, proc in procs.items():
        assert proc.returncode == 0, outputs[name][1]
    seen = {name: json.loads(out) for name, (out, _err) in outputs.items()}

    for where in ("folder", "bucket"):
        expected = {}
        for name in machines:
            ids = written[name][where]
            assert len(ids) == RUNS_EACH
            for i, run_id in enumerate(ids):
                expected[run_id] = ["finished", name, STEPS, [f"{name} {i}"]]
        assert len(expected) == RUNS_EACH * len(machines)  # no id written twice
        for name in machines:
            assert seen[name][where] == expected, f"{name}'s index of the {where}"

    # a fourth machine (this process, its own index) filters the shared bucket by user
    assert sorted(nbtrack.runs("user=m2", store=bucket)["id"]) == sorted(written["m2"]["bucket"])
    assert len(nbtrack.runs(store=folder)) == RUNS_EACH * len(machines)
