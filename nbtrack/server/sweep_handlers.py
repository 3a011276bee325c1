"""The sweep routes under ``<base_url>nbtrack/api/`` (docs/rest-api.md): what a view reads to show
sweeps and their progress. Authenticated and authorized like every route (``NBTrackHandler``);
an unknown sweep is a 404 through the one error mapping."""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from nbtrack.server.handlers import NBTrackHandler
from nbtrack.store.store import Store
from nbtrack.store.sweeps import SweepRecord, resolve_sweep, sweep_ids
from nbtrack.sweeps.progress import progress

MAX_LISTED = 200


def sweep_progress(store: Store, sweep_id: str) -> dict[str, Any]:
    """``GET sweeps/ID``: ``SweepProgress``."""
    return progress(SweepRecord.of(store, resolve_sweep(store, sweep_id)).state())


def sweep_list(store: Store, limit: int) -> dict[str, Any]:
    """``GET sweeps``: the newest sweeps, each without its trials."""
    ids = sweep_ids(store)
    listed = []
    for sweep_id in reversed(ids[-limit:]):
        summary = progress(SweepRecord.of(store, sweep_id).state())
        summary.pop("trials")
        listed.append(summary)
    return {"total": len(ids), "sweeps": listed}


class SweepsHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        limit = self.int_arg("limit", 50, minimum=1) or 50
        self.reply(await self.work(sweep_list, self.nbtrack.open_store(), min(limit, MAX_LISTED)))


class SweepHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, sweep_id: str) -> None:
        self.reply(await self.work(sweep_progress, self.nbtrack.open_store(), sweep_id))


ROUTES: list[tuple[str, type[NBTrackHandler]]] = [
    (r"sweeps/?", SweepsHandler),
    (r"sweeps/(?P<sweep_id>[^/]+)/?", SweepHandler),
]
