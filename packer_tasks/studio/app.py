"""The Studio's routes: the page, its static files, JSON reads, actions, the wizard, and
the event stream. Every handler is a thin call into the service (or the state objects that
wrap it) and returns the typed result as JSON; blocking calls run in worker threads."""

from __future__ import annotations

import html
from importlib import resources
from string import Template
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..artifact.inspect import inspect_file
from ..models.results import OperationResult
from . import previews
from .actions import BadRequest, run_action
from .security import GuardMiddleware
from .state import StudioState
from .workspace import snapshot_details

STATIC_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".html": "text/html",
}
NO_STORE = {"cache-control": "no-store"}
# The page loads only its own files, and no other site may frame it (clickjacking would
# let a foreign page make a person press the Studio's own buttons).
PAGE_HEADERS = {
    **NO_STORE,
    "content-security-policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def static_files() -> dict[str, tuple[bytes, str]]:
    """The page's files, read once from the package: a request picks one by exact name."""
    folder = resources.files("packer_tasks.studio") / "static"
    files: dict[str, tuple[bytes, str]] = {}
    for item in folder.iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in STATIC_TYPES:
            files[item.name] = (item.read_bytes(), STATIC_TYPES[suffix])
    return files


def result_json(result: OperationResult) -> JSONResponse:
    """A service result as JSON: 200 when it did (or previewed) its job, 409 when refused."""
    code = 200 if result.ok else 409
    return JSONResponse(result.model_dump(mode="json"), status_code=code, headers=NO_STORE)


def error_json(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=NO_STORE)


def int_param(request: Request, name: str) -> int:
    value = request.query_params.get(name, "")
    if not (value.isascii() and value.isdigit()) or len(value) > 9:
        raise BadRequest(f"`{name}` must be a whole number")
    return int(value)


class Routes:
    """Handlers bound to one StudioState."""

    def __init__(self, state: StudioState) -> None:
        self.state = state
        self.files = static_files()

    def index(self, request: Request) -> Response:
        page = Template(self.files["index.html"][0].decode()).safe_substitute(
            token=self.state.guard.token,
            project=html.escape(self.state.service.project.root.name),
        )
        return Response(page, media_type="text/html", headers=PAGE_HEADERS)

    def static(self, request: Request) -> Response:
        found = self.files.get(request.path_params["name"])
        if found is None or found[1] == "text/html":
            return error_json(404, "no such file")
        return Response(found[0], media_type=found[1])

    def workspace(self, request: Request) -> Response:
        view = self.state.view.current(busy=self.state.job.running)
        return JSONResponse(view, headers=NO_STORE)

    def asset(self, request: Request) -> Response:
        ref = request.query_params.get("ref", "")
        if self.state.job.running:
            quick = snapshot_details(self.state.service, ref, self.state.view)
            if quick is not None:
                return JSONResponse(quick, headers=NO_STORE)
        result = self.state.service.get_asset_details(ref)
        body: dict[str, Any] = result.model_dump(mode="json")
        if result.asset is not None:
            body["findings"] = self.state.view.findings(result.asset.root)
        return JSONResponse(body, status_code=200 if result.ok else 404, headers=NO_STORE)

    def preview(self, request: Request) -> Response:
        packed = self.state.packed.asset(int_param(request, "id"))
        return JSONResponse(previews.preview_info(packed), headers=NO_STORE)

    def sheet(self, request: Request) -> Response:
        packed = self.state.packed.asset(int_param(request, "id"))
        return Response(previews.glyph_sheet_png(packed), media_type="image/png", headers=NO_STORE)

    def sample(self, request: Request) -> Response:
        packed = self.state.packed.asset(int_param(request, "id"))
        wav = previews.sample_wav(packed, int_param(request, "n"))
        return Response(wav, media_type="audio/wav", headers=NO_STORE)

    def quarantined(self, request: Request) -> Response:
        return result_json(self.state.service.list_quarantined())

    async def action(self, request: Request) -> Response:
        try:
            params = await request.json()
        except ValueError:
            return error_json(400, "the body must be JSON")
        if not isinstance(params, dict):
            return error_json(400, "the body must be a JSON object")
        if self.state.job.running:
            return error_json(409, "a pack is running; try again when it finishes")
        name = request.path_params["name"]
        result = await run_in_threadpool(run_action, self.state.service, name, params)
        return result_json(result)

    def summary(self, request: Request) -> Response:
        return result_json(self.state.service.pack_summary())

    def validation(self, request: Request) -> Response:
        return result_json(self.state.service.validate_pack())

    def pack(self, request: Request) -> Response:
        operation_id = self.state.job.start()
        if operation_id is None:
            return error_json(409, "a pack is already running")
        return JSONResponse({"operation_id": operation_id}, status_code=202, headers=NO_STORE)

    def job(self, request: Request) -> Response:
        return JSONResponse(self.state.job.view(), headers=NO_STORE)

    def inspect(self, request: Request) -> Response:
        return result_json(inspect_file(self.state.service.project.build_dir / "assets.pa"))

    def events(self, request: Request) -> Response:
        after = request.headers.get("last-event-id") or request.query_params.get("after", "0")
        start = int(after) if after.isascii() and after.isdigit() and len(after) < 19 else 0
        return StreamingResponse(
            self.state.lane.stream(start),
            media_type="text/event-stream",
            headers={**NO_STORE, "x-accel-buffering": "no"},
        )


async def bad_request(request: Request, exc: Exception) -> Response:
    return error_json(400, str(exc))


async def not_packed(request: Request, exc: Exception) -> Response:
    return error_json(404, str(exc))


def create_app(state: StudioState) -> Starlette:
    """The ASGI app for one Studio; every request passes the Guard first."""
    r = Routes(state)
    routes = [
        Route("/", r.index),
        Route("/static/{name}", r.static),
        Route("/api/workspace", r.workspace),
        Route("/api/asset", r.asset),
        Route("/api/preview", r.preview),
        Route("/api/preview/sheet.png", r.sheet),
        Route("/api/preview/sample.wav", r.sample),
        Route("/api/quarantine", r.quarantined),
        Route("/api/actions/{name}", r.action, methods=["POST"]),
        Route("/api/wizard/summary", r.summary),
        Route("/api/wizard/validation", r.validation),
        Route("/api/wizard/pack", r.pack, methods=["POST"]),
        Route("/api/wizard/job", r.job),
        Route("/api/inspect", r.inspect),
        Route("/api/events", r.events),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(GuardMiddleware, guard=state.guard)],
        exception_handlers={BadRequest: bad_request, previews.PreviewMissing: not_packed},
    )
