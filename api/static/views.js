// DOM pieces of the page: devices, scans, file reports, self-test results.
//
// Everything that comes from the agent (insurer names, file names, messages, member numbers) is
// put in the page as text, never as HTML: `h()` builds elements and sets textContent.

import { has, language, locale, t } from "./i18n.js";

/** h("p", { class: "x", dataset: { id: 1 } }, "text", child, [children]) */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "dataset") Object.assign(element.dataset, value);
    else if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// --- formatting -------------------------------------------------------------------------------

/** The same mask as the agent's `attestation.mask()`: the last two characters only. */
export function mask(value, keep = 2) {
  if (value === null || value === undefined) return "";
  if (value.length <= keep) return "•".repeat(value.length);
  return "•".repeat(value.length - keep) + value.slice(-keep);
}

/** "2026-01-31" (a calendar date, no time zone) in the page's language. */
export function formatDate(iso) {
  if (!iso) return "?";
  const [year, month, day] = iso.split("-").map(Number);
  const value = new Date(year, month - 1, day);
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short" }).format(value);
}

/** A UTC instant as local time (with the date when it is not today). */
export function formatMoment(iso) {
  if (!iso) return t("never");
  const value = new Date(iso);
  const today = new Date();
  const sameDay = value.toDateString() === today.toDateString();
  const options = sameDay ? { timeStyle: "medium" } : { dateStyle: "short", timeStyle: "short" };
  return new Intl.DateTimeFormat(locale(), options).format(value);
}

/** A sentence for a code from a dictionary section, else the agent's own message. */
export function sentence(section, code, fallback) {
  return has(`${section}.${code}`) ? t(`${section}.${code}`) : fallback || code;
}

export function apiErrorText(error) {
  if (!error) return "";
  if (error.name === "AgentUnreachable") return t("api_error.unreachable");
  const code = error.code ?? "";
  if (has(`api_error.${code}`)) return t(`api_error.${code}`);
  return t("api_error.generic", { code });
}

// --- devices ----------------------------------------------------------------------------------

const STATE_MARK = { connected: "●", starting: "◌", disconnected: "○", error: "✕", stopped: "■" };

export function deviceCard(status) {
  const state = status.state;
  const counters = status.counters ?? {};
  const problem = status.last_error;
  const counterNames = ["good_scans", "refused_scans", "frames_dropped", "reconnects"];
  if (status.type === "camera") counterNames.push("frames_decoded", "frames_skipped", "unreadable_codes");
  return h(
    "li",
    { class: "device", dataset: { deviceId: status.id, state } },
    h(
      "div",
      { class: "device-head" },
      h("h3", { class: "device-id" }, status.id),
      h(
        "span",
        { class: `badge state state-${state}` },
        h("span", { "aria-hidden": "true" }, STATE_MARK[state] ?? "?"),
        " ",
        sentence("device_state", state, state),
      ),
    ),
    h("p", { class: "device-type" }, sentence("device_type", status.type, status.type)),
    status.description ? h("p", { class: "device-description" }, status.description) : null,
    h(
      "dl",
      { class: "counters" },
      counterNames.map((name) =>
        h("div", {}, h("dt", {}, t(`counter.${name}`)), h("dd", { dataset: { counter: name } }, String(counters[name] ?? 0))),
      ),
      h(
        "div",
        { class: "wide" },
        h("dt", {}, t("counter.last_seen")),
        h("dd", {}, formatMoment(counters.last_seen)),
      ),
    ),
    problem
      ? h(
          "p",
          { class: `device-problem${state === "disconnected" || state === "error" ? "" : " past"}` },
          h("strong", {}, `${t("last_error")} (${formatMoment(problem.at)})${t("colon")}`),
          sentence("device_problem", problem.code, problem.message),
          " ",
          h("code", {}, problem.code),
        )
      : null,
    (status.diagnostics ?? []).length
      ? h(
          "div",
          { class: "diagnostics" },
          h("strong", {}, t("diagnostics")),
          h(
            "ul",
            {},
            status.diagnostics.map((d) =>
              h("li", {}, sentence("device_problem", d.code, d.message), h("span", { class: "detail" }, d.message)),
            ),
          ),
        )
      : null,
  );
}

/** A camera sees a code it cannot read: "<device> : code détecté mais illisible : …". */
export function unreadableNotice(deviceId) {
  return h(
    "p",
    { class: "unreadable-notice", dataset: { device: deviceId } },
    h("span", { "aria-hidden": "true" }, "⚠ "),
    h("strong", {}, deviceId),
    t("colon"),
    h("span", { class: "unreadable-message" }, t("code_unreadable")),
  );
}

// --- scans ------------------------------------------------------------------------------------

const MASK_AGAIN_MS = 30_000;

/** The member number, masked until the button is pressed (and masked again after 30 s). */
function memberButton(number) {
  if (!number) return h("span", { class: "empty-value" }, t("empty_value"));
  const value = h("span", { class: "member-value" }, mask(number));
  const label = h("span", { class: "visually-hidden" }, ` (${t("member_show")})`);
  let timer = null;
  const button = h("button", { type: "button", class: "member", "aria-pressed": "false" }, value, label);
  const show = (visible) => {
    clearTimeout(timer);
    button.setAttribute("aria-pressed", String(visible));
    value.textContent = visible ? number : mask(number);
    label.textContent = ` (${t(visible ? "member_hide" : "member_show")})`;
    button.title = t(visible ? "member_hide" : "member_show");
    if (visible) timer = setTimeout(() => show(false), MASK_AGAIN_MS);
  };
  button.title = t("member_show");
  button.addEventListener("click", () => show(button.getAttribute("aria-pressed") !== "true"));
  return button;
}

function field(name, value, extraClass = "") {
  const shown = value === null || value === undefined || value === "" ? null : value;
  return h(
    "div",
    { class: `field field-${name} ${extraClass}`.trim() },
    h("dt", {}, t(`field.${name}`)),
    h("dd", {}, shown ?? h("span", { class: "empty-value" }, t("empty_value"))),
  );
}

export function insurerName(attestation) {
  return attestation.roc?.name || t("insurer_unknown");
}

// --- decisions ------------------------------------------------------------------------------

/** The decisions, from the best to the worst (`scanner_agent.decision`). Only `covered` is an
 * attestation good for the date asked: nothing on the page calls any other one "valide". */
export const DECISIONS = ["covered", "check", "not_covered", "refused"];
const DECISION_MARK = { covered: "✓", check: "⚠", not_covered: "✕", refused: "⊘" };

/** The decision in words: "Couverte le 03/12/2026", "À vérifier", "Non couverte", "Code refusé". */
export function decisionText(attestation) {
  const decision = attestation.decision ?? "refused";
  return t(`decision.${decision}`, { date: formatDate(attestation.validity?.at) });
}

/** A reason's sentence: the agent's own (French, with the dates), or the page's in English. */
function reasonText(reason) {
  if (language() === "fr" && reason.message) return reason.message;
  return sentence("reason", reason.code, reason.message);
}

/** The ROC status with its reason, the activity asked, the GAP codes to pre-select. */
function rocDetails(roc) {
  const parts = [];
  if (roc.reason) parts.push(h("span", { class: "roc-reason", dataset: { code: roc.reason } }, sentence("roc_reason", roc.reason, roc.reason)));
  if (roc.domain) parts.push(h("span", { class: "roc-domain" }, t("roc_domain", { domain: roc.domain })));
  if (roc.gap_codes?.length) parts.push(h("span", { class: "gap-codes" }, t("gap_codes", { codes: roc.gap_codes.join(", ") })));
  if (roc.test) parts.push(h("span", { class: "roc-test" }, t("roc_test")));
  return parts.flatMap((part, index) => (index ? [" · ", part] : [part]));
}

/** One attestation: a live scan (`meta` = device and time) or a code of an uploaded file. Its
 * colour, mark and headline say the decision; the reasons say why. */
export function attestationCard(attestation, meta = {}) {
  const valid = attestation.status === "valid";
  const decision = attestation.decision ?? "refused";
  const validity = attestation.validity?.state ?? null;
  const rocInfo = attestation.roc ?? {};
  const roc = rocInfo.status ?? "unknown";
  const errors = attestation.errors ?? [];
  const warnings = attestation.warnings ?? [];
  const reasons = decision === "refused" ? [] : attestation.reasons ?? [];
  const metaParts = [];
  if (meta.device) metaParts.push(meta.device);
  if (meta.at) metaParts.push(formatMoment(meta.at));
  if (meta.page) metaParts.push(t("page_n", { page: meta.page }));
  return h(
    "article",
    {
      class: `attestation decision-${decision}${validity ? ` validity-${validity}` : ""}`,
      dataset: { status: attestation.status, decision, validity: validity ?? "" },
    },
    h(
      "header",
      { class: "attestation-head" },
      h(
        "span",
        { class: `badge decision decision-${decision}` },
        h("span", { "aria-hidden": "true" }, `${DECISION_MARK[decision] ?? "?"} `),
        decisionText(attestation),
      ),
      valid || attestation.amc_number
        ? h("h3", { class: "insurer" }, insurerName(attestation))
        : null,
      valid || attestation.amc_number
        ? h("span", { class: `badge roc roc-${roc}` }, t(`roc.${roc}`))
        : null,
      metaParts.length ? h("span", { class: "meta" }, metaParts.join(" · ")) : null,
    ),
    reasons.length
      ? h(
          "div",
          { class: `notes reasons reasons-${decision}` },
          h("h4", {}, t("reasons_title")),
          h(
            "ul",
            {},
            reasons.map((r) =>
              h("li", { dataset: { code: r.code } }, reasonText(r), " ", h("code", {}, r.code)),
            ),
          ),
        )
      : null,
    valid || attestation.amc_number
      ? h(
          "dl",
          { class: "fields" },
          field("amc_number", attestation.amc_number),
          field("convention_types", (attestation.convention_types ?? []).join(", ")),
          field("routing_criterion", attestation.routing_criterion),
          h(
            "div",
            { class: "field field-member_number" },
            h("dt", {}, t("field.member_number")),
            h("dd", {}, memberButton(attestation.member_number)),
          ),
          h(
            "div",
            { class: "field field-roc wide" },
            h("dt", {}, t("field.roc")),
            h("dd", {}, h("span", { class: "roc-status" }, t(`roc.${roc}`)), rocInfo.reason || rocInfo.domain ? " — " : null, rocDetails(rocInfo)),
          ),
          h(
            "div",
            { class: "field field-validity wide" },
            h("dt", {}, t("field.validity")),
            h(
              "dd",
              {},
              validity
                ? h(
                    "span",
                    { class: `badge validity validity-${validity}` },
                    h("span", { "aria-hidden": "true" }, { current: "✓ ", expired: "✕ ", not_yet_valid: "⏳ " }[validity]),
                    t(`validity.${validity}`),
                  )
                : null,
              " ",
              attestation.valid_from || attestation.valid_to
                ? t("period", { from: formatDate(attestation.valid_from), to: formatDate(attestation.valid_to) })
                : null,
              attestation.validity?.stay ? ` — ${t(`stay.${attestation.validity.stay}`)}` : null,
            ),
          ),
        )
      : null,
    warnings.length
      ? h(
          "div",
          { class: "notes warnings" },
          h("h4", {}, t("warnings_title")),
          h(
            "ul",
            {},
            warnings.map((w) =>
              h("li", { dataset: { code: w.code } }, h("span", { "aria-hidden": "true" }, "⚠ "), sentence("warning", w.code, w.message)),
            ),
          ),
        )
      : null,
    errors.length
      ? h(
          "div",
          { class: "notes errors" },
          h("h4", {}, t("errors_title")),
          h(
            "ul",
            {},
            errors.map((e) =>
              h(
                "li",
                { dataset: { code: e.code } },
                sentence("error", e.code, e.message),
                e.field && has(`field.${e.field}`) ? ` (${t(`field.${e.field}`)})` : null,
                " ",
                h("code", {}, e.code),
              ),
            ),
          ),
        )
      : null,
  );
}

export function scanItem(scan) {
  const device = scan.device_id;
  const claimed = scan.claimed_by
    ? h("p", { class: "claimed" }, t("claimed_by", { client: scan.claimed_by, at: formatMoment(scan.claimed_at) }))
    : null;
  return h(
    "li",
    { class: "scan", dataset: { scanId: scan.id, device, claimedBy: scan.claimed_by ?? "" } },
    claimed,
    attestationCard(scan.attestation, { device, at: scan.received_at }),
  );
}

/** One short sentence for screen readers about a new scan. */
export function scanAnnouncement(scan) {
  const a = scan.attestation;
  if (a.status === "valid") {
    return t("announce_scan_read", { device: scan.device_id, insurer: insurerName(a), decision: decisionText(a) });
  }
  const first = a.errors?.[0];
  return t("announce_scan_invalid", {
    device: scan.device_id,
    reason: first ? sentence("error", first.code, first.message) : "",
  });
}

// --- uploaded files ---------------------------------------------------------------------------

/** `result`: { name, report } (the agent's file report) or { name, error } (an AgentError). */
export function fileResult(result) {
  const { name, report, error } = result;
  const codes = report?.codes ?? [];
  const fileError = error ?? report?.error ?? null;
  const failed = Boolean(error) || (fileError && codes.length === 0);
  const summary = failed ? t("file_failed") : codes.length ? t("file_codes", { n: codes.length }) : t("file_no_code");
  const pages = new Map();
  for (const code of codes) {
    if (!pages.has(code.page)) pages.set(code.page, []);
    pages.get(code.page).push(code);
  }
  return h(
    "li",
    { class: `file-result${failed ? " failed" : ""}`, dataset: { file: name } },
    h(
      "details",
      { open: true },
      h("summary", {}, h("span", { class: "file-name" }, name), " — ", h("span", { class: "file-summary" }, summary)),
      fileError
        ? h(
            "p",
            { class: "file-error", role: "note" },
            codes.length ? `${t("file_partial")}${t("colon")}` : null,
            error && error.name === "AgentUnreachable"
              ? t("api_error.unreachable")
              : sentence("file_error", fileError.code, fileError.message),
            " ",
            h("code", {}, fileError.code ?? "unreachable"),
          )
        : null,
      [...pages.entries()].map(([page, items]) =>
        h(
          "section",
          { class: "file-page", dataset: { page: String(page) } },
          h("h4", {}, t("page_n", { page })),
          items.map((code) => attestationCard(code.attestation)),
        ),
      ),
    ),
  );
}

// --- self-test --------------------------------------------------------------------------------

const VERDICT_MARK = { pass: "✓", warn: "⚠", fail: "✕" };

function verdictBadge(verdict) {
  return h(
    "span",
    { class: `badge verdict verdict-${verdict}` },
    h("span", { "aria-hidden": "true" }, `${VERDICT_MARK[verdict] ?? "?"} `),
    sentence("verdict", verdict, verdict),
  );
}

function checkList(checks) {
  if (!checks?.length) return null;
  return h(
    "ul",
    { class: "checks" },
    checks.map((check) =>
      h(
        "li",
        { class: `check check-${check.verdict}`, dataset: { code: check.code ?? "" } },
        verdictBadge(check.verdict),
        " ",
        h("strong", { class: "check-title" }, sentence("selftest_check", check.code, check.code)),
        " ",
        h("span", { class: "check-message" }, check.message ?? check.code),
        check.fix && check.verdict !== "pass"
          ? h("p", { class: "fix" }, h("strong", {}, `${t("selftest_fix")} `), check.fix)
          : null,
      ),
    ),
  );
}

function measurementList(measurements) {
  // the test card's codes have a list of their own (cardCodes)
  const entries = Object.entries(measurements ?? {}).filter(([key]) => key !== "card_codes");
  if (!entries.length) return null;
  return h(
    "details",
    { class: "measurements" },
    h("summary", {}, t("selftest_measurements")),
    h(
      "dl",
      {},
      entries.map(([key, value]) =>
        h("div", {}, h("dt", {}, key), h("dd", {}, typeof value === "object" ? JSON.stringify(value) : String(value))),
      ),
    ),
  );
}

export function selftestReport(result) {
  return h(
    "div",
    { class: "selftest-report", dataset: { verdict: result.verdict } },
    h(
      "p",
      { class: "selftest-overall" },
      verdictBadge(result.verdict),
      " ",
      t("selftest_summary", { verdict: sentence("verdict", result.verdict, result.verdict), ms: Math.round(result.duration_ms ?? 0) }),
      result.level ? ` (${t("selftest_level", { level: sentence("selftest_level_name", result.level, result.level) })})` : null,
    ),
    result.checks?.length ? h("section", {}, h("h3", {}, t("selftest_general")), checkList(result.checks)) : null,
    (result.devices ?? []).map((device) =>
      h(
        "section",
        { class: "selftest-device", dataset: { deviceId: device.device_id } },
        h(
          "h3",
          {},
          device.device_id,
          " ",
          h("span", { class: "device-type" }, sentence("device_type", device.type, device.type)),
          " ",
          verdictBadge(device.verdict),
        ),
        checkList(device.checks),
        cardCodes(device.measurements?.card_codes),
        measurementList(device.measurements),
      ),
    ),
  );
}

const OUTCOME_VERDICT = { as_designed: "pass", wrong: "fail", missing: "warn" };

/** The test card's codes with their outcome (`card_codes` of a test-card step). */
function cardCodes(codes) {
  const entries = Object.entries(codes ?? {});
  if (!entries.length) return null;
  return h(
    "section",
    { class: "card-codes" },
    h("h4", {}, t("selftest_card_codes")),
    h(
      "ul",
      { class: "checks" },
      entries.map(([key, outcome]) =>
        h(
          "li",
          { class: `check check-${OUTCOME_VERDICT[outcome] ?? "warn"}`, dataset: { cardCode: key, outcome } },
          h(
            "span",
            { class: `badge verdict verdict-${OUTCOME_VERDICT[outcome] ?? "warn"}` },
            sentence("selftest_card_outcome", outcome, outcome),
          ),
          " ",
          sentence("selftest_card_code", key, key),
        ),
      ),
    ),
  );
}

/** One reader of the test-card step: its id, its kind, and its "Tester la lecture" button
 * (disabled while any reader is being tested). */
export function cardReader(status, busy, onTest) {
  return h(
    "li",
    { class: "card-reader", dataset: { deviceId: status.id } },
    h(
      "span",
      { class: "card-reader-name" },
      h("span", { class: "device-id" }, status.id),
      " ",
      h("span", { class: "device-type" }, sentence("device_type", status.type, status.type)),
    ),
    " ",
    h(
      "button",
      { type: "button", class: "secondary card-test", disabled: busy, onclick: () => onTest(status.id) },
      t("selftest_card_test"),
    ),
  );
}
