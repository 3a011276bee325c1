"""Child-process entry: ``python -m benchmarks._worker module:function JSON_KWARGS``.

Prints the function's dict result as one marker line on stdout (see ``_common.run_isolated``).
An ImportError of nbtrack or a peer is reported as ``{"__missing__": name}``.
"""

from __future__ import annotations

import importlib
import json
import sys
import traceback

from benchmarks._common import MARKER, PEERS

OPTIONAL = (*PEERS, "nbtrack")


def _run(target: str, kwargs_json: str) -> dict[str, object]:
    module_name, func_name = target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        result: dict[str, object] = func(**json.loads(kwargs_json))
    except ImportError as exc:
        if (exc.name or "").split(".")[0] in OPTIONAL:
            return {"__missing__": exc.name}
        raise
    return result


def main() -> None:
    try:
        result = _run(sys.argv[1], sys.argv[2])
    except Exception as exc:
        traceback.print_exc()
        result = {"__error__": f"{type(exc).__name__}: {exc}"}
    sys.stdout.flush()
    print(MARKER + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
