// The week panel and the ROC phase line.
//
// "La semaine": the scans of each day of the current ISO week (Monday to Sunday, the browser's
// calendar) by decision, stacked; the five most frequent error codes of refused scans and reasons
// of not-covered scans; the codes seen but not read. Three reads of GET /v1/indicators (counts
// only, never personal), again when a scan arrives (at most every THROTTLE_MS) and every
// REFRESH_MS. The ROC phase comes from GET /v1/health's `roc` (absent on an older agent: no
// line). An error or an empty week is said in a sentence, never drawn.

import { barList, stackedBarChart } from "./chart.js";
import { has, locale, t } from "./i18n.js";
import { DECISIONS, apiErrorText, h } from "./views.js";

export const THROTTLE_MS = 5000;
export const REFRESH_MS = 3 * 60 * 1000;
const TOP = 5;

/** The page's decision colours (style.css: --ok-ink, the amber edge, --bad-ink, --muted). */
export const DECISION_COLOURS = {
  covered: "#0b5a27",
  check: "#b26b00",
  not_covered: "#9b111a",
  refused: "#4a5360",
};

const $ = (id) => document.getElementById(id);

function isoDate(day) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

/** The ISO week holding `today`: its name ("2026-W49") and its days, Monday first. */
export function currentWeek(today = new Date()) {
  const monday = new Date(today.getFullYear(), today.getMonth(), today.getDate());
  monday.setDate(monday.getDate() - ((monday.getDay() + 6) % 7));
  const days = Array.from({ length: 7 }, (_, i) => {
    const day = new Date(monday);
    day.setDate(monday.getDate() + i);
    return day;
  });
  const thursday = days[3];
  const firstThursday = new Date(thursday.getFullYear(), 0, 4);
  firstThursday.setDate(firstThursday.getDate() - ((firstThursday.getDay() + 6) % 7) + 3);
  const number = 1 + Math.round((thursday - firstThursday) / (7 * 86400000));
  return {
    week: `${thursday.getFullYear()}-W${String(number).padStart(2, "0")}`,
    days: days.map(isoDate),
  };
}

function formatNumber(n) {
  return new Intl.NumberFormat(locale()).format(n);
}

function dayLabel(iso, style) {
  const [year, month, day] = iso.split("-").map(Number);
  const value = new Date(year, month - 1, day);
  if (style === "weekday") return new Intl.DateTimeFormat(locale(), { weekday: "short" }).format(value);
  if (style === "short") return new Intl.DateTimeFormat(locale(), { day: "2-digit", month: "2-digit" }).format(value);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short" }).format(value);
}

/** The five codes seen most often in `rows` (grouped by `dimension`), most frequent first. */
function top(rows, dimension) {
  return rows
    .filter((row) => row[dimension] && row.scans > 0)
    .sort((a, b) => b.scans - a.scans || String(a[dimension]).localeCompare(String(b[dimension])))
    .slice(0, TOP)
    .map((row) => ({ key: row[dimension], value: row.scans }));
}

export class WeekPanel {
  /**
   * @param {import("./agent.js").AgentClient} client
   * @param {(error: Error) => void} handleError told of each failed read (the page asks for
   *   the token again when it was refused); the panel says the error itself
   */
  constructor(client, handleError) {
    this.client = client;
    this.handleError = handleError;
    this.period = currentWeek();
    this.data = null; // { days, refused, notCovered, totals } once read
    this.error = null;
    this.loading = false;
    this.again = false;
    this.last = 0; // when the last read started (performance.now())
    this.timer = null;
    this.interval = null;
    this.roc = undefined; // /v1/health's roc; undefined: not known yet
  }

  /** Read now, then every REFRESH_MS (the ROC phase with each read). */
  start() {
    this.stop();
    this.interval = setInterval(() => this.refresh(), REFRESH_MS);
    this.refresh();
  }

  stop() {
    clearInterval(this.interval);
    clearTimeout(this.timer);
    this.interval = null;
    this.timer = null;
  }

  /** A scan arrived: read again, at most once every THROTTLE_MS (the last scan of a burst is
   * always counted: a read is scheduled for the end of the interval). */
  scanArrived() {
    if (this.interval === null || this.timer !== null) return;
    const wait = this.last + THROTTLE_MS - performance.now();
    if (wait <= 0 && !this.loading) {
      this.refresh();
      return;
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, Math.max(0, wait));
  }

  async refresh() {
    if (this.loading) {
      this.again = true;
      return;
    }
    this.loading = true;
    this.last = performance.now();
    this.period = currentWeek();
    this.refreshPhase(); // a phase changed in the configuration applies without a restart
    const span = { from: this.period.days[0], to: this.period.days[6] };
    try {
      const [days, refused, notCovered] = await Promise.all([
        this.client.indicators({ ...span, group_by: "day,decision" }),
        this.client.indicators({ ...span, group_by: "error", decision: "refused" }),
        this.client.indicators({ ...span, group_by: "reason", decision: "not_covered" }),
      ]);
      this.data = { days: days.rows, totals: days.totals, refused: refused.rows, notCovered: notCovered.rows };
      this.error = null;
    } catch (error) {
      this.data = null;
      this.error = error;
      this.handleError(error);
    } finally {
      this.loading = false;
    }
    this.render();
    if (this.again) {
      this.again = false;
      this.scanArrived();
    }
  }

  async refreshPhase() {
    try {
      this.setHealth(await this.client.health());
    } catch {
      // the agent away: the stream says so; the line keeps the last phase known
    }
  }

  /** /v1/health's answer (or null): the ROC phase line. */
  setHealth(health) {
    if (!health) return;
    this.roc = health.roc ?? null;
    this.renderPhase();
  }

  render() {
    this.renderPhase();
    const { week, days } = this.period;
    $("week-period").textContent = t("week_period", {
      week, from: dayLabel(days[0]), to: dayLabel(days[6]),
    });
    const status = $("week-status");
    const chart = $("week-chart");
    const reasons = $("week-reasons");
    const unreadable = $("week-unreadable");
    if (!this.data) {
      chart.replaceChildren();
      reasons.hidden = true;
      unreadable.hidden = true;
      if (this.error) {
        const missing = this.error.status === 404 || this.error.status === 405;
        status.dataset.state = "error";
        status.textContent = missing
          ? t("week_unavailable")
          : t("week_error", { reason: apiErrorText(this.error) });
      } else {
        status.dataset.state = "loading";
        status.textContent = t("week_loading");
      }
      return;
    }
    const { totals } = this.data;
    unreadable.hidden = false;
    unreadable.dataset.count = String(totals.unreadable ?? 0);
    unreadable.textContent = t("week_unreadable", { n: totals.unreadable ?? 0, count: formatNumber(totals.unreadable ?? 0) });
    if (!(totals.scans > 0)) {
      status.dataset.state = "empty";
      status.textContent = t("week_empty");
      chart.replaceChildren();
      reasons.hidden = true;
      return;
    }
    status.dataset.state = "ready";
    status.textContent = "";
    chart.replaceChildren(this.chart());
    reasons.hidden = false;
    $("week-refused").replaceChildren(this.list("refused", top(this.data.refused, "error"), "week_error_label", "error"));
    $("week-not-covered").replaceChildren(this.list("not_covered", top(this.data.notCovered, "reason"), "week_reason_label", "reason"));
  }

  chart() {
    const { week, days } = this.period;
    const counts = Object.fromEntries(DECISIONS.map((d) => [d, days.map(() => 0)]));
    for (const row of this.data.days) {
      const index = days.indexOf(row.day);
      if (index >= 0 && counts[row.decision]) counts[row.decision][index] += row.scans;
    }
    const sums = Object.fromEntries(DECISIONS.map((d) => [d, counts[d].reduce((a, b) => a + b, 0)]));
    return stackedBarChart({
      title: t("week_chart_title", { week }),
      label: t("week_chart_label", {
        week, total: formatNumber(this.data.totals.scans),
        ...Object.fromEntries(DECISIONS.map((d) => [d, formatNumber(sums[d])])),
      }),
      categories: days.map((day) => ({ key: day, label: `${dayLabel(day, "weekday")}\n${dayLabel(day, "short")}` })),
      series: DECISIONS.map((d) => ({
        key: d, label: t(`decision_count.${d}`), colour: DECISION_COLOURS[d], values: counts[d],
      })),
      headers: { category: t("week_day"), total: t("week_total") },
      format: formatNumber,
      colon: t("colon"),
    });
  }

  list(decision, items, section, fallback) {
    if (!items.length) return h("p", { class: "empty" }, t(`week_none.${decision}`));
    return barList({
      title: t(`week_top.${decision}`),
      items: items.map(({ key, value }) => ({
        key, value,
        label: has(`${section}.${key}`) ? t(`${section}.${key}`) : has(`${fallback}.${key}`) ? t(`${fallback}.${key}`) : key,
      })),
      colour: DECISION_COLOURS[decision],
      format: formatNumber,
      colon: t("colon"),
    });
  }

  renderPhase() {
    const line = $("roc-phase");
    const roc = this.roc;
    if (!roc || !roc.phase) {
      line.hidden = true;
      line.dataset.phase = "";
      return;
    }
    line.hidden = false;
    line.dataset.phase = roc.phase;
    line.toggleAttribute("data-error", Boolean(roc.error));
    let text;
    if (roc.phase === "supervised") {
      // the mirror AMC is not in the local referential: said, its scans cannot be "roc"
      const unknown = roc.mirror_known === false ? t("roc_phase.mirror_unknown") : "";
      text = roc.mirror_amc
        ? t("roc_phase.supervised", { amc: roc.mirror_amc, unknown })
        : t("roc_phase.supervised_no_mirror");
    } else if (has(`roc_phase.${roc.phase}`)) {
      text = t(`roc_phase.${roc.phase}`);
    } else {
      text = t("roc_phase.other", { phase: roc.phase });
    }
    line.replaceChildren(h("span", { class: "roc-phase-text" }, text));
    if (roc.error) line.append(h("span", { class: "roc-phase-error" }, ` — ${roc.error}`));
  }
}
