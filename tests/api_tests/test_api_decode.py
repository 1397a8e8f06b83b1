"""`POST /v1/decode`: uploads read by `scanner_agent.file_decoding`, each symbol through the
agent's pipeline as a frame of device `upload`, stored and published by the scans service."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import deps
from api.app import create_app
from scanner_agent.agent import Agent
from scanner_agent.parse_context import ParseContext
from scanner_agent.scan import Scan
from tests.helpers.api import BASE, VALID, SettingsFactory, auth, wait_stored
from tests.helpers.devices import wait_until


@contextmanager
def client_with(
    make_settings: SettingsFactory, context: ParseContext, **sections: dict[str, Any]
) -> Iterator[TestClient]:
    """A running app whose settings have these sections changed, with the token."""
    settings = make_settings(**sections)
    app = create_app(settings, Agent(settings, context=context))
    with TestClient(app, base_url=BASE, headers=auth(app)) as test_client:
        yield test_client


def test_the_file_field_is_required(client: TestClient):
    response = client.post("/v1/decode", files={"other": ("a.png", b"x")})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"


def _png_of(payload: str) -> bytes:
    pytest.importorskip("zxingcpp")
    from tests.helpers.files import datamatrix_png

    return datamatrix_png(payload)


def test_an_uploaded_code_is_returned_stored_and_published(client: TestClient):
    response = client.post("/v1/decode", files={"file": ("mail.png", _png_of(VALID), "image/png")})
    assert response.status_code == 200
    report = response.json()
    assert report["error"] is None
    assert len(report["codes"]) == 1
    assert report["codes"][0]["attestation"]["amc_number"] == "0775627391"
    latest = client.get("/v1/scans/latest?device=upload").json()
    assert latest["source"] == "upload"
    assert latest["attestation"]["amc_number"] == "0775627391"
    metrics = client.get("/metrics").text
    assert 'scanner_agent_scans_total{device="upload",outcome="valid"} 1' in metrics
    assert 'scanner_agent_decode_seconds_bucket{le="+Inf"} 1' in metrics


def test_an_upload_goes_through_the_pipeline_and_is_stored_as_served(client: TestClient):
    app = client.app
    agent = app.state.api.agent  # type: ignore[attr-defined]
    before = agent.pipeline.duplicates
    png = _png_of(VALID)
    first = client.post("/v1/decode", files={"file": ("a.png", png, "image/png")}).json()
    again = client.post("/v1/decode", files={"file": ("a.png", png, "image/png")}).json()
    scan_ids = [first["codes"][0]["scan_id"], again["codes"][0]["scan_id"]]
    assert scan_ids[0] != scan_ids[1]  # each upload is a scan: never a suppressed duplicate
    assert agent.pipeline.duplicates == before
    wait_stored(app, 2)  # type: ignore[arg-type]
    for code, scan_id in zip((first, again), scan_ids, strict=True):
        served = client.get(f"/v1/scans/{scan_id}").json()
        assert served["device_id"] == "upload"
        assert served["source"] == "upload"
        assert served["symbology"] == code["codes"][0]["symbology"]
        assert served["attestation"] == code["codes"][0]["attestation"]
        assert served["attestation"]["member_number"] == "12345678"
        stored = agent.scans.store.get(scan_id)  # the database's copy, read back
        assert stored == Scan.model_validate(served)
    listed = client.get("/v1/scans?device=upload").json()
    assert [s["id"] for s in listed] == scan_ids[::-1]


def test_a_heic_phone_photo_is_decoded_and_stored(client: TestClient):
    pytest.importorskip("pillow_heif")
    from PIL import Image

    from tests.helpers.files import heic_bytes

    photo = heic_bytes(Image.open(io.BytesIO(_png_of(VALID))))
    response = client.post("/v1/decode", files={"file": ("IMG_0042.HEIC", photo, "image/heic")})
    assert response.status_code == 200
    [code] = response.json()["codes"]
    assert code["attestation"]["amc_number"] == "0775627391"
    served = client.get(f"/v1/scans/{code['scan_id']}").json()
    assert served["source"] == "upload"
    broken = client.post("/v1/decode", files={"file": ("cut.heic", photo[: len(photo) // 2])})
    assert broken.status_code == 422
    assert broken.json()["error"]["code"] == "corrupt_image"


@pytest.mark.parametrize("content", [b"", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, b"%PDF-1.7\n%%EOF"])
def test_a_corrupt_file_gets_an_error_code_not_a_crash(client: TestClient, content: bytes):
    response = client.post("/v1/decode", files={"file": ("broken.png", content)})
    assert response.status_code == 422
    code = response.json()["error"]["code"]
    assert code in {"empty_file", "corrupt_image", "corrupt_pdf", "not_an_image"}
    assert client.get("/v1/scans/latest?device=upload").status_code == 404


def _pdf_of(pages: int) -> bytes:
    from PIL import Image

    blank = [Image.new("RGB", (200, 200), "white") for _ in range(pages)]
    out = io.BytesIO()
    blank[0].save(out, "PDF", save_all=True, append_images=blank[1:], resolution=72)
    return out.getvalue()


def test_a_pdf_over_the_page_limit_is_a_422_too_many_pages(
    make_settings: SettingsFactory, context: ParseContext
):
    with client_with(make_settings, context, decoder={"max_pages": 2}) as client:
        response = client.post("/v1/decode", files={"file": ("long.pdf", _pdf_of(3))})
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "too_many_pages"
        assert "long.pdf" in error["message"]
        assert "too_many_pages" in client.get("/metrics").text
        response = client.post("/v1/decode", files={"file": ("short.pdf", _pdf_of(2))})
        assert response.status_code == 200
        assert response.json()["error"] is None


class EndlessDocument:
    """A fake document reader for `decoders.read_pages_from_bytes`: blank pages without end
    (at most `pages`), page 2 held until `gate` is set; counts the pages it rendered."""

    def __init__(self, pages: int = 200) -> None:
        self.pages = pages
        self.rendered = 0
        self.gate = threading.Event()

    def __call__(self, data: bytes, name: str, options: Any = None) -> Iterator[Any]:
        import numpy as np

        from decoders import Page

        for number in range(1, self.pages + 1):
            if number == 2:
                self.gate.wait(timeout=30)
            self.rendered += 1
            yield Page(number, np.full((60, 80), 200, np.uint8))


def test_a_timed_out_upload_stops_decoding_within_a_page(
    make_settings: SettingsFactory, context: ParseContext, monkeypatch: pytest.MonkeyPatch
):
    import decoders

    document = EndlessDocument()
    monkeypatch.setattr(decoders, "read_pages_from_bytes", document)
    monkeypatch.setattr(deps, "DISCONNECT_POLL_S", 0.01)  # the client is asked, and stays
    with client_with(make_settings, context, api={"decode_timeout_s": 0.2}) as client:
        pool = client.app.state.api.decode_pool  # type: ignore[attr-defined]
        response = client.post("/v1/decode", files={"file": ("long.pdf", b"%PDF-")})
        assert response.status_code == 504
        assert response.json()["error"]["code"] == "decode_timeout"
        at_timeout = document.rendered  # page 2 is held: at most page 1 is done
        # the worker is still on its page: its place is not given to another upload yet
        busy = client.post("/v1/decode", files={"file": ("other.png", _png_of(VALID))})
        assert busy.status_code == 503
        assert busy.json()["error"]["code"] == "decoder_busy"
        assert busy.headers["Retry-After"] == "2"
        document.gate.set()
        wait_until(lambda: pool.busy == 0)
        assert document.rendered - at_timeout <= 1  # the page under way, then it stopped
        assert document.rendered < document.pages
        assert 'scanner_agent_decode_errors_total{code="decode_timeout"} 1' in (
            client.get("/metrics").text
        )


def test_an_upload_is_refused_503_while_every_decode_worker_is_busy(
    make_settings: SettingsFactory, context: ParseContext
):
    png = _png_of(VALID)
    sections = {"decoder": {"max_concurrent_uploads": 2}}
    with client_with(make_settings, context, **sections) as client:
        pool = client.app.state.api.decode_pool  # type: ignore[attr-defined]
        assert pool.size == 2
        gate = threading.Event()
        held = [pool.submit(lambda: gate.wait(timeout=30)) for _ in range(2)]
        assert all(future is not None for future in held)
        response = client.post("/v1/decode", files={"file": ("a.png", png)})
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "decoder_busy"
        assert client.get("/v1/scans/latest?device=upload").status_code == 404
        gate.set()
        wait_until(lambda: pool.busy == 0)
        response = client.post("/v1/decode", files={"file": ("a.png", png)})
        assert response.status_code == 200
        assert len(response.json()["codes"]) == 1


def test_a_decode_whose_client_went_away_is_given_up(monkeypatch: pytest.MonkeyPatch):
    import asyncio
    from concurrent.futures import Future

    from api.routes import decode

    class GoneClient:
        async def is_disconnected(self) -> bool:
            return True

    monkeypatch.setattr(deps, "DISCONNECT_POLL_S", 0.01)
    never: Future[Any] = Future()  # a decode still running
    with pytest.raises(decode.ClientGone):
        asyncio.run(decode.result_of(never, GoneClient(), 60))  # type: ignore[arg-type]
    done: Future[Any] = Future()
    done.set_result("read")
    assert asyncio.run(decode.result_of(done, GoneClient(), 60)) == "read"  # type: ignore[arg-type]


def test_the_decode_pool_is_closed_when_the_agent_stops(
    make_settings: SettingsFactory, context: ParseContext
):
    with client_with(make_settings, context) as client:
        response = client.post("/v1/decode", files={"file": ("a.png", _png_of(VALID))})
        assert response.status_code == 200
        pool = client.app.state.api.decode_pool  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):  # the executor takes no further work once closed
        pool.submit(lambda: None)


def test_an_upload_is_decoded_without_the_cameras_time_budget(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
):
    import decoders.documents

    built: list[Any] = []
    real = decoders.documents.Decoder

    def recorded(options: Any = None, **kwargs: Any) -> Any:
        decoder = real(options, **kwargs)
        built.append(decoder.options)
        return decoder

    monkeypatch.setattr(decoders.documents, "Decoder", recorded)
    assert client.app.state.api.settings.decoder.time_budget_ms == 40  # type: ignore[attr-defined]
    response = client.post("/v1/decode", files={"file": ("mail.png", _png_of(VALID), "image/png")})
    assert response.status_code == 200
    assert len(response.json()["codes"]) == 1
    assert [o.time_budget_ms for o in built] == [None]  # every pass, whatever the load


def test_an_upload_whose_code_is_seen_but_not_read_says_where(client: TestClient):
    from tests.helpers.files import unreadable_card

    out = io.BytesIO()
    unreadable_card().save(out, "PNG")
    response = client.post("/v1/decode", files={"file": ("dim.png", out.getvalue(), "image/png")})
    assert response.status_code == 200
    report = response.json()
    assert (report["codes"], report["error"]) == ([], None)
    [seen] = report["unreadable"]
    assert seen["page"] == 1 and len(seen["position"]) == 4
    good = client.post("/v1/decode", files={"file": ("mail.png", _png_of(VALID), "image/png")})
    assert good.json()["unreadable"] == []
