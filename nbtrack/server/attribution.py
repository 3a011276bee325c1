"""Whose run it is, as this server knows it: the replay route's owner check and the owner fields
of the run summaries (``owner``, ``owner_verified``, ``owner_basis``, ``yours``, and in a run's
detail ``attribution``: who wrote each snapshot), which the lab's replay dialog shows.

The server trusts its own stamps (``nbtrack.store.attribution``): who created a run through the
team store routes, who wrote each annotation. A run written straight into the served folder (by
a kernel this server started, or by anyone with access to the folder) carries no stamp: its
writer is the file's owner, and it is the asker's only when that is the account this server
runs as and the run's own ``user`` is the server's user.
"""

from __future__ import annotations

from typing import Any

from nbtrack.core.identity import user_name
from nbtrack.store.attribution import Attribution, attribution, stamped_writer
from nbtrack.store.backend import TEAM_SERVER, Writer
from nbtrack.store.keys import log_key
from nbtrack.store.store import Store


def request_writer(user: Any) -> Writer:
    """The authenticated Jupyter user of a request, as stamps name it."""
    name = str(getattr(user, "username", None) or getattr(user, "name", None) or user)
    display = str(getattr(user, "display_name", None) or getattr(user, "name", None) or name)
    return Writer(name, TEAM_SERVER, display)


def _me(store: Store, user: Any) -> list[Writer | None]:
    return [request_writer(user), store.backend.identity()]


def run_attribution(store: Store, run_id: str, user: Any) -> Attribution:
    """Who wrote run `run_id` and each snapshot, and whether all of it is `user`'s."""
    backend = store.backend
    return attribution(backend, run_id, _me(store, user), user_name(), lambda key: stamped_writer(backend, key))


def owner_fields(store: Store, rows: list[dict[str, Any]], user: Any) -> list[dict[str, Any]]:
    """`rows` (run summaries) with who created each run, as far as the server can attest
    (the creator of the log; a run's detail also names every snapshot's author)."""
    me = {(w.name, w.basis) for w in _me(store, user) if w is not None}
    server_user = user_name()
    for row in rows:
        creator = stamped_writer(store.backend, log_key(row["id"]))
        declared = str(row.get("user") or "")
        row["owner"] = (creator.display or creator.name) if creator else declared
        row["owner_verified"] = creator is not None
        row["owner_basis"] = creator.basis if creator else "claimed by the run"
        row["yours"] = creator is not None and (creator.name, creator.basis) in me and (
            creator.basis == TEAM_SERVER or declared in ("", server_user))
    return rows
