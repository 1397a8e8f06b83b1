"""Shared helpers of the operator page's browser tests: a real headless Chromium (Debian's, with
its chromedriver: Selenium never downloads anything), `scanner-agent serve` in a subprocess, and
waits on what the page shows.

    with chromium() as driver:                 # or the test file's module fixture
        agent = ServedAgent(folder, free_port(), config_text)
        agent.start()
        open_page(driver, agent.url)
        log_in(driver, TOKEN)
        until(driver, lambda d: ..., "what the page should show")

Import it only after `pytest.importorskip("selenium.webdriver")` and the Chromium check, as the
browser test files do.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.api import free_port, wait_healthy

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "operator-page"
KIOSK_ARTIFACTS = ROOT / "test-artifacts" / "kiosk"
WAIT_S = 20


def have_chromium() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


@contextmanager
def chromium(window: str = "1400,1000") -> Iterator[WebDriver]:
    """A headless Chromium in a throw-away profile, French, its console log kept."""
    profile = tempfile.mkdtemp(prefix="scanner-agent-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        f"--window-size={window}",
        "--lang=fr-FR",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(WAIT_S)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class ServedAgent:
    """`scanner-agent serve --config <folder>/agent.toml` with token `token`, started and stopped
    by the test; its log in `<folder>/agent.log`."""

    def __init__(self, folder: Path, port: int, config: str, token: str) -> None:
        self.folder = folder
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.config = folder / "agent.toml"
        self.config.write_text(config)
        self.token = token
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "SCANNER_AGENT_TOKEN": self.token}
        log = (self.folder / "agent.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "scanner_agent.cli", "serve", "--config", str(self.config)],
            env=env,
            stdout=log,
            stderr=log,
        )
        wait_healthy(self.url, self.proc, self.folder / "agent.log", timeout=30)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None


Served = TypeVar("Served", bound=ServedAgent)


@contextmanager
def served(make: Callable[[Path, int], Served], prefix: str) -> Iterator[Served]:
    """The agent `make(folder, port)` builds, in a throw-away folder on a free port: started,
    then stopped and its folder removed, whatever the tests did."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    agent = make(folder, free_port())
    try:
        agent.start()
        yield agent
    finally:
        agent.stop()
        shutil.rmtree(folder, ignore_errors=True)


GS = "\x1d"
TODAY = date.today()
CURRENT = (date(TODAY.year, 1, 1), date(TODAY.year, 12, 31))
"""A validity period holding today, whatever day the tests run."""
PAST = (date(TODAY.year - 1, 1, 1), date(TODAY.year - 1, 12, 31))
FUTURE = (date(TODAY.year + 1, 1, 1), date(TODAY.year + 1, 12, 31))


def tagged(amc: str, member: str, period: tuple[date, date], aim: str = "]d1") -> bytes:
    """A tagged attestation (`AMCTP01`, with the scanner's AIM prefix) valid over `period`."""
    dd, df = (d.strftime("%Y%m%d") for d in period)
    fields = f"AMC:{amc}{GS}TC:MU{GS}CSR:{GS}ADH:{member}{GS}DD:{dd}{GS}DF:{df}"
    return f"{aim}AMCTP01{GS}{fields}".encode("latin-1")


def write_recording(path: Path, payloads: list[bytes]) -> None:
    """A serial recording (CR after each code), written whole at once as a device would."""
    lines = [json.dumps({"recording": 1, "protocol": "serial"})]
    lines += [json.dumps({"t": 0.05 * i, "hex": (p + b"\r").hex()}) for i, p in enumerate(payloads)]
    partial = path.with_suffix(".tmp")
    partial.write_text("\n".join(lines) + "\n")
    partial.replace(path)


def shot(driver: WebDriver, name: str, folder: Path = ARTIFACTS) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(folder / f"{name}.png"))


def until(
    driver: WebDriver,
    condition: Callable[[WebDriver], Any],
    what: str,
    folder: Path = ARTIFACTS,
) -> Any:
    """The condition's first true value, polled every 0.1 s for WAIT_S; a screenshot (in
    `folder`) and a failure naming `what` otherwise."""
    try:
        # an element found, then rendered again before it is read, is looked for again
        wait = WebDriverWait(
            driver, WAIT_S, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]
        )
        return wait.until(condition)
    except TimeoutException:
        shot(driver, f"timeout-{what.replace(' ', '-')}", folder)
        raise AssertionError(f"the page never showed: {what}") from None


def by_id(driver: WebDriver, element_id: str) -> WebElement:
    return driver.find_element(By.ID, element_id)


def visible(driver: WebDriver, element_id: str) -> bool:
    return bool(by_id(driver, element_id).is_displayed())


def severe_console_errors(driver: WebDriver) -> list[str]:
    """Script errors and CSP violations (a refused request is logged too: those are expected)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
        and ("Content Security Policy" in entry["message"] or "Uncaught" in entry["message"])
    ]


def open_page(driver: WebDriver, url: str, path: str = "/") -> None:
    """The page at `url` + `path` (the operator page; `/kiosk`), its tab's storage emptied,
    once its dictionaries are loaded."""
    driver.get(f"{url}{path}")
    driver.execute_script("window.sessionStorage.clear(); window.localStorage.clear();")
    driver.get(f"{url}{path}")
    until(
        driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "ready"
    )


def log_in(driver: WebDriver, token: str) -> None:
    field = until(
        driver, lambda d: by_id(d, "token-input") if visible(d, "login") else None, "login"
    )
    field.clear()
    field.send_keys(token, Keys.ENTER)
