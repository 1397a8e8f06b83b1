// The admission kiosk's screen, /kiosk: the patient holds the attestation's code in front of
// the kiosk's reader and reads, in their own words, what the agent decided.
//
// One screen at a time, named in document.body.dataset.state:
//   login    the token, typed once by whoever installs the kiosk (sessionStorage only, as the
//            operator page; a refused token asks again)
//   waiting  "Présentez le code de votre attestation devant le lecteur"
//   result   the decision's colour, mark and headline, and its `patient_message`; back to
//            waiting after `[kiosk] result_s` seconds, or at once on a touch
//   away     the agent does not answer (restarting, stopped): a calm sentence; the kiosk
//            tries again with back-off and goes back to waiting by itself
//
// Scans come from GET /v1/scans/next?claim=<[kiosk] client>&device=<[kiosk] device>, one
// request after another: the agent gives each scan to exactly one of the clients waiting with
// a claim, so a kiosk and a desk never both take one. A scan not claimed for this kiosk is
// never shown; a scan that is not a device's (an upload, an attestation typed at a desk) is
// given back at once. Nothing personal is shown: never a member number, an insurer or a date.
//
// The agent writes its [kiosk] settings into <body>'s data-attributes (data-client,
// data-device, data-result-s, data-wait-s); the page has no inline script.

import { AgentClient, AgentError, AgentUnreachable, SessionToken } from "./agent.js";
import { loadDictionaries, t as translate } from "./i18n.js";

const LANG = "fr"; // the patients' language; the desk's preference does not apply here
const t = (key, params) => translate(key, params, LANG);

const CLIENT = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const DEVICE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const DECISIONS = ["covered", "check", "not_covered", "refused"];
const MARKS = { covered: "✓", check: "i", not_covered: "!", refused: "✕" };
const NOT_A_DEVICE = new Set(["upload", "manual"]); // files and typed attestations: desks' work
const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 8000;

const $ = (id) => document.getElementById(id);
const SCREENS = ["login", "waiting", "result", "away"];

/** The [kiosk] settings the agent wrote into <body>; the defaults when absent or malformed
 * (the raw file under /static/ has only placeholders). */
function readConfig() {
  const data = document.body.dataset;
  const number = (text, fallback, ok) => {
    const value = Number(text);
    return text && Number.isFinite(value) && ok(value) ? value : fallback;
  };
  return {
    client: CLIENT.test(data.client ?? "") ? data.client : "kiosk",
    device: DEVICE.test(data.device ?? "") ? data.device : "",
    resultMs: number(data.resultS, 12, (s) => s >= 2) * 1000,
    waitS: number(data.waitS, 30, (s) => s > 0), // never more than [api] max_wait_s
  };
}

const config = readConfig();
const token = new SessionToken();
const client = new AgentClient({ token: () => token.get() });

const state = {
  screen: "login", // login | waiting | result
  away: false,
  generation: 0, // bumped to stop the loop of scans (a refused token)
  controller: null,
  resultTimer: null,
};

const sleep = (ms) => new Promise((resolve) => { setTimeout(resolve, ms); });

function render() {
  const shown = state.screen === "waiting" && state.away ? "away" : state.screen;
  for (const id of SCREENS) $(id).hidden = id !== shown;
  document.body.dataset.state = shown;
}

function setAway(away) {
  if (state.away === away) return;
  state.away = away;
  render();
}

// --- the loop of scans -------------------------------------------------------------------------

async function takeScans(generation) {
  let delayMs = MIN_DELAY_MS;
  while (generation === state.generation) {
    const controller = new AbortController();
    state.controller = controller;
    let scan;
    try {
      // Away, ask without waiting: an answer (even a 204) says the agent is back.
      const timeout = state.away ? 0 : config.waitS;
      scan = await client.nextScan(
        { claim: config.client, device: config.device, timeout }, controller.signal,
      );
    } catch (error) {
      if (generation !== state.generation || error.name === "AbortError") return;
      if (error instanceof AgentError && error.isAuth) {
        askToken("login_token_invalid");
        return;
      }
      // Not reachable (stopped, restarting), still starting (503 not_ready), or a refusal
      // that a retry may clear: say it calmly, try again a little later.
      if (!(error instanceof AgentUnreachable)) console.warn("kiosk: the agent refused", error.code);
      setAway(true);
      await sleep(delayMs);
      delayMs = Math.min(delayMs * 2, MAX_DELAY_MS);
      continue;
    }
    if (generation !== state.generation) return;
    delayMs = MIN_DELAY_MS;
    setAway(false);
    if (scan) take(scan);
  }
}

function take(scan) {
  // Claimed for another desk (an agent that ignored the claim, a desk that was first): not ours.
  if (scan.claimed_by !== config.client) return;
  if (NOT_A_DEVICE.has(scan.source)) {
    client.release(scan.id, config.client).catch(() => {}); // a desk may take it
    return;
  }
  showResult(scan);
}

function showResult(scan) {
  const attestation = scan.attestation ?? {};
  const decision = DECISIONS.includes(attestation.decision) ? attestation.decision : "refused";
  const result = $("result");
  result.dataset.decision = decision;
  result.dataset.scanId = scan.id;
  $("result-mark").textContent = MARKS[decision];
  $("result-headline").textContent = t(`kiosk.headline.${decision}`);
  $("result-message").textContent = attestation.patient_message ?? "";
  state.screen = "result";
  render();
  clearTimeout(state.resultTimer);
  state.resultTimer = setTimeout(backToWaiting, config.resultMs);
}

function backToWaiting() {
  clearTimeout(state.resultTimer);
  state.resultTimer = null;
  if (state.screen !== "result") return;
  const result = $("result");
  result.dataset.decision = "";
  result.dataset.scanId = "";
  $("result-mark").textContent = "";
  $("result-headline").textContent = "";
  $("result-message").textContent = "";
  state.screen = "waiting";
  render();
}

// --- the token ---------------------------------------------------------------------------------

function start() {
  state.screen = "waiting";
  state.away = false;
  render();
  takeScans(++state.generation);
}

function askToken(messageKey) {
  state.generation += 1;
  state.controller?.abort();
  state.controller = null;
  state.screen = "result"; // so that backToWaiting clears what was shown
  backToWaiting();
  token.set(null);
  state.screen = "login";
  state.away = false;
  render();
  const error = $("login-error");
  error.textContent = messageKey ? t(messageKey) : "";
  error.dataset.key = messageKey ?? "";
  const input = $("token-input");
  input.value = "";
  input.toggleAttribute("aria-invalid", Boolean(messageKey));
  input.focus();
}

async function submitToken(event) {
  event.preventDefault();
  const value = $("token-input").value.trim();
  const error = $("login-error");
  const say = (key) => {
    error.textContent = t(key);
    error.dataset.key = key;
  };
  if (value.length < 16) {
    say("login_token_short");
    return;
  }
  say("login_checking");
  token.set(value);
  try {
    await client.devices(); // checks the token before waiting for patients
  } catch (failure) {
    token.set(null);
    const auth = failure instanceof AgentError && failure.isAuth;
    say(auth ? "login_token_invalid" : "login_unreachable");
    if (!auth && failure instanceof AgentError) error.textContent += ` (${failure.code})`;
    $("token-input").setAttribute("aria-invalid", "true");
    $("token-input").select();
    return;
  }
  $("token-input").value = "";
  start();
}

// --- start -------------------------------------------------------------------------------------

function translatePage() {
  document.documentElement.lang = LANG;
  document.title = t("kiosk.title");
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
}

async function main() {
  // The words come from the agent too: while it does not answer, the page says so and waits.
  for (let delayMs = MIN_DELAY_MS; ; delayMs = Math.min(delayMs * 2, MAX_DELAY_MS)) {
    try {
      await loadDictionaries();
      break;
    } catch {
      state.screen = "waiting";
      setAway(true);
      await sleep(delayMs);
    }
  }
  translatePage();
  $("login-form").addEventListener("submit", submitToken);
  $("result").addEventListener("click", backToWaiting); // a touch goes back sooner
  document.body.dataset.ready = LANG;
  if (token.get()) start();
  else askToken(null);
}

main();
