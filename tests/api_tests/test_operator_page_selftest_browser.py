"""The self-test in the operator page, in a real headless Chromium against a real agent: run it
in French (verdicts, check headings and fixes in French), download the test card, and pass the
test-card step of a reader.

The agent is `scanner-agent serve` in a subprocess with a `replay` reader whose recording does
not exist yet (the reader shows as disconnected, so the self-test fails it with a fix); when
the page's test-card step waits, the test writes the recording of the card's codes and the
reader plays it, as an operator scanning the printed card would. Screenshots go to
`test-artifacts/operator-page/`.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists() or not Path("/usr/bin/chromedriver").exists():
    pytest.skip(
        "the operator page's browser tests need Debian's chromium and chromium-driver "
        "(`make test` installs them when run as root)",
        allow_module_level=True,
    )
pytest.importorskip("selenium.webdriver", reason="selenium (test extra) missing")
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from scanner_agent.selftest import CHECKS
from scanner_agent.selftest.texts import generic_fix
from tests.helpers.browser import (
    ServedAgent,
    by_id,
    chromium,
    log_in,
    open_page,
    served,
    severe_console_errors,
    shot,
    until,
)
from tests.helpers.devices import replay_recording
from tests.helpers.selftest import card_bytes

TOKEN = "page-selftest-token-0123456789abcdef"
CARD = ("gs1", "qr", "tagged-050", "pipes-033", "fixed-050")
"""The card's codes as the operator scans them (the refused ones first: the step ends as soon
as the card's attestations are all read)."""


class Agent(ServedAgent):
    """A reader (`lecteur`, replay) waiting for its recording, and a serial scanner that is not
    plugged in (`absent`)."""

    def __init__(self, folder: Path, port: int) -> None:
        self.recording = folder / "lecteur.jsonl"
        super().__init__(
            folder,
            port,
            f'[agent]\ndata_dir = "{folder / "data"}"\nlog_level = "info"\n'
            f"[api]\nport = {port}\n"
            "[pipeline]\nreconnect_min_s = 0.2\nreconnect_max_s = 0.5\n"
            "[parser]\nreferential_max_age_days = 36500\n"
            f'[[devices]]\nid = "lecteur"\ntype = "replay"\npath = "{self.recording}"\n'
            f'[[devices]]\nid = "absent"\ntype = "serial"\nport = "{folder / "ttyACM-none"}"\n',
            TOKEN,
        )

    def scan_the_card(self) -> None:
        partial = self.recording.with_suffix(".tmp")
        replay_recording(partial, "serial", [card_bytes(keys=CARD)])
        partial.replace(self.recording)

    def logged(self, text: str) -> bool:
        return text in (self.folder / "agent.log").read_text("utf-8", "replace")


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    with served(Agent, "scanner-agent-page-selftest-") as running:
        yield running


@pytest.fixture(scope="module")
def browser(agent: Agent) -> Iterator[WebDriver]:
    with chromium() as driver:
        open_page(driver, agent.url)
        log_in(driver, TOKEN)
        until(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#card-readers li"), "readers")
        yield driver


def test_the_self_test_runs_in_french_with_its_fixes(browser: WebDriver, agent: Agent):
    by_id(browser, "selftest-run").click()
    report = until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#selftest-result .selftest-report"),
        "the self-test report",
    )[0]
    assert report.get_attribute("data-verdict") == "fail"
    assert "Échec" in report.text
    absent = report.find_element(By.CSS_SELECTOR, '.selftest-device[data-device-id="absent"]')
    failed = absent.find_element(By.CSS_SELECTOR, 'li.check[data-code="device_not_found"]')
    assert failed.find_element(By.CSS_SELECTOR, ".check-title").text == "Appareil introuvable"
    # the fix in French, as the agent's catalogue has it
    fix = failed.find_element(By.CSS_SELECTOR, ".fix").text
    assert fix == f"À faire : {generic_fix('device_not_found', 'fr')}"
    assert CHECKS["device_not_found"] not in fix
    general = report.find_element(By.CSS_SELECTOR, 'li.check[data-code="storage_ok"]')
    assert "Stockage des lectures" in general.text and "Réussi" in general.text
    browser.execute_script("document.getElementById('selftest').scrollIntoView()")
    shot(browser, "selftest-fr")


def test_the_test_card_is_downloaded_from_the_page(browser: WebDriver, agent: Agent):
    browser.execute_script(
        """
        window.__downloads = [];
        const made = URL.createObjectURL;
        URL.createObjectURL = (blob) => {
          blob.arrayBuffer().then((b) => {
            window.__pdfHead = String.fromCharCode(...new Uint8Array(b.slice(0, 5)));
          });
          window.__blobType = blob.type;
          return made(blob);
        };
        const click = HTMLAnchorElement.prototype.click;
        HTMLAnchorElement.prototype.click = function () {
          if (this.download) {
            window.__downloads.push(this.download);  // no file dialog in a test
            return;
          }
          return click.call(this);
        };
        """
    )
    by_id(browser, "testcard-download").click()
    until(browser, lambda d: d.execute_script("return window.__pdfHead"), "the card's PDF")
    assert browser.execute_script("return window.__downloads") == ["carte-de-test.pdf"]
    assert browser.execute_script("return window.__pdfHead") == "%PDF-"
    assert browser.execute_script("return window.__blobType") == "application/pdf"
    assert by_id(browser, "testcard-status").text == ""


def test_a_reader_passes_the_test_card_step(browser: WebDriver, agent: Agent):
    reader = browser.find_element(By.CSS_SELECTOR, '#card-readers li[data-device-id="lecteur"]')
    reader.find_element(By.CSS_SELECTOR, "button.card-test").click()
    prompt = until(
        browser,
        lambda d: by_id(d, "card-prompt").text if by_id(d, "card-wait").is_displayed() else None,
        "the test-card prompt",
    )
    assert prompt.startswith("Scannez la carte de test avec lecteur (")
    assert prompt.endswith(" s)")
    shot(browser, "selftest-card-waiting")
    # the agent watches the reader (it says so once it does): the operator scans the card
    until(browser, lambda d: agent.logged("test-card step of lecteur: waiting"), "the wait")
    agent.scan_the_card()
    report = until(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, "#card-result .selftest-report"),
        "the test-card verdict",
    )[0]
    assert report.get_attribute("data-verdict") == "pass"
    complete = report.find_element(By.CSS_SELECTOR, 'li.check[data-code="testcard_complete"]')
    assert "Carte de test lue" in complete.text and "Réussi" in complete.text
    codes = {
        item.get_attribute("data-card-code"): item.get_attribute("data-outcome")
        for item in report.find_elements(By.CSS_SELECTOR, "li[data-card-code]")
    }
    assert codes == {
        "tagged-050": "as_designed",
        "fixed-050": "as_designed",
        "gs1": "as_designed",
        "qr": "as_designed",
    }
    assert "Comme prévu" in report.text
    assert not by_id(browser, "card-wait").is_displayed()
    browser.execute_script("document.getElementById('selftest-card').scrollIntoView()")
    shot(browser, "selftest-card-passed")


def test_a_reader_test_can_be_cancelled(browser: WebDriver, agent: Agent):
    reader = browser.find_element(By.CSS_SELECTOR, '#card-readers li[data-device-id="absent"]')
    reader.find_element(By.CSS_SELECTOR, "button.card-test").click()
    until(browser, lambda d: by_id(d, "card-wait").is_displayed(), "the test-card prompt")
    by_id(browser, "card-cancel").click()
    status = until(browser, lambda d: by_id(d, "card-status").text, "the cancellation")
    assert status == "Test de lecture annulé pour absent."
    assert not browser.find_elements(By.CSS_SELECTOR, "#card-result .selftest-report")
    # the page went away from the request: the agent stopped waiting
    until(browser, lambda d: agent.logged("test-card step of absent: stopped"), "the stop")
    assert severe_console_errors(browser) == []
