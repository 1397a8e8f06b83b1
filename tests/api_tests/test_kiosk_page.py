"""The kiosk's screen as served, `GET /kiosk`: no token to load it, the page's policy and
caching, the `[kiosk]` settings written (escaped) into its `<body>`; its script's rules read
from its source. The screen in a real browser is tested in `test_kiosk_page_browser.py`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.app import create_app
from api.errors import install_error_handlers
from api.routes.page import (
    CONTENT_SECURITY_POLICY,
    KIOSK_WAIT_S,
    load_static,
    make_router,
    render_kiosk,
)
from scanner_agent.agent import Agent
from scanner_agent.config import KioskSettings
from scanner_agent.parse_context import ParseContext
from scanner_agent.selftest import INTERACTIVE_S
from tests.helpers.api import BASE, SettingsFactory

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"


class _Body(HTMLParser):
    """The attributes of the document's <body>, as a browser reads them."""

    def __init__(self) -> None:
        super().__init__()
        self.attributes: dict[str, str | None] = {}
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attributes = dict(attrs)
        elif tag == "script":
            self.scripts.append(dict(attrs))


def body_of(html: str) -> _Body:
    parser = _Body()
    parser.feed(html)
    return parser


def test_the_kiosk_needs_no_token_and_carries_the_pages_policy(anon: TestClient):
    page = anon.get("/kiosk")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-cache"
    assert "Présentez le code de votre attestation devant le lecteur" in page.text
    parsed = body_of(page.text)
    assert parsed.scripts == [{"type": "module", "src": "/static/kiosk.js"}]
    for name, media in [("kiosk.js", "text/javascript"), ("kiosk.css", "text/css")]:
        response = anon.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_kiosk_is_revalidated_with_its_etag(anon: TestClient):
    first = anon.get("/kiosk")
    again = anon.get("/kiosk", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    head = anon.head("/kiosk")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(first.content))
    # the rendered page, not the template: its own ETag
    assert first.headers["etag"] != anon.get("/static/kiosk.html").headers["etag"]


def test_the_kiosk_settings_are_in_the_page(make_settings: SettingsFactory, context: ParseContext):
    settings = make_settings(
        kiosk={"client": "borne-hall.2", "device": "lecteur-borne", "result_s": 7.5},
        api={"max_wait_s": 20},
    )
    with TestClient(create_app(settings, Agent(settings, context=context)), base_url=BASE) as anon:
        page = anon.get("/kiosk")
    assert page.status_code == 200, page.text
    attributes = body_of(page.text).attributes
    assert attributes["data-client"] == "borne-hall.2"
    assert attributes["data-device"] == "lecteur-borne"
    assert attributes["data-result-s"] == "7.5"
    assert attributes["data-wait-s"] == "20"  # never more than the agent lets a request wait
    assert "{{" not in page.text


def test_the_operator_page_counts_down_what_the_agent_waits_for_the_card(
    make_settings: SettingsFactory, context: ParseContext, anon: TestClient
):
    assert body_of(anon.get("/").text).attributes["data-card-s"] == f"{INTERACTIVE_S:g}"
    settings = make_settings(api={"max_wait_s": 20})
    with TestClient(create_app(settings, Agent(settings, context=context)), base_url=BASE) as short:
        page = short.get("/")
    assert body_of(page.text).attributes["data-card-s"] == "20"  # the agent stops there too
    assert "{{" not in page.text
    app_js = (STATIC / "app.js").read_text("utf-8")
    assert "document.body.dataset.cardS" in app_js


def test_the_defaults_fill_the_page(anon: TestClient):
    attributes = body_of(anon.get("/kiosk").text).attributes
    assert attributes["data-client"] == "kiosk"
    assert attributes["data-device"] == ""
    assert attributes["data-result-s"] == "12"
    assert attributes["data-wait-s"] == f"{KIOSK_WAIT_S:g}"


def test_every_value_is_escaped():
    """Validation keeps these names plain; the rendering escapes them anyway."""
    template = load_static()["kiosk.html"]
    hostile = KioskSettings.model_construct(
        client='k"><script>alert(1)</script>', device="a&b'c", result_s=3
    )
    rendered = render_kiosk(template, hostile).body.decode()
    assert "<script>alert(1)" not in rendered
    assert "&quot;&gt;&lt;script&gt;" in rendered
    attributes = body_of(rendered).attributes
    assert attributes["data-client"] == 'k"><script>alert(1)</script>'  # as the script reads it
    assert attributes["data-device"] == "a&b'c"


def test_an_agent_installed_without_the_kiosk_page_says_so():
    files = {name: item for name, item in load_static().items() if name != "kiosk.html"}
    app = FastAPI()
    app.include_router(make_router(files))
    install_error_handlers(app)
    with TestClient(app) as anon:
        response = anon.get("/kiosk")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_kiosks_script_claims_its_scans_and_shows_nothing_personal():
    """What the browser test cannot force, read from the source: the loop claims with the
    configured client (never a plain /next, whose scans every waiter gets), the token lives in
    sessionStorage only, and the page shows no field of the attestation but its decision and
    its patient message."""
    script = (STATIC / "kiosk.js").read_text("utf-8")
    agent = (STATIC / "agent.js").read_text("utf-8")
    assert "claim: config.client" in script
    assert 'params.set("claim", claim)' in agent
    assert "localStorage" not in script
    assert "innerHTML" not in script
    shown = set(re.findall(r"attestation\.([a-z_]+)", script))
    assert shown == {"decision", "patient_message"}
    assert "scan.claimed_by !== config.client" in script
