"""The operator page as served: its files, headers and dictionaries (no browser needed).

The page in a real browser is tested in `test_operator_page_browser.py`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, get_args

import pytest
from fastapi.testclient import TestClient

from api.routes.page import CONTENT_SECURITY_POLICY, load_static
from scanner_agent.attestation import (
    Decision,
    ErrorCode,
    ReasonCode,
    RocReason,
    RocStatus,
    StayCover,
    ValidityState,
    WarningCode,
)
from scanner_agent.config import RocPhase
from scanner_agent.scan import DeviceState, Source
from scanner_agent.selftest import CHECKS, LEVELS
from scanner_agent.selftest.live_card import CARD_GROUPS

STATIC = Path(__file__).resolve().parents[2] / "api" / "static"
DOCUMENT_ERRORS = re.compile(r'"([a-z]+(?:_[a-z]+)+)"')


def dictionary(lang: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((STATIC / "i18n" / f"{lang}.json").read_text("utf-8"))
    return data


def flat_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for name, value in tree.items():
        if isinstance(value, dict) and not set(value) <= {"one", "other"}:
            keys |= flat_keys(value, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_the_page_needs_no_token_and_carries_a_strict_policy(anon: TestClient):
    page = anon.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    for name, media in [
        ("app.js", "text/javascript"),
        ("agent.js", "text/javascript"),
        ("style.css", "text/css"),
        ("i18n/fr.json", "application/json"),
    ]:
        response = anon.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith(media)
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def test_the_page_has_no_inline_script_and_no_outside_resource():
    html = (STATIC / "index.html").read_text("utf-8")
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S)
    assert scripts
    for attributes, body in scripts:
        assert 'src="/static/' in attributes and not body.strip()
    assert not re.search(r"\son[a-z]+=", html), "inline event handler"
    assert " style=" not in html
    for path in STATIC.rglob("*"):
        if path.suffix in (".html", ".js", ".css"):
            text = path.read_text("utf-8")
            assert not re.search(r"(src|href)=\"https?:", text), path
            assert "innerHTML" not in text, f"{path.name}: build elements, never parse HTML"


def test_only_shipped_files_are_served(anon: TestClient):
    for path in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/nothing.js", "/static/"):
        response = anon.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    assert set(load_static()) >= {
        "index.html",
        "app.js",
        "agent.js",
        "views.js",
        "i18n.js",
        "week.js",
        "chart.js",
    }


def test_the_chart_library_is_the_agents_own_file(anon: TestClient):
    """chart.js is served by the agent under the page's policy, imports nothing and fetches
    nothing: the week's chart needs no CDN and no connection beyond the agent."""
    response = anon.get("/static/chart.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    code = response.text
    assert not re.search(r"^\s*import\b", code, re.M)
    for call in ("fetch(", "XMLHttpRequest", "import(", "eval(", "new Function"):
        assert call not in code, call
    assert "export function stackedBarChart" in code and "export function barList" in code
    week = (STATIC / "week.js").read_text("utf-8")
    assert 'from "./chart.js"' in week


def test_files_are_revalidated_with_their_etag(anon: TestClient):
    first = anon.get("/static/app.js")
    again = anon.get("/static/app.js", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert anon.get("/", headers={"If-None-Match": '"other"'}).status_code == 200
    head = anon.head("/")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(anon.get("/").content))


def test_a_foreign_origin_cannot_read_the_page(anon: TestClient):
    response = anon.get("/static/app.js", headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"


def test_both_languages_have_the_same_entries():
    assert flat_keys(dictionary("fr")) == flat_keys(dictionary("en"))


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_every_code_has_a_sentence(lang: str):
    words = dictionary(lang)
    assert set(words["warning"]) >= {code.value for code in WarningCode}
    assert set(words["error"]) >= {code.value for code in ErrorCode}
    assert set(words["validity"]) >= set(get_args(ValidityState))
    assert set(words["stay"]) >= set(get_args(StayCover))
    assert set(words["roc"]) >= set(get_args(RocStatus))
    assert set(words["device_state"]) >= set(get_args(DeviceState))
    assert set(words["device_type"]) >= set(get_args(Source))
    documents = (Path(__file__).resolve().parents[2] / "decoders" / "documents.py").read_text()
    file_codes = set(DOCUMENT_ERRORS.findall(documents)) - {"err_code"}
    assert file_codes, "the file error codes of decoders/documents.py were not found"
    assert set(words["file_error"]) >= file_codes | {
        "payload_too_large",
        "decode_timeout",
        "decoder_busy",
    }
    for value in words["warning"].values():
        assert len(value) > 20
    assert set(words["decision"]) == set(get_args(Decision))
    assert set(words["decision_count"]) == set(get_args(Decision))
    assert set(words["reason"]) == {code.value for code in ReasonCode}
    assert set(words["roc_reason"]) == {reason.value for reason in RocReason}
    assert "{date}" in words["decision"]["covered"]
    assert set(words["selftest_check"]) == set(CHECKS)
    assert set(words["selftest_card_code"]) == set(CARD_GROUPS)
    assert set(words["selftest_card_outcome"]) == {"as_designed", "wrong", "missing"}
    assert set(words["selftest_level_name"]) == set(LEVELS)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_the_week_has_a_label_for_every_code_and_phase(lang: str):
    """The week's top lists name every error code and reason shortly; the ROC phase line has a
    sentence for every phase, the mirror AMC's number in the supervised one."""
    words = dictionary(lang)
    assert set(words["week_error_label"]) == {code.value for code in ErrorCode}
    assert set(words["week_reason_label"]) == {code.value for code in ReasonCode}
    for label in [*words["week_error_label"].values(), *words["week_reason_label"].values()]:
        assert 3 <= len(label) <= 40, label
    assert set(words["roc_phase"]) >= set(get_args(RocPhase))
    assert "{amc}{unknown})" in words["roc_phase"]["supervised"]
    assert set(words["week_top"]) == set(words["week_none"]) == {"refused", "not_covered"}


def strings(tree: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    for name, value in tree.items():
        if isinstance(value, dict):
            yield from strings(value, f"{prefix}{name}.")
        else:
            yield prefix + name, value


@pytest.mark.parametrize(("lang", "word"), [("fr", r"\bvalides?\b"), ("en", r"\bvalid\b")])
def test_no_text_calls_an_attestation_valid(lang: str, word: str):
    """Only a covered attestation may be called valid, and the page says "Couverte" for it: no
    sentence of the page says "valide" (a well-formed code is "conforme", its count "Codes
    conformes")."""
    said = [key for key, text in strings(dictionary(lang)) if re.search(word, text, re.I)]
    assert said == []
