"""The operator page (`GET /`), the kiosk's screen (`GET /kiosk`) and their static files under
`/static/`, shipped in the package.

The files are plain HTML, CSS, JSON and JavaScript modules (no build step, no CDN). They are
read once, when the app is created, and only those files are served: a name that is not one of
them is a 404, so no path ever reaches the file system. They need no token (the page asks for
it and keeps it in the browser's `sessionStorage`); every API call the page makes still does.

Each answer carries a strict Content-Security-Policy (scripts, styles and connections from the
agent's own origin only, no inline script, no framing) and is revalidated on every load (ETag),
so that an upgraded agent never runs with yesterday's script.

The kiosk's page is `kiosk.html` with the `[kiosk]` settings written, HTML-escaped, into the
`{{client}}`, `{{device}}`, `{{result-s}}` and `{{wait-s}}` placeholders of its `<body>`'s
data-attributes (the policy forbids an inline script); the operator page's `{{card-s}}` is how
long its test-card step waits (`INTERACTIVE_S`, at most `[api] max_wait_s`, as the agent caps
it). Both are rendered once, when the app is created.
"""

from __future__ import annotations

import hashlib
import html
import mimetypes
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

from fastapi import APIRouter, Request, Response

from api.errors import ApiError
from scanner_agent.config import KioskSettings
from scanner_agent.selftest import INTERACTIVE_S

STATIC_PACKAGE = "api"
STATIC_FOLDER = "static"
INDEX = "index.html"
KIOSK = "kiosk.html"
KIOSK_WAIT_S = 30.0
"""The longest the kiosk's `GET /v1/scans/next` waits (less when `[api] max_wait_s` is less)."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), usb=(), hid=(), serial=()",
    "Cache-Control": "no-cache",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class StaticFile:
    body: bytes
    media_type: str
    etag: str


def load_static(root: Traversable | None = None) -> dict[str, StaticFile]:
    """Every file under the package's `static/` folder, by its path relative to it."""
    root = root or resources.files(STATIC_PACKAGE).joinpath(STATIC_FOLDER)
    files: dict[str, StaticFile] = {}

    def walk(folder: Traversable, prefix: str) -> None:
        for entry in folder.iterdir():
            if entry.name.startswith("."):
                continue
            name = prefix + entry.name
            if entry.is_dir():
                walk(entry, name + "/")
                continue
            suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
            media_type = TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0]
            if media_type is None:
                continue  # not something the page uses
            files[name] = _static_file(entry.read_bytes(), media_type)

    if root.is_dir():
        walk(root, "")
    return files


def _static_file(body: bytes, media_type: str) -> StaticFile:
    return StaticFile(body, media_type, '"' + hashlib.sha256(body).hexdigest()[:32] + '"')


def render(template: StaticFile, values: dict[str, str]) -> StaticFile:
    """`template` with each `{{name}}` replaced by its value, HTML-escaped (they land in
    attribute values)."""
    text = template.body.decode("utf-8")
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", html.escape(value, quote=True))
    return _static_file(text.encode("utf-8"), template.media_type)


def render_kiosk(
    template: StaticFile, kiosk: KioskSettings, max_wait_s: float = KIOSK_WAIT_S
) -> StaticFile:
    """kiosk.html with the `[kiosk]` settings, and the long-poll's timeout: at most
    `max_wait_s`."""
    return render(
        template,
        {
            "client": kiosk.client,
            "device": kiosk.device,
            "result-s": f"{kiosk.result_s:g}",
            "wait-s": f"{min(KIOSK_WAIT_S, max_wait_s):g}",
        },
    )


def render_index(template: StaticFile, max_wait_s: float = INTERACTIVE_S) -> StaticFile:
    """index.html with how long its test-card step waits: at most `max_wait_s`."""
    return render(template, {"card-s": f"{min(INTERACTIVE_S, max_wait_s):g}"})


def _answer(request: Request, item: StaticFile) -> Response:
    headers = {**SECURITY_HEADERS, "ETag": item.etag}
    if item.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    body = b"" if request.method == "HEAD" else item.body
    response = Response(body, media_type=item.media_type, headers=headers)
    if request.method == "HEAD":
        response.headers["content-length"] = str(len(item.body))
    return response


def make_router(
    files: dict[str, StaticFile] | None = None,
    kiosk: KioskSettings | None = None,
    max_wait_s: float = KIOSK_WAIT_S,
) -> APIRouter:
    """The pages' routes over `files` (by default, the package's `static/` folder); the kiosk's
    page with `kiosk` (by default, the `[kiosk]` defaults); both pages with `[api] max_wait_s`."""
    served = load_static() if files is None else files
    template = served.get(KIOSK)
    kiosk_page = (
        None if template is None else render_kiosk(template, kiosk or KioskSettings(), max_wait_s)
    )
    index_template = served.get(INDEX)
    index_page = None if index_template is None else render_index(index_template, max_wait_s)
    router = APIRouter(include_in_schema=False)

    @router.api_route("/", methods=["GET", "HEAD"])
    async def index(request: Request) -> Response:
        if index_page is None:
            raise ApiError(404, "not_found", "this agent was installed without its page")
        return _answer(request, index_page)

    @router.api_route("/kiosk", methods=["GET", "HEAD"])
    async def kiosk_screen(request: Request) -> Response:
        if kiosk_page is None:
            raise ApiError(404, "not_found", "this agent was installed without its kiosk page")
        return _answer(request, kiosk_page)

    @router.api_route("/static/{name:path}", methods=["GET", "HEAD"])
    async def static(request: Request, name: str) -> Response:
        item = served.get(name)
        if item is None:
            raise ApiError(404, "not_found", "no such file")
        return _answer(request, item)

    return router
