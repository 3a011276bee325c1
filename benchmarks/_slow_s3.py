"""moto's S3 server, each request held `delay` seconds first (a real bucket's round trip).

``python -m benchmarks._slow_s3 HOST PORT SWITCH``: the delay in seconds is read from the file
SWITCH (0 when missing), at most every half second, so a benchmark fills the bucket at full speed
and then measures readers against a slow one.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple


def slowed(app: Any, switch: Path) -> Any:
    state = {"delay": 0.0, "read": 0.0}

    def handle(environ: dict[str, Any], start_response: Any) -> Any:
        now = time.monotonic()
        if now - state["read"] > 0.5:
            state["read"] = now
            try:
                state["delay"] = float(switch.read_text() or 0)
            except (OSError, ValueError):
                state["delay"] = 0.0
        if state["delay"]:
            time.sleep(state["delay"])
        return app(environ, start_response)

    return handle


if __name__ == "__main__":
    host, port, switch = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    run_simple(host, port, slowed(DomainDispatcherApplication(create_backend_app), switch), threaded=True)
