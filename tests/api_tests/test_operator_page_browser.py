"""The operator page end to end, in a real headless Chromium against a real agent.

The agent is `scanner-agent serve` in a subprocess on a free port, with a known token and a
`replay` device whose recording does not exist yet (so the device shows as disconnected); a
test writes the recording and its codes arrive on the page as a scanner's would. A `camera`
device waits the same way for its video file, which a test writes with a code the camera sees
but cannot read, then the same code readable. Chromium and
chromedriver are Debian's (`make test` installs them); Selenium is pointed at both, so that it
never downloads anything. Screenshots go to `test-artifacts/operator-page/`.

The tests share one agent and one browser and run in file order: the last one restarts the
agent under the page. The Chromium, the agent process and the waits are `tests.helpers.browser`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from tests.helpers import synthetic
from tests.helpers.devices import PtyScanner, camera_video, damaged_datamatrix

if not Path("/usr/bin/chromium").exists() or not Path("/usr/bin/chromedriver").exists():
    pytest.skip(
        "the operator page's browser tests need Debian's chromium and chromium-driver "
        "(`make test` installs them when run as root)",
        allow_module_level=True,
    )
pytest.importorskip("selenium.webdriver", reason="selenium (test extra) missing")
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.helpers.browser import (
    ARTIFACTS,
    CURRENT,
    PAST,
    ServedAgent,
    by_id,
    chromium,
    log_in,
    served,
    severe_console_errors,
    shot,
    tagged,
    until,
    visible,
    write_recording,
)
from tests.helpers.browser import open_page as open_url

TOKEN = "page-test-token-0123456789abcdef"
ANY_VALID = re.compile(r"\bvalides?\b", re.IGNORECASE)
"""The word no card may say unless its attestation is covered."""


VALID = tagged("0775627391", "12345678", CURRENT)
EXPIRED = tagged("0775627391", "55501234", PAST)
LOOKS_LIKE_NIR = tagged("0434243085", "185057800608491", CURRENT)
BAD_AMC = tagged("07756", "42", CURRENT)
RECORDING = [VALID, EXPIRED, LOOKS_LIKE_NIR, BAD_AMC]


class Agent(ServedAgent):
    """`scanner-agent serve` on a fixed port, started and stopped by the test: a replay device
    waiting for its recording, a serial scanner that can be unplugged, a camera waiting for its
    video."""

    def __init__(self, folder: Path, port: int) -> None:
        self.recording = folder / "desk.jsonl"
        self.webcam = folder / "webcam.avi"
        self.scanner = PtyScanner(folder)  # a serial scanner that can be unplugged
        super().__init__(
            folder,
            port,
            f'[agent]\ndata_dir = "{folder / "data"}"\nlog_level = "warning"\n'
            f"[api]\nport = {port}\n"
            "[pipeline]\nreconnect_min_s = 0.2\nreconnect_max_s = 0.5\n"
            # the shipped referential never called stale: decisions do not depend on the day
            "[parser]\nreferential_max_age_days = 36500\n"
            f'[[devices]]\nid = "desk"\ntype = "replay"\npath = "{self.recording}"\n'
            f'[[devices]]\nid = "counter"\ntype = "serial"\nport = "{self.scanner.link}"\n'
            f'[[devices]]\nid = "webcam"\ntype = "camera"\nsource = "{self.webcam}"\nfps = 30\n',
            TOKEN,
        )


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    with served(Agent, "scanner-agent-page-") as running:
        yield running
    running.scanner.unplug()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def open_page(driver: WebDriver, agent: Agent) -> None:
    open_url(driver, agent.url)


def desk_scans(driver: WebDriver) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, '#scan-list li.scan[data-device="desk"]')


def device_state(driver: WebDriver, device: str) -> str | None:
    """Read in one step: device cards are replaced on every change (no stale element)."""
    state: str | None = driver.execute_script(
        'const card = document.querySelector(`#devices li[data-device-id="${arguments[0]}"]`);'
        "return card ? card.dataset.state : null;",
        device,
    )
    return state


def device_card(driver: WebDriver, device: str) -> dict[str, str]:
    """The card's text and left border colour, read in one step."""
    card: dict[str, str] = driver.execute_script(
        'const card = document.querySelector(`#devices li[data-device-id="${arguments[0]}"]`);'
        "return card ? {text: card.innerText,"
        " border: getComputedStyle(card).borderLeftColor} : {text: '', border: ''};",
        device,
    )
    return card


def device_counters(driver: WebDriver, device: str) -> dict[str, str]:
    counters: dict[str, str] = driver.execute_script(
        "const cells = document.querySelectorAll("
        '`#devices li[data-device-id="${arguments[0]}"] dd[data-counter]`);'
        "return Object.fromEntries([...cells].map((c) => [c.dataset.counter, c.textContent]));",
        device,
    )
    return counters


# --- the tests, in order ----------------------------------------------------------------------


def test_a_wrong_token_is_refused_with_a_message(browser: WebDriver, agent: Agent):
    open_page(browser, agent)
    assert visible(browser, "login") and not visible(browser, "main")
    log_in(browser, "this-is-not-the-right-token")
    until(
        browser,
        lambda d: by_id(d, "login-error").get_attribute("data-key") == "login_token_invalid",
        "the wrong token message",
    )
    assert "Jeton refusé" in by_id(browser, "login-error").text
    assert by_id(browser, "token-input").get_attribute("aria-invalid") is not None
    assert browser.execute_script("return window.sessionStorage.length") == 0
    assert not visible(browser, "main")
    shot(browser, "01-wrong-token")
    log_in(browser, "short")
    until(browser, lambda d: "16 caractères" in by_id(d, "login-error").text, "too short")


def test_scans_from_a_device_appear_live(browser: WebDriver, agent: Agent):
    open_page(browser, agent)
    log_in(browser, TOKEN)
    until(browser, lambda d: by_id(d, "link-state").get_attribute("data-state") == "live", "live")
    # No token in any URL the page used, and the token kept for this tab only.
    assert (
        browser.execute_script("return window.localStorage.getItem('scanner-agent.token')") is None
    )
    assert browser.execute_script("return window.sessionStorage.getItem('scanner-agent.token')")
    # The recording does not exist yet: the device is shown disconnected, with why.
    until(browser, lambda d: device_state(d, "desk") == "disconnected", "desk disconnected")
    card = device_card(browser, "desk")
    assert "Déconnecté" in card["text"] and "device_not_found" in card["text"]
    shot(browser, "02-device-disconnected")

    write_recording(agent.recording, RECORDING)
    until(browser, lambda d: len(desk_scans(d)) == len(RECORDING), "the four scans")
    scans = desk_scans(browser)
    # newest first: the refused code, the NIR-like member number, the expired card, the valid one
    refused, nir, expired, valid = (s.find_element(By.CSS_SELECTOR, "article") for s in scans)

    assert valid.get_attribute("data-status") == "valid"
    assert valid.get_attribute("data-validity") == "current"
    assert "Mutuelle Exemple A (fictive)" in valid.text  # the referential's name
    assert "Connecté ROC" in valid.text
    assert "0775627391" in valid.text and "MU" in valid.text
    assert "En cours de validité" in valid.text

    # Each scan says its decision in words, with a mark and a colour: covered green...
    assert valid.get_attribute("data-decision") == "covered"
    headline = valid.find_element(By.CSS_SELECTOR, ".badge.decision")
    assert re.fullmatch(r"✓ Couverte le [0-9]{2}/[0-9]{2}/[0-9]{4}", headline.text), headline.text
    assert valid.find_elements(By.CSS_SELECTOR, ".reasons") == []
    # ... an expired attestation not covered, red, its reason said, and never called "valide"
    assert expired.get_attribute("data-decision") == "not_covered"
    not_covered = expired.find_element(By.CSS_SELECTOR, ".badge.decision")
    assert not_covered.text == "✕ Non couverte"
    assert "decision-not_covered" in not_covered.get_attribute("class")
    assert not_covered.value_of_css_property("color") != headline.value_of_css_property("color")
    assert expired.value_of_css_property("border-left-color") == "rgba(155, 17, 26, 1)"
    assert valid.value_of_css_property("border-left-color") == "rgba(11, 90, 39, 1)"
    reasons = expired.find_element(By.CSS_SELECTOR, ".reasons")
    assert [li.get_attribute("data-code") for li in reasons.find_elements(By.TAG_NAME, "li")] == [
        "expired"
    ]
    assert "Attestation expirée le 31/12/" in reasons.text
    assert not ANY_VALID.search(expired.text), expired.text
    # ... a NIR-like member number to check, amber, with its reason
    assert nir.get_attribute("data-decision") == "check"
    assert nir.find_element(By.CSS_SELECTOR, ".badge.decision").text == "⚠ À vérifier"
    assert "member_number_looks_like_nir" in nir.find_element(By.CSS_SELECTOR, ".reasons").text
    # ... and the ROC status with the activity asked
    assert "Connecté ROC — activité MCO" in valid.find_element(By.CSS_SELECTOR, ".field-roc").text

    badge = expired.find_element(By.CSS_SELECTOR, ".badge.validity")
    assert expired.get_attribute("data-validity") == "expired"
    assert badge.text.endswith("Expirée")
    assert "validity-expired" in badge.get_attribute("class")
    colour = badge.value_of_css_property("color")
    assert colour != valid.find_element(By.CSS_SELECTOR, ".badge.validity").value_of_css_property(
        "color"
    )

    assert "numéro de sécurité sociale" in nir.find_element(By.CSS_SELECTOR, ".warnings").text
    assert refused.get_attribute("data-status") == "invalid"
    assert refused.get_attribute("data-decision") == "refused"
    assert refused.find_element(By.CSS_SELECTOR, ".badge.decision").text == "⊘ Code refusé"
    assert "n° AMC est incorrect" in refused.find_element(By.CSS_SELECTOR, ".errors").text
    assert not ANY_VALID.search(refused.text), refused.text

    # The member number is masked until clicked, and masked again on a second click.
    member = valid.find_element(By.CSS_SELECTOR, "button.member")
    assert "12345678" not in valid.text and "••••••78" in member.text
    member.click()
    assert "12345678" in member.text and member.get_attribute("aria-pressed") == "true"
    shot(browser, "03-live-scans")
    member.click()
    assert "12345678" not in member.text

    # Screen readers hear about new scans; the device's counters and state follow.
    assert by_id(browser, "announcer").text
    until(browser, lambda d: device_state(d, "desk") == "stopped", "the replay finished")
    assert "Arrêté" in device_card(browser, "desk")["text"]

    until(
        browser,
        lambda d: device_counters(d, "desk").get("refused_scans") == "1",
        "the refused counter",
    )
    assert device_counters(browser, "desk")["good_scans"] == "3"
    assert severe_console_errors(browser) == []

    # A portrait kiosk screen: one column, the scans first.
    browser.set_window_size(800, 1280)
    try:
        scans_top = by_id(browser, "scans").rect["y"]
        assert scans_top < by_id(browser, "devices-panel").rect["y"]
        assert by_id(browser, "scans").rect["width"] > 600
        shot(browser, "03-kiosk-portrait")
    finally:
        browser.set_window_size(1400, 1000)


def test_a_claimed_scan_shows_which_desk_has_it_live(browser: WebDriver, agent: Agent):
    """Runs after the scans appeared: a desk claims the newest one through the API, the page
    shows who has it without a reload; a release removes it."""
    until(browser, lambda d: len(desk_scans(d)) == len(RECORDING), "the scans of the page")
    headers = {"Authorization": f"Bearer {TOKEN}"}
    newest = httpx.get(f"{agent.url}/v1/scans/latest?device=desk", headers=headers).json()["id"]
    claimed = httpx.post(
        f"{agent.url}/v1/scans/{newest}/claim", json={"client": "guichet-2"}, headers=headers
    )
    assert claimed.status_code == 200, claimed.text

    def item(d: WebDriver) -> WebElement:
        return d.find_element(By.CSS_SELECTOR, f'#scan-list li.scan[data-scan-id="{newest}"]')

    until(browser, lambda d: item(d).get_attribute("data-claimed-by") == "guichet-2", "claimed")
    assert (
        "Pris en charge par guichet-2"
        in item(browser).find_element(By.CSS_SELECTOR, ".claimed").text
    )
    browser.execute_script("arguments[0].scrollIntoView()", item(browser))
    shot(browser, "03-claimed-scan")
    released = httpx.delete(f"{agent.url}/v1/scans/{newest}/claim", headers=headers)
    assert released.status_code == 204
    until(browser, lambda d: item(d).get_attribute("data-claimed-by") == "", "released")
    assert item(browser).find_elements(By.CSS_SELECTOR, ".claimed") == []
    assert severe_console_errors(browser) == []


def test_an_unplugged_scanner_shows_disconnected_then_comes_back(browser: WebDriver, agent: Agent):
    until(browser, lambda d: device_state(d, "counter") == "connected", "the serial scanner")
    agent.scanner.write(VALID + b"\r")
    until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#scan-list li[data-device="counter"]'),
        "the serial scanner's scan",
    )
    agent.scanner.unplug()
    until(browser, lambda d: device_state(d, "counter") == "disconnected", "unplugged")
    card = device_card(browser, "counter")
    assert "Déconnecté" in card["text"] and "Dernière erreur" in card["text"]
    assert card["border"] != device_card(browser, "desk")["border"]
    until(browser, lambda d: "Appareil counter" in by_id(d, "announcer").text, "announced")
    shot(browser, "04-scanner-unplugged")
    agent.scanner.plug()
    until(browser, lambda d: device_state(d, "counter") == "connected", "plugged back")


UNREADABLE_TEXT = "code détecté mais illisible : rapprochez / éclairez"


def unreadable_notice(driver: WebDriver, device: str) -> str | None:
    """The text of the device's "code seen but unreadable" message, None when not shown; read
    in one step (the messages are rendered again on every change)."""
    text: str | None = driver.execute_script(
        "const box = document.getElementById('unreadable');"
        'const notice = box.querySelector(`.unreadable-notice[data-device="${arguments[0]}"]`);'
        "return notice && !box.hidden ? notice.innerText : null;",
        device,
    )
    return text


def webcam_scans(driver: WebDriver) -> int:
    count: int = driver.execute_script(
        "return document.querySelectorAll('#scan-list li.scan[data-device=\"webcam\"]').length"
    )
    return count


def test_a_code_seen_but_unreadable_is_said_for_its_camera(browser: WebDriver, agent: Agent):
    """The camera sees the card's code but cannot read it (its middle blanked): the page says so
    for that camera, and the message goes after a few seconds; seen unreadable again, then
    read, the scan takes the message's place at once."""
    until(browser, lambda d: device_state(d, "webcam") == "disconnected", "the camera waiting")
    damaged = damaged_datamatrix(VALID)
    readable = synthetic.datamatrix(VALID, 6)
    camera_video(
        agent.webcam,
        [(None, 3), (damaged, 30), (None, 210), (damaged, 30), (readable, 45), (None, 3)],
    )  # 1 s unreadable, 7 s of nothing, 1 s unreadable, then 1.5 s readable
    until(browser, lambda d: unreadable_notice(d, "webcam"), "the unreadable message")
    text = unreadable_notice(browser, "webcam")
    assert text is not None and UNREADABLE_TEXT in text and "webcam" in text
    assert by_id(browser, "unreadable").get_attribute("role") == "status"
    by_id(browser, "scans").screenshot(str(ARTIFACTS / "05-code-unreadable.png"))
    # nothing read and nothing more seen: the message goes by itself
    until(browser, lambda d: unreadable_notice(d, "webcam") is None, "the message gone")
    assert webcam_scans(browser) == 0
    assert not visible(browser, "unreadable")
    # unreadable again, then read: the scan arrives and the message goes with it
    until(browser, lambda d: unreadable_notice(d, "webcam"), "the second unreadable message")
    until(browser, lambda d: webcam_scans(d) == 1, "the camera's scan")
    assert unreadable_notice(browser, "webcam") is None
    until(
        browser,
        lambda d: int(device_counters(d, "webcam").get("unreadable_codes", "0")) >= 2,
        "the camera's counters",
    )
    assert severe_console_errors(browser) == []


def _pdf_with_two_pages(path: Path) -> None:
    pages = []
    for payload in (tagged("0775627391", "12345678", CURRENT, aim=""), EXPIRED[3:]):
        code = synthetic.datamatrix(payload, 5)
        canvas = Image.new("L", (700, 500), 245)
        canvas.paste(Image.fromarray(code), (700 - 60 - code.shape[1], 40))
        pages.append(canvas.convert("RGB"))
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=150)


def test_dropped_files_list_their_pages(browser: WebDriver, agent: Agent, tmp_path: Path):
    pdf = tmp_path / "courrier.pdf"
    _pdf_with_two_pages(pdf)
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image")
    # A drop feeds the same hidden file input as the "choose files" button.
    by_id(browser, "file-input").send_keys(f"{pdf}\n{notes}")
    until(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#file-results li.file-result")) == 2,
        "both files' results",
    )
    pdf_result = browser.find_element(By.CSS_SELECTOR, '#file-results li[data-file="courrier.pdf"]')
    pages = pdf_result.find_elements(By.CSS_SELECTOR, "section.file-page")
    assert [p.get_attribute("data-page") for p in pages] == ["1", "2"]
    assert pages[0].find_element(By.CSS_SELECTOR, "article").get_attribute("data-validity") == (
        "current"
    )
    assert pages[1].find_element(By.CSS_SELECTOR, "article").get_attribute("data-validity") == (
        "expired"
    )
    assert "2 codes trouvés" in pdf_result.text
    bad = browser.find_element(By.CSS_SELECTOR, '#file-results li[data-file="notes.txt"]')
    assert "failed" in bad.get_attribute("class")
    assert "ni une image ni un PDF" in bad.text and "not_an_image" in bad.text
    summary = by_id(browser, "batch-summary").text
    assert "2 fichier(s)" in summary and "1 fichier(s) illisible(s)" in summary
    # the codes of the batch counted by decision: the current one covered, the expired one not
    assert "1 couverte(s), 0 à vérifier, 1 non couverte(s), 0 code(s) refusé(s)" in summary
    counts = by_id(browser, "batch-summary")
    assert [counts.get_attribute(f"data-{d}") for d in ("covered", "not_covered")] == ["1", "1"]
    assert "2 fichiers lus" in by_id(browser, "batch-status").text
    # Uploaded codes stay in their panel, not among the devices' scans.
    assert browser.find_elements(By.CSS_SELECTOR, '#scan-list li[data-device="upload"]') == []
    browser.execute_script("document.getElementById('documents').scrollIntoView()")
    shot(browser, "05-dropped-files")


def test_the_self_test_panel_runs_the_agents_self_test(browser: WebDriver, agent: Agent):
    """Against the agent as it is: an agent without `POST /v1/selftest` (404/405) is said to
    have none; one with it gets its verdict shown."""
    probe = httpx.post(
        f"{agent.url}/v1/selftest", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60
    )
    by_id(browser, "selftest-run").click()
    if probe.status_code in (404, 405):
        until(
            browser,
            lambda d: by_id(d, "selftest-status").get_attribute("data-kind") == "unavailable",
            "self-test unavailable",
        )
        assert "pas disponible dans cette version" in by_id(browser, "selftest-status").text
    else:
        assert probe.status_code == 200, probe.text
        report = until(
            browser,
            lambda d: d.find_elements(By.CSS_SELECTOR, "#selftest-result .selftest-report"),
            "the self-test report",
        )[0]
        assert report.get_attribute("data-verdict") in ("pass", "warn", "fail")
        for device in probe.json()["devices"]:
            assert device["device_id"] in report.text
    until(browser, lambda d: by_id(d, "selftest-run").is_enabled(), "the button back")


SELFTEST_SAMPLE = {
    "verdict": "warn",
    "level": "quick",
    "started_at": "2026-03-01T09:00:00Z",
    "duration_ms": 1234.5,
    "checks": [{"code": "storage", "verdict": "pass", "message": "database writable", "fix": ""}],
    "devices": [
        {
            "device_id": "desk",
            "type": "replay",
            "verdict": "warn",
            "checks": [
                {
                    "code": "suffix",
                    "verdict": "warn",
                    "message": "codes end with LF, the device expects CR",
                    "fix": 'set suffix = "lf" for device desk',
                }
            ],
            "measurements": {"latency_ms": 12},
        }
    ],
}


def test_the_self_test_panel_shows_verdicts_and_fixes(browser: WebDriver, agent: Agent):
    """The answer of issue 6's endpoint, in its documented shape, put in place of the agent's
    404 by wrapping the page's fetch (the agent on this branch has no self-test yet)."""
    browser.execute_script(
        """
        const sample = arguments[0];
        const original = window.fetch;
        window.__selftestRequests = [];
        window.fetch = (url, init) => {
          if (String(url).endsWith("/v1/selftest")) {
            const auth = init.headers.Authorization;
            window.__selftestRequests.push({ body: init.body ?? null, auth });
            return Promise.resolve(new Response(JSON.stringify(sample),
              { status: 200, headers: { "Content-Type": "application/json" } }));
          }
          return original(url, init);
        };
        """,
        SELFTEST_SAMPLE,
    )
    select = by_id(browser, "selftest-device")
    select.find_element(By.CSS_SELECTOR, 'option[value="desk"]').click()
    by_id(browser, "selftest-run").click()
    report = until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#selftest-result .selftest-report"),
        "the self-test report",
    )[0]
    requests = browser.execute_script("return window.__selftestRequests")
    # the page's language goes with the request: the messages and fixes come back in it
    assert requests == [{"body": '{"device":"desk","lang":"fr"}', "auth": f"Bearer {TOKEN}"}]
    assert report.get_attribute("data-verdict") == "warn"
    assert "À surveiller" in report.text and "en 1235 ms" in report.text
    device = report.find_element(By.CSS_SELECTOR, '.selftest-device[data-device-id="desk"]')
    assert "codes end with LF" in device.text
    assert 'À faire : set suffix = "lf" for device desk' in device.text
    assert "database writable" in report.text
    assert by_id(browser, "selftest-status").text == ""
    browser.execute_script("document.getElementById('selftest').scrollIntoView()")
    shot(browser, "06-selftest")


def test_the_keyboard_reaches_the_main_controls_and_english_is_available(
    browser: WebDriver, agent: Agent
):
    # A reload: the token stays for the tab, the recent scans come back, the focus starts at
    # the top of the document.
    browser.refresh()
    until(browser, lambda d: by_id(d, "link-state").get_attribute("data-state") == "live", "live")
    until(browser, lambda d: len(desk_scans(d)) == len(RECORDING), "the scans again")
    reached: list[str] = []
    for _ in range(40):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        active = browser.switch_to.active_element
        reached.append(active.get_attribute("id") or active.get_attribute("class") or "?")
    for control in (
        "skip-link",
        "lang-toggle",
        "forget-token",
        "member",
        "choose-files",
        "selftest-device",
        "selftest-run",
    ):
        assert control in reached, (control, reached)
    assert reached.index("skip-link") < reached.index("lang-toggle") < reached.index("member")
    # The toggle works from the keyboard, and the focus ring shows where it is.
    toggle = by_id(browser, "lang-toggle")
    browser.execute_script("arguments[0].focus()", toggle)
    assert toggle.value_of_css_property("outline-style") != "none"
    toggle.send_keys(Keys.ENTER)
    until(
        browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "en"
    )
    assert by_id(browser, "scans-title").text == "Scans"
    scan_list = browser.find_element(By.ID, "scan-list").text
    assert "Expired" in scan_list and "Not covered" in scan_list and "To check" in scan_list
    assert "The attestation had expired on the date asked" in scan_list
    assert not re.search(r"\bvalid\b", scan_list, re.IGNORECASE), scan_list
    shot(browser, "07-english")
    by_id(browser, "lang-toggle").send_keys(Keys.ENTER)
    until(
        browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr", "fr"
    )


def test_the_page_recovers_when_the_agent_restarts(browser: WebDriver, agent: Agent):
    before = len(desk_scans(browser))
    agent.stop()
    until(browser, lambda d: visible(d, "banner"), "the agent-down banner")
    assert by_id(browser, "banner").get_attribute("data-kind") == "down"
    assert by_id(browser, "link-state").get_attribute("data-state") == "down"
    assert "ne répond plus" in by_id(browser, "banner").text
    shot(browser, "08-agent-down")

    # The same agent comes back on the same port; its replay device plays the recording
    # again, possibly before the page is back: those scans come by the event ids replay.
    agent.start()
    until(browser, lambda d: by_id(d, "link-state").get_attribute("data-state") == "live", "live")
    until(browser, lambda d: len(desk_scans(d)) == before + len(RECORDING), "the new scans")
    until(browser, lambda d: device_state(d, "desk") == "stopped", "device state resynced")
    assert by_id(browser, "banner").get_attribute("data-kind") == "back"
    shot(browser, "09-agent-back")
    # Same ids are never shown twice.
    ids = [s.get_attribute("data-scan-id") for s in desk_scans(browser)]
    assert len(ids) == len(set(ids))
    assert severe_console_errors(browser) == []
