"""The kiosk's screen end to end, in a real headless Chromium against a real agent.

`scanner-agent serve` runs in a subprocess with a known token, a `demo` device (a sample code
every few seconds, as the issue asks: "scan the demo device") and a serial scanner on a
pseudo-terminal that the tests write codes to; `[kiosk] result_s` is small and `[api]
max_wait_s` too, so that the kiosk's long polls end in 204s and loop. Screenshots go to
`test-artifacts/kiosk/`.

What the kiosk shows over time is recorded in the page itself (a MutationObserver on the
screen's state and the result's scan id, installed by the test): a transition is asserted
from that record, not by catching the screen at the right moment.

The tests share one agent and one browser and run in file order; the last one restarts the
agent under the page.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanner_agent.decision import PATIENT_MESSAGES
from tests.helpers.devices import PtyScanner

if not Path("/usr/bin/chromium").exists() or not Path("/usr/bin/chromedriver").exists():
    pytest.skip(
        "the kiosk's browser tests need Debian's chromium and chromium-driver "
        "(`make test` installs them when run as root)",
        allow_module_level=True,
    )
pytest.importorskip("selenium.webdriver", reason="selenium (test extra) missing")
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.helpers.browser import (
    CURRENT,
    KIOSK_ARTIFACTS,
    ServedAgent,
    by_id,
    chromium,
    log_in,
    open_page,
    served,
    severe_console_errors,
    shot,
    tagged,
)
from tests.helpers.browser import until as until_in

TOKEN = "kiosk-test-token-0123456789abcdef"
CLIENT = "borne-hall"
WAITING = "Présentez le code de votre attestation devant le lecteur"


def until(driver: WebDriver, condition: Any, what: str) -> Any:
    return until_in(driver, condition, what, KIOSK_ARTIFACTS)


class Agent(ServedAgent):
    """The agent under the kiosk: a demo device and a serial scanner ("borne")."""

    def __init__(self, folder: Path, port: int) -> None:
        self.scanner = PtyScanner(folder)
        super().__init__(
            folder,
            port,
            f'[agent]\ndata_dir = "{folder / "data"}"\nlog_level = "warning"\n'
            f"[api]\nport = {port}\nmax_wait_s = 3\n"
            "[pipeline]\nreconnect_min_s = 0.2\nreconnect_max_s = 0.5\n"
            "[parser]\nreferential_max_age_days = 36500\n"
            f'[kiosk]\nclient = "{CLIENT}"\nresult_s = 2\n'
            '[[devices]]\nid = "demo"\ntype = "demo"\ninterval_s = 4\n'
            f'[[devices]]\nid = "borne"\ntype = "serial"\nport = "{self.scanner.link}"\n',
            TOKEN,
        )

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    with served(Agent, "scanner-agent-kiosk-") as running:
        yield running
    running.scanner.unplug()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium(window="1280,1024") as driver:
        yield driver


RECORDER = """
window.__kiosk = [];
const result = document.getElementById("result");
const note = () => window.__kiosk.push({
  state: document.body.dataset.state,
  scan: result.dataset.scanId || null,
  decision: result.dataset.decision || null,
  headline: document.getElementById("result-headline").textContent,
  message: document.getElementById("result-message").textContent,
});
const observer = new MutationObserver(note);
observer.observe(document.body, { attributes: true, attributeFilter: ["data-state"] });
observer.observe(result, { attributes: true, attributeFilter: ["data-scan-id"] });
"""


def record(driver: WebDriver) -> None:
    driver.execute_script(RECORDER)


def history(driver: WebDriver) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = driver.execute_script("return window.__kiosk")
    return entries


def shown(driver: WebDriver) -> list[dict[str, Any]]:
    """The results the kiosk has shown since `record`, in order."""
    return [entry for entry in history(driver) if entry["state"] == "result" and entry["scan"]]


def state(driver: WebDriver) -> str | None:
    value: str | None = driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")
    return value


def page_text(driver: WebDriver) -> str:
    text: str = driver.execute_script(
        "return document.body.innerText + '\\n' + document.documentElement.outerHTML"
    )
    return text


MEMBERS = iter(range(31000001, 31099999))


def borne_code() -> bytes:
    """A covered attestation with a member number never used before (no duplicate)."""
    return tagged("0775627391", str(next(MEMBERS)), CURRENT) + b"\r"


def latest_borne_scan(agent: Agent) -> dict[str, Any] | None:
    answer = agent.api("GET", "/v1/scans/latest?device=borne")
    scan: dict[str, Any] | None = answer.json() if answer.status_code == 200 else None
    return scan


def new_claimed_scan(driver: WebDriver, agent: Agent, before: dict[str, Any] | None) -> Any:
    """The serial scanner's latest scan once it is not `before` and someone has claimed it."""

    def claimed(_: WebDriver) -> dict[str, Any] | None:
        scan = latest_borne_scan(agent)
        fresh = scan and scan["id"] != (before or {}).get("id") and scan["claimed_by"]
        return scan if fresh else None

    return until(driver, claimed, "the serial scanner's next scan, claimed")


# --- the tests, in order ----------------------------------------------------------------------


def test_the_kiosk_asks_for_its_token_then_waits_for_a_patient(browser: WebDriver, agent: Agent):
    open_page(browser, agent.url, "/kiosk")
    assert state(browser) == "login"
    log_in(browser, "this-is-not-the-right-token")
    until(
        browser,
        lambda d: by_id(d, "login-error").get_attribute("data-key") == "login_token_invalid",
        "the wrong token message",
    )
    assert "Jeton refusé" in by_id(browser, "login-error").text
    assert browser.execute_script("return window.sessionStorage.length") == 0
    shot(browser, "00-token-refused", KIOSK_ARTIFACTS)
    log_in(browser, TOKEN)
    until(browser, lambda d: state(d) == "waiting", "waiting")
    assert by_id(browser, "waiting-text").text == WAITING
    assert by_id(browser, "waiting").is_displayed() and not by_id(browser, "result").is_displayed()
    assert browser.execute_script("return window.sessionStorage.getItem('scanner-agent.token')")
    assert browser.execute_script("return window.localStorage.length") == 0
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    shot(browser, "01-waiting", KIOSK_ARTIFACTS)
    assert severe_console_errors(browser) == []


def test_a_demo_scan_is_shown_in_the_patients_words_then_the_kiosk_waits_again(
    browser: WebDriver, agent: Agent
):
    record(browser)
    first = until(browser, shown, "a demo scan's result")[0]
    scan = agent.api("GET", f"/v1/scans/{first['scan']}").json()
    attestation = scan["attestation"]
    assert scan["device_id"] == "demo"
    assert scan["claimed_by"] == CLIENT  # taken for the kiosk: no desk will take it
    assert first["message"] == attestation["patient_message"]
    assert first["decision"] == attestation["decision"]
    assert first["headline"]
    if (
        state(browser) == "result"
        and by_id(browser, "result").get_attribute("data-scan-id") == first["scan"]
    ):
        text = page_text(browser)
        shot(browser, "02-result", KIOSK_ARTIFACTS)
    else:  # already gone (a slow machine): the record holds what the screen said
        text = first["headline"] + first["message"]
    for personal in (attestation.get("member_number"), attestation.get("amc_number")):
        if personal:
            assert personal not in text
    # result_s later, by itself: waiting again
    until(
        browser,
        lambda d: any(
            entry["state"] == "waiting" for entry in history(d)[history(d).index(first) :]
        ),
        "back to waiting after result_s",
    )
    # the next result, then a touch: waiting at once
    following = until(browser, lambda d: shown(d)[1:], "the next demo scan")[0]
    assert following["scan"] != first["scan"]
    touched = browser.execute_script(
        "document.getElementById('result').click(); return document.body.dataset.state"
    )
    assert touched == "waiting"
    assert by_id(browser, "waiting-text").text == WAITING
    assert severe_console_errors(browser) == []


def test_a_refused_code_says_so_in_the_patients_words(browser: WebDriver, agent: Agent):
    record(browser)
    agent.scanner.write(tagged("07756", "42", CURRENT) + b"\r")  # a bad AMC number: refused
    scan = until(browser, lambda d: latest_borne_scan(agent), "the refused scan recorded")
    assert scan["attestation"]["decision"] == "refused"
    entry = until(
        browser,
        lambda d: [e for e in shown(d) if e["scan"] == scan["id"]],
        "the refused code's result",
    )[0]
    assert entry["decision"] == "refused"
    assert entry["message"] == PATIENT_MESSAGES["refused"] == scan["attestation"]["patient_message"]
    assert entry["headline"] == "Lecture impossible"
    if by_id(browser, "result").get_attribute("data-scan-id") == scan["id"]:
        colour = by_id(browser, "result").value_of_css_property("background-color")
        assert colour == "rgba(155, 17, 26, 1)"
        shot(browser, "03-refused", KIOSK_ARTIFACTS)


def test_a_scan_a_desk_claimed_is_never_shown(browser: WebDriver, agent: Agent):
    """A desk waits for the serial scanner's scans with its own claim while the kiosk waits
    with its own: each scan goes to exactly one of them, and the kiosk shows only its own."""
    record(browser)
    desk: list[str] = []
    stop = threading.Event()

    def wait_as_a_desk() -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as http:
            while not stop.is_set():
                answer = http.get(
                    f"{agent.url}/v1/scans/next",
                    params={"claim": "guichet-1", "device": "borne", "timeout": 2},
                )
                if answer.status_code == 200:
                    assert answer.json()["claimed_by"] == "guichet-1"
                    desk.append(answer.json()["id"])

    threading.Thread(target=wait_as_a_desk, daemon=True).start()
    kiosk: list[str] = []
    try:
        for _ in range(20):  # each scan goes to either, about evenly
            before = latest_borne_scan(agent)
            agent.scanner.write(borne_code())
            scan = new_claimed_scan(browser, agent, before)
            assert scan["claimed_by"] in (CLIENT, "guichet-1")
            if scan["claimed_by"] == CLIENT:
                kiosk.append(scan["id"])
                until(
                    browser,
                    lambda d, i=scan["id"]: any(e["scan"] == i for e in shown(d)),
                    "the kiosk's own scan shown",
                )
            else:
                until(browser, lambda d, i=scan["id"]: i in desk, "the desk's answer")
            if desk and kiosk and kiosk[-1] == scan["id"]:
                break  # the kiosk has shown a scan after the desk's: it is past them
    finally:
        stop.set()
    assert desk, "the desk never won a scan against the kiosk"
    assert kiosk, "the kiosk never won a scan against the desk"
    on_screen = {entry["scan"] for entry in shown(browser)}
    assert on_screen.isdisjoint(desk)
    assert set(kiosk) <= on_screen


FAKE_SCANS = """
const [client] = arguments;
const original = window.fetch;
window.__fake = { next: 0, released: [], asked: [] };
const scan = (id, claimedBy, source) => ({
  id, received_at: new Date().toISOString(), device_id: "demo", source, symbology: "]d1",
  claimed_by: claimedBy, claimed_at: new Date().toISOString(),
  attestation: { decision: "covered", patient_message: "NE PAS AFFICHER " + id },
});
window.fetch = (url, init) => {
  const path = new URL(String(url)).pathname;
  if (path === "/v1/scans/next") {
    window.__fake.next += 1;
    window.__fake.asked.push(String(url));
    const answer = window.__fake.next === 1 ? scan("fake-desk", "guichet-2", "demo")
      : window.__fake.next === 2 ? scan("fake-typed", client, "manual") : null;
    if (answer) {
      return Promise.resolve(new Response(JSON.stringify(answer),
        { status: 200, headers: { "Content-Type": "application/json" } }));
    }
  }
  if (init?.method === "DELETE") {
    window.__fake.released.push(String(url));
    return Promise.resolve(new Response(null, { status: 204 }));
  }
  return original(url, init);
};
"""


def test_a_scan_claimed_by_someone_else_or_not_from_a_device_is_not_shown(
    browser: WebDriver, agent: Agent
):
    """Whatever the agent answers: a scan claimed for another client is not shown (an agent
    that ignored the claim), and one that is no device's (a desk's typed attestation) is given
    back."""
    record(browser)
    browser.execute_script(FAKE_SCANS, CLIENT)
    until(
        browser,
        lambda d: d.execute_script("return window.__fake.next") >= 3,
        "the kiosk's next request after the two answers",
    )
    assert all(entry["scan"] not in ("fake-desk", "fake-typed") for entry in history(browser))
    assert "NE PAS AFFICHER" not in page_text(browser)
    released = browser.execute_script("return window.__fake.released")
    assert released == [f"{agent.url}/v1/scans/fake-typed/claim?client={CLIENT}"]
    # every request claims for the kiosk's client, waits at most [api] max_wait_s, and asks
    # every device's scans (no [kiosk] device here: see the last test)
    for url in browser.execute_script("return window.__fake.asked"):
        query = httpx.URL(url).params
        assert query.get("claim") == CLIENT and query.get("timeout") == "3"
        assert "device" not in query


def test_the_kiosk_waits_calmly_while_the_agent_is_away_and_asks_a_new_token(
    browser: WebDriver, agent: Agent
):
    browser.refresh()  # the token stays for the tab; no fake fetch any more
    until(browser, lambda d: state(d) in ("waiting", "result"), "the kiosk back after a reload")
    agent.stop()
    until(browser, lambda d: state(d) == "away", "the agent-away screen")
    assert "Un instant, s'il vous plaît" in by_id(browser, "away").text
    assert "se reconnecte" in by_id(browser, "away").text
    shot(browser, "04-agent-away", KIOSK_ARTIFACTS)
    agent.start()
    until(browser, lambda d: state(d) in ("waiting", "result"), "the kiosk back by itself")
    record(browser)
    until(browser, shown, "a scan after the restart")

    # The agent comes back with another token, and the kiosk given its own reader: the kiosk
    # asks for the token again; reloaded, it takes that reader's scans only.
    agent.stop()
    until(browser, lambda d: state(d) == "away", "away again")
    agent.token = TOKEN[::-1]
    agent.config.write_text(
        agent.config.read_text().replace("result_s = 2\n", 'result_s = 2\ndevice = "borne"\n')
    )
    agent.start()
    until(browser, lambda d: state(d) == "login", "the token asked again")
    assert by_id(browser, "login-error").get_attribute("data-key") == "login_token_invalid"
    assert browser.execute_script("return window.sessionStorage.length") == 0
    log_in(browser, agent.token)
    until(browser, lambda d: state(d) == "waiting", "waiting with the new token")
    browser.refresh()
    until(browser, lambda d: state(d) == "waiting", "waiting for its own reader")
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-device") == "borne"
    record(browser)
    seen = agent.api("GET", "/v1/scans/latest?device=demo").json()["id"]
    demo = until(
        browser,
        lambda d: (
            (s := agent.api("GET", "/v1/scans/latest?device=demo").json())["id"] != seen and s
        ),
        "a demo scan while the kiosk waits for its reader",
    )
    before = latest_borne_scan(agent)
    agent.scanner.write(borne_code())
    own = new_claimed_scan(browser, agent, before)
    until(browser, lambda d: any(e["scan"] == own["id"] for e in shown(d)), "its result")
    assert own["claimed_by"] == CLIENT
    assert agent.api("GET", f"/v1/scans/{demo['id']}").json()["claimed_by"] is None
    assert [entry["scan"] for entry in shown(browser)] == [own["id"]]
    assert severe_console_errors(browser) == []
