"""nbtrack's Jupyter server extension: the REST API under ``<base_url>nbtrack/api/``
(docs/rest-api.md) and checkpoints of notebooks on save.

Enabled on install by ``jupyter-config/server-config/nbtrack.json`` (installed into
``etc/jupyter/jupyter_server_config.d``); configured with ``c.NBTrack.*`` (see
``nbtrack.server.config.NBTrack``).
"""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

API_PREFIX = "nbtrack/api"


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "nbtrack.server"}]


def _raw_store_routes() -> list[tuple[str, type]]:
    """The team store's raw routes (``nbtrack.server.store_handlers``), when that module exists."""
    try:
        from nbtrack.server.store_handlers import HANDLERS
    except ImportError:
        return []
    return list(HANDLERS)


def _seed_session_kernels(serverapp: Any) -> None:
    """Kernels the server starts for notebook sessions get a hash seed of their own, which their
    runs record (``nbtrack.replay.fidelity.with_hash_seed``): wraps the session manager's
    ``get_kernel_env``, the environment jupyter_server gives each session's kernel."""
    from nbtrack.replay.fidelity import with_hash_seed

    sessions: Any = getattr(serverapp, "session_manager", None)
    kernel_env = getattr(sessions, "get_kernel_env", None)
    if kernel_env is None:  # a jupyter_server without it: kernels keep Python's random seed
        serverapp.log.warning("nbtrack: this jupyter_server gives kernels no environment to seed; "
                              "replays of its kernels will not know their PYTHONHASHSEED")
        return

    def seeded_kernel_env(*args: Any, **kwargs: Any) -> dict[str, str]:
        return with_hash_seed(kernel_env(*args, **kwargs))

    sessions.get_kernel_env = seeded_kernel_env


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from nbtrack.core.redact import redact_url
    from nbtrack.server.checkpoint import SaveCheckpointer
    from nbtrack.server.config import NBTrack
    from nbtrack.server.handlers import ROUTES
    from nbtrack.server.sweep_handlers import ROUTES as SWEEP_ROUTES

    nbtrack = NBTrack(parent=serverapp, root_dir=str(serverapp.root_dir))
    web_app = serverapp.web_app
    web_app.settings["nbtrack"] = nbtrack
    base = url_path_join(web_app.settings["base_url"], API_PREFIX)
    routes = ROUTES + SWEEP_ROUTES + _raw_store_routes()
    web_app.add_handlers(".*$", [(url_path_join(base, pattern), handler) for pattern, handler in routes])
    if nbtrack.kernel_hash_seed:
        _seed_session_kernels(serverapp)
    if nbtrack.checkpoint_on_save:
        nbtrack.checkpointer = SaveCheckpointer(nbtrack.open_store, nbtrack.root_dir, serverapp.log)
        serverapp.contents_manager.register_post_save_hook(nbtrack.checkpointer)
    serverapp.log.info("nbtrack: REST API at %s (store: %s)", base, redact_url(nbtrack.store_location))
