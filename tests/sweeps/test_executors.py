"""Which executor a sweep gets, without starting one: `$NBTRACK_DASK_SCHEDULER` names the cluster
when no --cluster is given, `--workers` keeps a sweep local, and a store on this machine's disk is
refused before any connection (tests/sweeps/test_dask.py refuses it against a real cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbtrack.sweeps.executors import ExecutorError, connect


def test_the_environment_names_the_cluster_unless_local_workers_are_asked(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Path) -> None:
    monkeypatch.setenv("NBTRACK_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    with pytest.raises(ExecutorError, match=r"cluster at tcp://127\.0\.0\.1:9: the store .* own disk"):
        connect(None, None, str(tmp_path / "store"))
    pool = connect(None, 2, str(tmp_path / "store"))
    try:
        assert pool.name == "local" and pool.slots() == 2
    finally:
        pool.close()
    with pytest.raises(ExecutorError, match="not both"):
        connect("tcp://127.0.0.1:9", 2, "s3://bucket/runs")
