"""Replay: re-execute a run's notebook with papermill and report whether it reproduced.

    import nbtrack
    result = nbtrack.replay("01jd3k8q2x", parameters={"data_path": "new/data"})
    result.report.verdict     # "reproduced", "reproduced within tolerance", "differs" or "failed"
    result.run_id             # the replay: a new run with replay_of = the original

``nbtrack.replay`` is both this package and the verb. Importing any ``nbtrack.replay.*`` module
makes Python bind the package as the attribute ``nbtrack.replay``, hiding the lazily exported
function; so the package itself is callable and calls `replay`.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from nbtrack.core.lazy import lazy_exports

# Loaded on first use: the CLI imports this package for its command, and papermill/nbformat
# take seconds to import.
_EXPORTS = {
    "EnvironmentBuildError": "nbtrack.replay.envs",
    "ReplayRefused": "nbtrack.replay.runner",
    "ReplayResult": "nbtrack.replay.runner",
    "Report": "nbtrack.core.reproduce",
    "owner_warning": "nbtrack.replay.runner",
    "replay": "nbtrack.replay.runner",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from nbtrack.replay.runner import replay

        return replay(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
