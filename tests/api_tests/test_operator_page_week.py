"""The operator page's week panel and ROC phase line, in a real headless Chromium against a real
agent (`scanner-agent serve`, its real `GET /v1/indicators` and `GET /v1/health`).

The agent is in supervised production with the mirror AMC of the samples, and has a `replay`
device whose recording a test writes: its scans, of every decision, must show on the chart as
stacked bars of the day they were read, and the error codes and reasons in the top lists; its
camera then sees a code it cannot read, counted in the week's unreadable codes. The
browser's time zone is the agent's (`Europe/Paris` by default) so that both count the same days.
The tests share one agent and one browser and run in file order; the first sees an empty week.
Screenshots go to `test-artifacts/operator-page/`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from scanner_agent.indicators import iso_week, week_bounds
from tests.helpers.devices import camera_video, damaged_datamatrix, wait_until

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

from tests.helpers.browser import (
    ARTIFACTS,
    CURRENT,
    FUTURE,
    PAST,
    ServedAgent,
    by_id,
    chromium,
    log_in,
    open_page,
    served,
    severe_console_errors,
    shot,
    tagged,
    until,
    write_recording,
)

TOKEN = "page-week-token-0123456789abcdef"
TIMEZONE = "Europe/Paris"
MIRROR = "0775627391"
DECISIONS = ("covered", "check", "not_covered", "refused")
RECORDING = [
    tagged(MIRROR, "12345678", CURRENT),  # covered (the mirror AMC is roc)
    tagged(MIRROR, "22345678", CURRENT),
    tagged(MIRROR, "32345678", CURRENT),
    tagged(MIRROR, "55501234", PAST),  # not covered: expired
    tagged(MIRROR, "55501235", PAST),
    tagged(MIRROR, "55501236", FUTURE),  # not covered: not yet valid
    tagged("0434243085", "185057800608491", CURRENT),  # check: a member number like a NIR
    tagged("07756", "42", CURRENT),  # refused: bad_amc_number
    tagged("07757", "43", CURRENT),
    b"]d1\x1d01034531200000111719112510ABCD1234",  # refused: gs1_code
    b"]d1HELLO, THIS IS NOT AN ATTESTATION",  # refused: not_an_attestation
]


class WeekAgent(ServedAgent):
    def __init__(self, folder: Path, port: int) -> None:
        self.recording = folder / "desk.jsonl"
        self.webcam = folder / "webcam.avi"
        self.folder, self.port = folder, port
        super().__init__(
            folder,
            port,
            self.config_text("supervised"),
            TOKEN,
        )

    def config_text(self, phase: str) -> str:
        """Its configuration, with the ROC phase `phase` (read again every 0.05 s)."""
        return (
            f'[agent]\ndata_dir = "{self.folder / "data"}"\nlog_level = "warning"\n'
            f"[api]\nport = {self.port}\n"
            "[parser]\nreferential_max_age_days = 36500\nreferential_reload_s = 0.05\n"
            f'timezone = "{TIMEZONE}"\n'
            f'[roc]\nphase = "{phase}"\nmirror_amc = "{MIRROR}"\n'
            "[pipeline]\nreconnect_min_s = 0.2\nreconnect_max_s = 0.5\n"
            f'[[devices]]\nid = "desk"\ntype = "replay"\npath = "{self.recording}"\n'
            f'[[devices]]\nid = "webcam"\ntype = "camera"\nsource = "{self.webcam}"\nfps = 30\n'
        )

    def get(self, path: str, **params: str) -> Any:
        answer = httpx.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


@pytest.fixture(scope="module")
def agent() -> Iterator[WeekAgent]:
    with served(WeekAgent, "scanner-agent-week-") as running:
        yield running


@pytest.fixture(scope="module")
def browser(agent: WeekAgent) -> Iterator[WebDriver]:
    with chromium() as driver:
        driver.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": TIMEZONE})
        open_page(driver, agent.url)
        log_in(driver, TOKEN)
        until(
            driver,
            lambda d: by_id(d, "link-state").get_attribute("data-state") == "live",
            "live",
        )
        yield driver


def phase_line(driver: WebDriver) -> str | None:
    """The ROC phase line's text, None while hidden (read in one step)."""
    text: str | None = driver.execute_script(
        "const line = document.getElementById('roc-phase');"
        "return line.hidden ? null : line.textContent;"
    )
    return text


def needs_the_indicators_route(agent: WeekAgent) -> None:
    """Skip while the agent has no `GET /v1/indicators` (an agent from before it answers 404:
    the page then says, in a sentence, that this version gives no indicators)."""
    answer = httpx.get(f"{agent.url}/v1/indicators", headers={"Authorization": f"Bearer {TOKEN}"})
    if answer.status_code in (404, 405):
        pytest.skip("this agent has no GET /v1/indicators yet")


def week_state(driver: WebDriver) -> str | None:
    state: str | None = by_id(driver, "week-status").get_attribute("data-state")
    return state


def chart(driver: WebDriver) -> dict[str, Any]:
    """The chart as drawn, read in one step: each bar's day, total and segments (bottom to
    top, with their top and bottom in the SVG), the baseline, the accessible table."""
    drawn: dict[str, Any] = driver.execute_script(
        """
        const figure = document.querySelector("#week-chart figure.chart-stacked");
        if (!figure) return null;
        const svg = figure.querySelector("svg.chart-svg");
        const number = (text) => Number(text.replace(/\\D/g, ""));
        return {
          label: svg.getAttribute("aria-label"),
          role: svg.getAttribute("role"),
          title: svg.querySelector(":scope > title").textContent,
          baseline: Number(svg.querySelector(".chart-baseline").getAttribute("y1")),
          bars: [...svg.querySelectorAll("g.chart-bar")].map((bar) => ({
            day: bar.dataset.category,
            total: Number(bar.dataset.total),
            segments: [...bar.querySelectorAll("rect.chart-segment")].map((rect) => ({
              series: rect.dataset.series,
              value: Number(rect.dataset.value),
              top: Number(rect.getAttribute("y")),
              bottom: Number(rect.getAttribute("y")) + Number(rect.getAttribute("height")),
              fill: rect.getAttribute("fill"),
              hover: rect.querySelector("title").textContent,
            })),
          })),
          legend: [...figure.querySelectorAll(".chart-legend li")]
            .map((li) => li.textContent.trim()),
          table: [...figure.querySelectorAll("table.chart-table tbody tr")].map((tr) => ({
            day: tr.dataset.category,
            cells: Object.fromEntries([...tr.querySelectorAll("td")].map(
              (td) => [td.dataset.series, number(td.textContent)])),
          })),
        };
        """
    )
    return drawn


def top_list(driver: WebDriver, element_id: str) -> list[tuple[str, int, str]]:
    items: list[list[Any]] = driver.execute_script(
        "return [...document.querySelectorAll(`#${arguments[0]} li.bar-item`)].map((li) =>"
        " [li.dataset.key, Number(li.dataset.value),"
        " li.querySelector('.bar-label').textContent]);",
        element_id,
    )
    return [(key, value, label) for key, value, label in items]


# --- the tests, in order ----------------------------------------------------------------------


def test_an_empty_week_is_said_in_a_sentence_and_the_phase_is_shown(
    browser: WebDriver, agent: WeekAgent
):
    needs_the_indicators_route(agent)
    until(browser, lambda d: week_state(d) == "empty", "the empty week")
    assert "Aucune lecture cette semaine" in by_id(browser, "week-status").text
    assert browser.find_elements(By.CSS_SELECTOR, "#week-chart *") == []
    assert not by_id(browser, "week-reasons").is_displayed()
    assert by_id(browser, "week-unreadable").get_attribute("data-count") == "0"
    period = by_id(browser, "week-period").text
    assert period.startswith("Semaine ") and "-W" in period
    roc = agent.get("/v1/health")["roc"]
    assert roc == {"phase": "supervised", "mirror_amc": MIRROR, "mirror_known": True, "error": None}
    until(browser, lambda d: phase_line(d) is not None, "the ROC phase")
    assert phase_line(browser) == f"ROC : production sous surveillance (AMC miroir {MIRROR})"
    assert by_id(browser, "roc-phase").get_attribute("data-phase") == "supervised"
    by_id(browser, "week").screenshot(str(ARTIFACTS / "10-week-empty.png"))
    assert severe_console_errors(browser) == []


def test_the_weeks_scans_are_drawn_stacked_by_day_and_decision(
    browser: WebDriver, agent: WeekAgent
):
    needs_the_indicators_route(agent)
    write_recording(agent.recording, RECORDING)
    until(
        browser,
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#scan-list li.scan")) == len(RECORDING),
        "the scans",
    )
    # What the agent made of each scan: the oracle of the chart and the lists.
    scans = [s["attestation"] for s in agent.get("/v1/scans", limit="50")]
    decisions = Counter(a["decision"] for a in scans)
    assert set(decisions) == set(DECISIONS), decisions
    errors = Counter(e["code"] for a in scans if a["decision"] == "refused" for e in a["errors"])
    reasons = Counter(
        r["code"] for a in scans if a["decision"] == "not_covered" for r in a["reasons"]
    )
    # The page reads the figures again after the scans (at most every 5 s).
    until(
        browser,
        lambda d: (
            (c := chart(d)) is not None and sum(bar["total"] for bar in c["bars"]) == len(RECORDING)
        ),
        "the chart of the scans",
    )
    drawn = chart(browser)
    days = [bar["day"] for bar in drawn["bars"]]
    assert len(days) == 7  # Monday to Sunday
    # The chart is the API's answer for the week the page shows.
    answer = agent.get(
        "/v1/indicators", **{"from": days[0], "to": days[6]}, group_by="day,decision"
    )
    expected: dict[str, dict[str, int]] = {}
    for row in answer["rows"]:
        if row["decision"] in DECISIONS:
            expected.setdefault(row["day"], {})[row["decision"]] = row["scans"]
    assert answer["totals"]["scans"] == len(RECORDING)
    (scan_day,) = expected  # every scan was read today
    for bar in drawn["bars"]:
        counts = expected.get(bar["day"], {})
        series = [segment["series"] for segment in bar["segments"]]
        # one segment per decision with scans that day, stacked covered first (at the bottom)
        assert series == [d for d in DECISIONS if counts.get(d)], bar
        assert {s["series"]: s["value"] for s in bar["segments"]} == counts
        assert bar["total"] == sum(counts.values())
        below = drawn["baseline"]
        for segment in bar["segments"]:
            assert segment["bottom"] == pytest.approx(below)
            assert segment["top"] < segment["bottom"]
            below = segment["top"]
    today = next(bar for bar in drawn["bars"] if bar["day"] == scan_day)
    assert {s["series"]: s["value"] for s in today["segments"]} == dict(decisions)
    # heights in proportion to the counts
    heights = {s["series"]: s["bottom"] - s["top"] for s in today["segments"]}
    unit = heights["covered"] / decisions["covered"]
    for decision, height in heights.items():
        assert height == pytest.approx(unit * decisions[decision], rel=1e-3)
    # the page's decision colours, French names, on hover and in the legend
    fills = {s["series"]: s["fill"] for s in today["segments"]}
    assert fills == {
        "covered": "#0b5a27",
        "check": "#b26b00",
        "not_covered": "#9b111a",
        "refused": "#4a5360",
    }
    hovers = {s["series"]: s["hover"] for s in today["segments"]}
    assert hovers["covered"].endswith(f"Couvertes : {decisions['covered']}")
    assert drawn["legend"] == ["Couvertes", "À vérifier", "Non couvertes", "Codes refusés"]
    # accessible: an image with a name and a title, and the numbers as a table
    assert drawn["role"] == "img" and drawn["title"].startswith("Lectures par jour")
    assert f"{len(RECORDING)} au total" in drawn["label"]
    assert f"{decisions['covered']} couvertes" in drawn["label"]
    rows = {row["day"]: row["cells"] for row in drawn["table"]}
    assert list(rows) == days
    assert rows[scan_day] == {**dict(decisions), "total": len(RECORDING)}
    assert all(cells["total"] == 0 for day, cells in rows.items() if day != scan_day)

    # The top lists: most frequent first, French labels, the API's counts.
    refused = top_list(browser, "week-refused")
    assert [(key, value) for key, value, _ in refused] == sorted(
        errors.items(), key=lambda kv: (-kv[1], kv[0])
    )[:5]
    assert refused[0] == ("bad_amc_number", 2, "N° AMC incorrect")
    assert ("gs1_code", 1, "Code GS1 (produit)") in refused
    widths = browser.execute_script(
        "return [...document.querySelectorAll('#week-refused li.bar-item rect')]"
        ".map((r) => r.getAttribute('width'))"
    )
    assert widths[0] == "100.0%" and widths[1] == "50.0%"  # in proportion to the largest
    not_covered = top_list(browser, "week-not-covered")
    assert not_covered == [
        ("expired", reasons["expired"], "Attestation expirée"),
        ("not_yet_valid", reasons["not_yet_valid"], "Pas encore applicable"),
    ]
    assert reasons["expired"] == 2
    # A camera sees a code it cannot read: the week's count of unreadable codes is the API's.
    assert answer["totals"]["unreadable"] == 0
    camera_video(agent.webcam, [(None, 3), (damaged_datamatrix(RECORDING[0]), 30), (None, 3)])

    def unreadable_shown(d: WebDriver) -> bool:
        week = agent.get("/v1/indicators", **{"from": days[0], "to": days[6]})
        shown = by_id(d, "week-unreadable").get_attribute("data-count")
        return bool(week["totals"]["unreadable"] > 0 and shown == str(week["totals"]["unreadable"]))

    until(browser, unreadable_shown, "the unreadable codes counted")
    unreadable = by_id(browser, "week-unreadable").text
    assert unreadable.startswith("Codes détectés mais illisibles cette semaine : ")
    browser.execute_script("document.getElementById('week').scrollIntoView()")
    by_id(browser, "week").screenshot(str(ARTIFACTS / "11-week-chart.png"))
    browser.execute_script("window.scrollTo(0, 0)")
    shot(browser, "12-page-with-week")
    assert severe_console_errors(browser) == []


def test_the_week_and_the_phase_in_english(browser: WebDriver, agent: WeekAgent):
    needs_the_indicators_route(agent)
    toggle = by_id(browser, "lang-toggle")
    toggle.send_keys(Keys.ENTER)
    until(
        browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en", "en"
    )
    drawn = chart(browser)
    assert drawn["legend"] == ["Covered", "To check", "Not covered", "Codes refused"]
    assert drawn["title"].startswith("Scans per day")
    assert by_id(browser, "week-title").text == "The week"
    assert ("bad_amc_number", 2, "Wrong AMC number") in top_list(browser, "week-refused")
    assert phase_line(browser) == f"ROC: supervised production (mirror AMC {MIRROR})"
    by_id(browser, "lang-toggle").send_keys(Keys.ENTER)
    until(
        browser, lambda d: d.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr", "fr"
    )


def reload_with(driver: WebDriver, script: str) -> None:
    """Reload the page with `script` run before its own (a wrapper of `fetch`), then without."""
    added = driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": script})
    try:
        driver.refresh()
        until(driver, lambda d: week_state(d) not in (None, "loading"), "the week read")
    finally:
        driver.execute_cdp_cmd(
            "Page.removeScriptToEvaluateOnNewDocument", {"identifier": added["identifier"]}
        )


def test_an_error_of_the_indicators_is_said_never_drawn(browser: WebDriver, agent: WeekAgent):
    """The agent answers an error (its database unavailable, put in place of the real answer by
    wrapping the page's fetch): a sentence with the reason, no chart, no list."""
    needs_the_indicators_route(agent)
    reload_with(
        browser,
        """
        const original = window.fetch;
        window.fetch = (url, init) => {
          if (new URL(String(url), location.href).pathname === "/v1/indicators") {
            const body = { error: { code: "storage_unavailable", message: "database down" } };
            return Promise.resolve(new Response(JSON.stringify(body),
              { status: 503, headers: { "Content-Type": "application/json" } }));
          }
          return original(url, init);
        };
        """,
    )
    until(browser, lambda d: week_state(d) == "error", "the error sentence")
    status = by_id(browser, "week-status").text
    assert "Les indicateurs de la semaine ne sont pas disponibles" in status
    assert "base de données de l'agent est indisponible" in status
    assert browser.find_elements(By.CSS_SELECTOR, "#week-chart *") == []
    assert not by_id(browser, "week-reasons").is_displayed()
    assert not by_id(browser, "week-unreadable").is_displayed()
    by_id(browser, "week").screenshot(str(ARTIFACTS / "13-week-error.png"))
    # the real answer again
    browser.refresh()
    until(browser, lambda d: week_state(d) == "ready", "the chart back")


def test_the_chart_library_alone(browser: WebDriver, agent: WeekAgent):
    """chart.js, imported by the page from the agent (the policy allows nothing else): axis
    ticks of 1, 2 or 5 times a power of ten, no segment for a zero, a bar list in proportion."""
    drawn = browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        import("/static/chart.js").then(({ stackedBarChart, barList, tickStep }) => {
          const figure = stackedBarChart({
            title: "T", label: "L",
            categories: [{ key: "a", label: "A" }, { key: "b", label: "B\\nb" },
                         { key: "c", label: "C" }],
            series: [{ key: "x", label: "X", colour: "#000000", values: [3, 0, 1] },
                     { key: "y", label: "Y", colour: "#ffffff", values: [4, 0, 0] }],
          });
          const list = barList({ title: "B", items: [{ key: "p", label: "P", value: 8 },
                                                     { key: "q", label: "Q", value: 2 }] });
          done({
            steps: [tickStep(0), tickStep(3), tickStep(7), tickStep(40), tickStep(1234)],
            ticks: [...figure.querySelectorAll(".chart-tick")].map((t) => t.dataset.value),
            bars: [...figure.querySelectorAll(".chart-bar")].map((b) =>
              [b.dataset.category, b.dataset.total, b.querySelectorAll("rect").length]),
            lines: [...figure.querySelectorAll(".chart-category")].map((t) => t.children.length),
            table: [...figure.querySelectorAll("tbody tr")].map((tr) => tr.textContent),
            widths: [...list.querySelectorAll("rect")].map((r) => r.getAttribute("width")),
            items: [...list.querySelectorAll("li")].map((li) => li.title),
          });
        }, (error) => done({ error: String(error) }));
        """
    )
    assert "error" not in drawn, drawn
    assert drawn["steps"] == [1, 1, 2, 10, 500]
    assert drawn["ticks"] == ["0", "2", "4", "6", "8"]
    assert drawn["bars"] == [["a", "7", 2], ["b", "0", 0], ["c", "1", 1]]
    assert drawn["lines"] == [1, 2, 1]  # "B\nb" on two lines
    assert drawn["table"] == ["A347", "B b000", "C101"]
    assert drawn["widths"] == ["100.0%", "25.0%"]
    assert drawn["items"] == ["P : 8", "Q : 2"]


def test_the_page_knows_the_iso_weeks(browser: WebDriver, agent: WeekAgent):
    """The page's week is the ISO week of `scanner_agent.indicators.iso_week`, Monday to Sunday,
    across years with 53 weeks and summer time changes."""
    days = [
        date(2026, 12, 4),
        date(2021, 1, 3),
        date(2024, 12, 30),
        date(2027, 1, 1),
        date(2026, 3, 29),
        date(2026, 10, 25),
    ]
    weeks = browser.execute_async_script(
        """
        const [days, done] = [arguments[0], arguments[arguments.length - 1]];
        import("/static/week.js").then(({ currentWeek }) => done(days.map((day) => {
          const [y, m, d] = day.split("-").map(Number);
          return currentWeek(new Date(y, m - 1, d, 12));
        })), (error) => done(String(error)));
        """,
        [day.isoformat() for day in days],
    )
    for day, week in zip(days, weeks, strict=True):
        monday, sunday = week_bounds(iso_week(day))
        assert week["week"] == iso_week(day)
        assert week["days"] == [(monday + timedelta(days=i)).isoformat() for i in range(7)]
        assert week["days"][6] == sunday.isoformat()


def test_a_phase_changed_in_the_configuration_shows_without_a_restart(
    browser: WebDriver, agent: WeekAgent
):
    """The configuration file edited while the agent runs: its health says the new phase, and
    the page, read again, says it too."""
    until(browser, lambda d: phase_line(d) is not None, "the ROC phase")
    assert phase_line(browser) == f"ROC : production sous surveillance (AMC miroir {MIRROR})"
    agent.config.write_text(agent.config_text("not_started"))
    wait_until(lambda: agent.get("/v1/health")["roc"]["phase"] == "not_started")
    browser.refresh()
    until(browser, lambda d: phase_line(d) == "ROC : non démarré", "the new phase")
    assert by_id(browser, "roc-phase").get_attribute("data-phase") == "not_started"
    agent.config.write_text(agent.config_text("trust_circle"))
    wait_until(lambda: agent.get("/v1/health")["roc"]["phase"] == "trust_circle")
    browser.refresh()
    until(browser, lambda d: phase_line(d) == "ROC : cercle de confiance", "the trust circle")
    shot(browser, "14-roc-trust-circle")


HEALTH_WITH_ROC = """
const original = window.fetch;
window.fetch = async (url, init) => {
  const response = await original(url, init);
  if (new URL(String(url), location.href).pathname !== "/v1/health") return response;
  const health = await response.json();
  return new Response(JSON.stringify({ ...health, roc }),
    { status: 200, headers: { "Content-Type": "application/json" } });
};
"""
"""Run before the page's scripts after `const roc = ...;`: /v1/health answers with that `roc`."""


@pytest.mark.parametrize(
    ("roc", "text"),
    [
        (
            {"phase": "not_started", "mirror_amc": None, "mirror_known": None, "error": None},
            "ROC : non démarré",
        ),
        (
            {"phase": "trust_circle", "mirror_amc": None, "mirror_known": None, "error": None},
            "ROC : cercle de confiance",
        ),
        (
            {
                "phase": "supervised",
                "mirror_amc": "123456789",
                "mirror_known": False,
                "error": None,
            },
            "ROC : production sous surveillance (AMC miroir 123456789, absente du référentiel "
            "local)",
        ),
        (
            {
                "phase": "supervised",
                "mirror_amc": "123456789",
                "mirror_known": True,
                "error": "the configuration file does not load: the previous phase stays",
            },
            "ROC : production sous surveillance (AMC miroir 123456789) — the configuration file "
            "does not load: the previous phase stays",
        ),
    ],
)
def test_each_roc_phase_has_its_line(
    browser: WebDriver, agent: WeekAgent, roc: dict[str, Any], text: str
):
    """`/v1/health`'s `roc` in its documented shape, put in the agent's answer by wrapping the
    page's fetch: the line says the phase in French, and the error when there is one."""
    reload_with(browser, f"const roc = {json.dumps(roc)};" + HEALTH_WITH_ROC)
    line = until(
        browser,
        lambda d: by_id(d, "roc-phase") if by_id(d, "roc-phase").is_displayed() else None,
        "the ROC phase",
    )
    assert line.text == text
    assert line.get_attribute("data-phase") == roc["phase"]
    assert (line.get_attribute("data-error") is not None) == bool(roc["error"])
    if roc["error"]:
        shot(browser, "15-roc-phase-error")
