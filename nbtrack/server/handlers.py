"""REST handlers under ``<base_url>nbtrack/api/`` (docs/rest-api.md): parse, call one function
in a worker thread, answer JSON. Every method needs an authenticated user authorized for the
``nbtrack`` resource (403 otherwise); POST and PATCH also need the XSRF token unless the request
is token-authenticated (JupyterHandler's check). Errors are mapped to statuses in one place."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.ioloop import IOLoop

from nbtrack.api import Run, get_run
from nbtrack.core import records
from nbtrack.core.checks import check_identifier, too_deep
from nbtrack.core.ids import AmbiguousId, UnknownRun
from nbtrack.core.values import json_ready
from nbtrack.server import payloads
from nbtrack.server.attribution import owner_fields, run_attribution
from nbtrack.server.config import StoreUnavailable
from nbtrack.server.jobs import Busy
from nbtrack.server.paths import (
    NotFound,
    artifact_name,
    folder_inside_root,
    inside_root,
    notebook_matcher,
    relative_path,
)

T = TypeVar("T")
RUN = r"(?P<run_id>[^/]+)"
RUN_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")  # an id or a prefix of one: nothing a path is made of
MAX_REPORT_RUNS = 50
MAX_NOTE = 100_000
MAX_TAGS = 100
MAX_TAG = 200
MAX_CHART_POINTS = 20_000  # widest envelope a client may ask for (pixels)
MAX_INT = 2**53  # query numbers past this are refused (a byte offset, a page offset)
MAX_JSON_DEPTH = 64  # request bodies nest no deeper

# The one error mapping: exceptions from the core and from request parsing -> HTTP statuses.
# (FilterError and PathRejected are ValueErrors.)
STATUS_OF: tuple[tuple[type[BaseException], int], ...] = (
    (UnknownRun, 404),
    (AmbiguousId, 404),
    (NotFound, 404),
    (FileNotFoundError, 404),
    (Busy, 409),
    (ValueError, 400),
    (StoreUnavailable, 503),
)


def http_error(exc: BaseException) -> web.HTTPError | None:
    """The HTTP error an exception stands for (None: a bug, answered 500)."""
    if isinstance(exc, web.HTTPError):
        return None
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            text = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
            return web.HTTPError(status, text)
    return None


class NBTrackHandler(APIHandler):
    auth_resource = "nbtrack"

    @property
    def nbtrack(self) -> Any:  # nbtrack.server.config.NBTrack
        return self.settings["nbtrack"]

    async def work(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """`fn(*args, **kwargs)` in the extension's worker threads: store I/O never blocks the
        server's event loop."""
        return await IOLoop.current().run_in_executor(self.nbtrack.executor, partial(fn, *args, **kwargs))

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, web.HTTPError):  # bad input, not found, not allowed: one line
            status, message = value.status_code, value.log_message or value.reason or ""
        elif value is not None and http_error(value) is not None:
            status, message = http_error(value).status_code, str(value)  # type: ignore[union-attr]
        else:
            super().log_exception(typ, value, tb)  # a bug: the traceback
            return
        # (user text stays an argument: a "%" in it is not a format)
        self.log.info("nbtrack: %s %s -> %d %s", self.request.method, self.request.path, status, message)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc_info = kwargs.get("exc_info")
        mapped = http_error(exc_info[1]) if exc_info else None
        if mapped is not None:
            self.set_status(mapped.status_code)
            status_code, kwargs["exc_info"] = mapped.status_code, (type(mapped), mapped, None)
        super().write_error(status_code, **kwargs)

    def run(self, run_id: str) -> Run:
        return get_run(run_id, self.nbtrack.open_store())

    def reply(self, value: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(json_ready(value), allow_nan=False))

    def text_arg(self, name: str, required: bool = False) -> str | None:
        value = self.get_query_argument(name, None)
        if required and not value:
            raise web.HTTPError(400, f"the query parameter {name!r} is required")
        return value or None

    def int_arg(self, name: str, default: int | None, minimum: int = 0, maximum: int = MAX_INT) -> int | None:
        text = self.get_query_argument(name, None)
        if text is None or text == "":
            return default
        if len(text) > 20:
            raise web.HTTPError(400, f"{name} must be a whole number from {minimum} to {maximum}")
        try:
            value = int(text)
        except ValueError:
            raise web.HTTPError(400, f"{name} must be a whole number, not {text!r}") from None
        if not minimum <= value <= maximum:
            raise web.HTTPError(400, f"{name} must be a whole number from {minimum} to {maximum}")
        return value

    def flag_arg(self, name: str, default: bool) -> bool:
        text = (self.get_query_argument(name, "") or "").lower()
        if text == "":
            return default
        if text in ("1", "true", "yes"):
            return True
        if text in ("0", "false", "no"):
            return False
        raise web.HTTPError(400, f"{name} must be 1 or 0, not {text!r}")

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except (ValueError, RecursionError) as exc:
            raise web.HTTPError(400, f"the request body is not JSON: {str(exc)[:200]}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        if too_deep(body, MAX_JSON_DEPTH):
            raise web.HTTPError(400, f"the request body nests deeper than {MAX_JSON_DEPTH} levels")
        return body

    @property
    def user_name(self) -> str:
        user = self.current_user
        return str(getattr(user, "username", None) or getattr(user, "name", None) or user)


class RunsHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        notebook = self.text_arg("notebook")
        matcher = None if notebook is None else notebook_matcher(self.nbtrack.root_dir, notebook)
        sort = self.text_arg("sort")
        page = await self.work(
            payloads.runs_page,
            self.nbtrack.open_store(),
            filter_text=self.text_arg("filter"),
            notebook=matcher,
            sort=sort or "start",
            desc=self.flag_arg("desc", default=sort is None),  # newest first unless told
            offset=self.int_arg("offset", 0),
            limit=self.int_arg("limit", 50, minimum=1),
        )
        await self.work(owner_fields, self.nbtrack.open_store(), page["runs"], self.current_user)
        self.reply(page)


class RunHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.work(self._detail, run_id))

    def _detail(self, run_id: str) -> dict[str, Any]:
        run = self.run(run_id)
        detail = payloads.run_detail(run)
        owner_fields(run.store, [detail], self.current_user)
        detail["attribution"] = run_attribution(run.store, run.id, self.current_user).as_json()
        return detail

    @web.authenticated
    @authorized
    async def patch(self, run_id: str) -> None:
        body = self.json_body()
        note, tags = body.get("note"), body.get("tags")
        if note is None and tags is None:
            raise web.HTTPError(400, 'give "note" (text) and/or "tags" (a list of text)')
        if note is not None and (not isinstance(note, str) or not note.strip() or len(note) > MAX_NOTE):
            raise web.HTTPError(400, f'"note" must be non-empty text of at most {MAX_NOTE} characters')
        if tags is not None and (
            not isinstance(tags, list)
            or len(tags) > MAX_TAGS
            or not all(isinstance(t, str) and t.strip() and len(t) <= MAX_TAG for t in tags)
        ):
            raise web.HTTPError(
                400, f'"tags" must be a list of at most {MAX_TAGS} non-empty texts of at most {MAX_TAG} characters'
            )
        self.reply(await self.work(self._annotate, run_id, note, [t.strip() for t in tags or []]))

    def _annotate(self, run_id: str, note: str | None, tags: list[str]) -> dict[str, Any]:
        run = self.run(run_id)
        if note is not None:
            run.store.annotate(run.id, records.note(note, user=self.user_name))
        if tags:
            run.store.annotate(run.id, records.tags(tags, user=self.user_name))
        return payloads.run_detail(Run(run.store, run.id))


class MetricsHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        keys = self.text_arg("keys")
        wanted = None if keys is None else [k.strip() for k in keys.split(",") if k.strip()]
        points = self.int_arg("points", None, minimum=1)  # a chart's width: its envelope
        points = None if points is None else min(points, MAX_CHART_POINTS)
        self.reply(await self.work(lambda: payloads.metric_series(self.run(run_id), wanted, points)))


class CellsHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.work(lambda: {"cells": list(self.run(run_id).cells)}))


class NotebookHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        index = self.int_arg("snapshot", None)
        self.reply(await self.work(lambda: payloads.snapshot_notebook(self.run(run_id), index)))


class ArtifactHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str, name: str) -> None:
        checked = artifact_name(name)  # PathRejected -> 400 (also for encoded traversal)
        data = await self.work(lambda: payloads.artifact(self.run(run_id), checked))
        filename = checked.rsplit("/", 1)[-1]
        fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename)
        self.set_header(
            "Content-Disposition", f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Length", str(len(data)))
        self.finish(data, set_content_type="application/octet-stream")


class DiffHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        index = self.int_arg("snapshot", None)
        against = self.text_arg("against")
        if against is not None:
            self.reply(await self.work(lambda: payloads.runs_diff(self.run(run_id), self.run(against), index)))
            return
        text = self.text_arg("path")
        if text is None:
            raise web.HTTPError(400, "give the query parameter 'path' (a notebook) or 'against' (a run id)")
        path = relative_path(text, "notebook path")
        await self.work(inside_root, self.nbtrack.root_dir, path)  # symlinks out of the root -> 404
        model = await ensure_async(self.contents_manager.get(path, content=True, type="notebook"))
        self.reply(await self.work(lambda: payloads.notebook_diff(self.run(run_id), index, model["content"])))


class ReplayPlanHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        self.reply(await self.work(lambda: payloads.replay_plan(self.run(run_id), self.nbtrack.root_dir)))


class ReportHandler(NBTrackHandler):
    """``GET report?runs=ID,ID[&filter=F]``: the runs as one self-contained HTML report, to save."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        ids = [i.strip() for i in (self.text_arg("runs") or "").split(",") if i.strip()]
        filter_text = self.text_arg("filter")
        if not ids and filter_text is None:
            raise web.HTTPError(400, "give 'runs' (run ids, comma separated) and/or 'filter'")
        if len(ids) > MAX_REPORT_RUNS or not all(RUN_ID.match(i) for i in ids):
            raise web.HTTPError(400, f"'runs' must be at most {MAX_REPORT_RUNS} run ids, comma separated")
        store = self.nbtrack.open_store()

        def build() -> tuple[str, str]:
            from nbtrack.htmlreport import report_html, select_runs

            runs = select_runs(ids, store, filter_text)
            if len(runs) > MAX_REPORT_RUNS:
                raise ValueError(f"{len(runs)} runs match; a report holds at most {MAX_REPORT_RUNS}")
            return report_html(runs), f"nbtrack-report-{runs[0].id[:10]}{'-and-more' if len(runs) > 1 else ''}.html"

        page, filename = await self.work(build)
        self.set_header("Content-Disposition", f'attachment; filename="{filename}"')
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox")  # opened from the server: no script, no origin
        self.finish(page, set_content_type="text/html; charset=UTF-8")


class ActiveHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        kernel = self.text_arg("kernel", required=True) or ""
        if len(kernel) > 200:
            raise web.HTTPError(400, "not a kernel id")
        self.reply(await self.work(payloads.active, self.nbtrack.open_store(), kernel))


class ReplayHandler(NBTrackHandler):
    @web.authenticated
    @authorized("execute")  # a replay runs the notebook's code on this server
    async def post(self) -> None:
        body = self.json_body()
        run_id, parameters, order = body.get("run"), body.get("parameters") or {}, body.get("order") or "notebook"
        if not isinstance(run_id, str) or not run_id:
            raise web.HTTPError(400, '"run" (a run id) is required')
        if not isinstance(parameters, dict):
            raise web.HTTPError(400, '"parameters" must be a JSON object')
        for name in parameters:
            check_identifier("parameter", name)  # (ValueError: 400) values go in papermill's way
        folder = body.get("folder")
        if folder is not None and not isinstance(folder, str):
            raise web.HTTPError(400, '"folder" must be a server-relative folder')
        store = self.nbtrack.open_store()
        root = self.nbtrack.root_dir
        resolved = await self.work(store.resolve, run_id)
        found = await self.work(run_attribution, store, resolved, self.current_user)
        if not found.mine and body.get("confirm") is not True:
            raise web.HTTPError(409, f"{found.describe()}; replaying it runs that code on this server: send "
                                     '"confirm": true to replay it anyway')

        def start() -> Any:
            run = get_run(resolved, store)
            where = folder or payloads.replay_folder(run.state.notebook, root)
            out_dir = folder_inside_root(root, where)
            return self.nbtrack.jobs.start(store, run.id, parameters, str(order), self.user_name,
                                           out_dir=out_dir, out_label=relative_path(where, "folder"))

        job = await self.work(start)
        self.set_header("Location", self.request.path.rstrip("/") + "/" + job.id)
        self.reply({"job": job.id}, status=202)


class ReplayJobHandler(NBTrackHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        self.reply(await self.work(lambda: self.nbtrack.jobs.get(job_id).as_dict()))


ROUTES: list[tuple[str, type[NBTrackHandler]]] = [
    (r"runs/?", RunsHandler),
    (rf"runs/{RUN}/?", RunHandler),
    (rf"runs/{RUN}/metrics/?", MetricsHandler),
    (rf"runs/{RUN}/cells/?", CellsHandler),
    (rf"runs/{RUN}/notebook/?", NotebookHandler),
    (rf"runs/{RUN}/artifacts/(?P<name>.+)", ArtifactHandler),
    (rf"runs/{RUN}/diff/?", DiffHandler),
    (rf"runs/{RUN}/replay/?", ReplayPlanHandler),
    (r"report/?", ReportHandler),
    (r"active/?", ActiveHandler),
    (r"replay/?", ReplayHandler),
    (r"replay/(?P<job_id>[^/]+)/?", ReplayJobHandler),
]
