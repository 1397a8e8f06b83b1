// The operator page: devices, live scans, the week's figures and the ROC phase (week.js),
// mailed attestations and the self-test.
//
// State lives here; views.js turns it into elements; agent.js talks to the agent. The token is
// asked once and kept in sessionStorage (this tab only, gone when it closes); it never goes in
// a URL. Everything is re-rendered from the state when the language changes.

import { AgentClient, AgentError, AgentUnreachable, EventStream, SessionToken } from "./agent.js";
import { language, loadDictionaries, otherLanguage, setLanguage, t, translateDocument } from "./i18n.js";
import {
  DECISIONS,
  apiErrorText,
  cardReader,
  deviceCard,
  fileResult,
  scanAnnouncement,
  scanItem,
  selftestReport,
  sentence,
  unreadableNotice,
} from "./views.js";
import { WeekPanel } from "./week.js";

const MAX_SCANS = 50; // scans kept on screen, newest first
const FILES_PER_PAGE = 10;
const BACK_NOTICE_MS = 4000;
const COUNTERS_AFTER_MS = 300;
// How long "code détecté mais illisible" stays without news; the agent says it again every
// 3 s while the code stays unread, so the message stays up as long as the card does.
const UNREADABLE_MS = 5000;

const $ = (id) => document.getElementById(id);

const state = {
  devices: new Map(), // id -> DeviceStatus
  unreadable: new Map(), // device id -> timer of its "code seen but unreadable" message
  scans: [], // newest first
  link: "idle", // idle | connecting | live | down
  wasDown: false,
  batch: { queue: [], results: [], total: 0, done: 0, running: false, controller: null, page: 0 },
  selftest: null, // { result } | { unavailable: true } | { error }
  // the test-card step: one reader at a time
  card: null, // { device, seconds, ends, controller, timer } while waiting
  cardDone: null, // { device, result } | { device, error } | { device, cancelled: true }
  testcard: null, // { busy: true } | { error } while or after downloading the card
  version: null,
};

// --- the token --------------------------------------------------------------------------------

const token = new SessionToken(); // sessionStorage, or this page's memory when it is disabled

const client = new AgentClient({ token: () => token.get() });
// The week's figures: a refused token asks for it again; an absent agent is the stream's news.
const week = new WeekPanel(client, (error) => error instanceof AgentError && error.isAuth && handleApiError(error));

const stream = new EventStream(client, {
  open: ({ resumed }) => onStreamOpen(resumed),
  scan: (scan) => {
    hideUnreadable(scan.device_id);
    addScan(scan, { announce: true });
    refreshCountersSoon(scan.device_id);
    week.scanArrived();
  },
  unreadable: (notice) => {
    showUnreadable(notice.device_id);
    week.scanArrived();
  },
  device: (status) => updateDevice(status),
  claim: (claim) => updateClaim(claim),
  incomplete: () => reloadScans(),
  lost: () => setLink("connecting"),
  down: () => onAgentDown(),
  unauthorized: () => askToken("login_token_invalid"),
});

// --- the link with the agent ------------------------------------------------------------------

function setLink(link) {
  state.link = link;
  const element = $("link-state");
  element.dataset.state = link;
  element.textContent = t(`link_${link}`);
  $("devices-panel").toggleAttribute("data-stale", link === "down");
}

let bannerTimer = null;

function showBanner(kind, text) {
  const banner = $("banner");
  clearTimeout(bannerTimer);
  banner.dataset.kind = kind;
  banner.textContent = text;
  banner.hidden = false;
}

function hideBanner() {
  clearTimeout(bannerTimer);
  $("banner").hidden = true;
}

function onAgentDown() {
  state.wasDown = true;
  setLink("down");
  showBanner("down", t("banner_down"));
}

async function onStreamOpen(resumed) {
  setLink("live");
  if (state.wasDown) {
    state.wasDown = false;
    showBanner("back", t("banner_back"));
    bannerTimer = setTimeout(hideBanner, BACK_NOTICE_MS);
  }
  // Device changes of an earlier run are not replayed, and the stream only tells what
  // changes from now on: read every device's state. Scans missed while away were replayed
  // by the stream; the list is merged by id, so reading it again costs no duplicate.
  await resync();
  // Scans made while the page was away are in the figures: read them again.
  if (resumed) week.refresh();
}

async function resync() {
  try {
    const [devices, scans, health] = await Promise.all([
      client.devices(),
      client.scans(20),
      client.health().catch(() => null),
    ]);
    state.devices = new Map(devices.map((d) => [d.id, d]));
    renderDevices();
    for (const scan of scans) addScan(scan, { announce: false });
    if (health?.version) {
      state.version = health.version;
      renderVersion();
    }
    week.setHealth(health);
  } catch (error) {
    handleApiError(error);
  }
}

async function reloadScans() {
  try {
    for (const scan of await client.scans(MAX_SCANS)) addScan(scan, { announce: false });
  } catch (error) {
    handleApiError(error);
  }
}

/** A call failed: a refused token asks for it again; an absent agent waits for the stream. */
function handleApiError(error) {
  if (error instanceof AgentError && error.isAuth) {
    askToken("login_token_invalid");
    return true;
  }
  if (error instanceof AgentUnreachable) {
    onAgentDown();
    stream.reconnect();
    return true;
  }
  return false;
}

// --- login ------------------------------------------------------------------------------------

function askToken(messageKey) {
  stream.stop();
  week.stop();
  token.set(null);
  clearPersonalData();
  setLink("idle");
  hideBanner();
  $("main").hidden = true;
  $("forget-token").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = messageKey ? t(messageKey) : "";
  $("login-error").dataset.key = messageKey ?? "";
  $("token-input").value = "";
  $("token-input").toggleAttribute("aria-invalid", Boolean(messageKey));
  $("token-input").focus();
}

async function submitToken(event) {
  event.preventDefault();
  const value = $("token-input").value.trim();
  const error = $("login-error");
  if (value.length < 16) {
    error.textContent = t("login_token_short");
    error.dataset.key = "login_token_short";
    return;
  }
  error.textContent = t("login_checking");
  error.dataset.key = "login_checking";
  token.set(value);
  try {
    await client.devices(); // checks the token before showing anything
  } catch (failure) {
    token.set(null);
    const key = failure instanceof AgentError && failure.isAuth ? "login_token_invalid"
      : failure instanceof AgentUnreachable ? "login_unreachable" : null;
    error.textContent = key ? t(key) : apiErrorText(failure);
    error.dataset.key = key ?? "";
    $("token-input").setAttribute("aria-invalid", "true");
    $("token-input").select();
    return;
  }
  $("token-input").value = "";
  start();
}

function start() {
  $("login").hidden = true;
  $("main").hidden = false;
  $("forget-token").hidden = false;
  setLink("connecting");
  stream.start();
  week.start();
}

/** Leaving (or a refused token): nothing personal stays on screen. */
function clearPersonalData() {
  state.scans = [];
  state.batch.results = [];
  state.batch.queue = [];
  state.batch.controller?.abort();
  state.card?.controller.abort();
  renderScans();
  renderBatch();
}

// --- devices ----------------------------------------------------------------------------------

function renderDevices() {
  const list = $("devices");
  list.replaceChildren(...[...state.devices.values()].map(deviceCard));
  $("devices-empty").hidden = state.devices.size > 0;
  const select = $("selftest-device");
  const chosen = select.value;
  const all = select.options[0];
  select.replaceChildren(
    all,
    ...[...state.devices.keys()].map((id) => {
      const option = document.createElement("option");
      option.value = id;
      option.textContent = id;
      return option;
    }),
  );
  select.value = state.devices.has(chosen) ? chosen : "";
  renderCardReaders();
}

function updateDevice(status) {
  const before = state.devices.get(status.id);
  state.devices.set(status.id, status);
  const card = deviceCard(status);
  const old = document.querySelector(`#devices [data-device-id="${CSS.escape(status.id)}"]`);
  if (old) old.replaceWith(card);
  else renderDevices();
  if (before && before.state !== status.state) {
    announce(t("announce_device", { device: status.id, state: sentence("device_state", status.state, status.state) }));
  }
}

// Counters change with every scan but are not pushed (only state changes are): read the
// device again once a burst of scans is over.
const counterTimers = new Map();

function refreshCountersSoon(deviceId) {
  if (!state.devices.has(deviceId)) return;
  clearTimeout(counterTimers.get(deviceId));
  counterTimers.set(deviceId, setTimeout(async () => {
    counterTimers.delete(deviceId);
    try {
      updateDevice(await client.device(deviceId));
    } catch (error) {
      if (!(error instanceof AgentError && error.status === 404)) handleApiError(error);
    }
  }, COUNTERS_AFTER_MS));
}

// --- codes seen but unreadable ---------------------------------------------------------------

/** A camera sees a code it cannot read: say so for that device, until a scan from it arrives
 * or for a few seconds. */
function showUnreadable(deviceId) {
  clearTimeout(state.unreadable.get(deviceId));
  state.unreadable.set(deviceId, setTimeout(() => hideUnreadable(deviceId), UNREADABLE_MS));
  renderUnreadable();
}

function hideUnreadable(deviceId) {
  if (!state.unreadable.has(deviceId)) return;
  clearTimeout(state.unreadable.get(deviceId));
  state.unreadable.delete(deviceId);
  renderUnreadable();
}

function renderUnreadable() {
  const box = $("unreadable");
  box.replaceChildren(...[...state.unreadable.keys()].map(unreadableNotice));
  box.hidden = state.unreadable.size === 0;
}

// --- scans ------------------------------------------------------------------------------------

/** A UTC instant's microseconds since 1970: a `Date` keeps milliseconds only, and two codes of
 * one burst often arrive within the same millisecond. */
function micros(iso) {
  const fraction = /\.([0-9]+)/.exec(iso)?.[1] ?? "";
  return Date.parse(iso) * 1000 + Number(`${fraction}000000`.slice(3, 6));
}

function newer(a, b) {
  const [first, second] = [micros(a.received_at), micros(b.received_at)];
  if (first !== second) return first > second;
  return a.id > b.id;
}

function addScan(scan, { announce: say }) {
  // Uploads are shown in the documents panel, with their pages, rather than here.
  if (scan.source === "upload" || state.scans.some((s) => s.id === scan.id)) return;
  let index = state.scans.findIndex((s) => newer(scan, s));
  if (index < 0) index = state.scans.length;
  if (index >= MAX_SCANS) return;
  state.scans.splice(index, 0, scan);
  const list = $("scan-list");
  const item = scanItem(scan);
  list.insertBefore(item, list.children[index] ?? null);
  while (state.scans.length > MAX_SCANS) {
    state.scans.pop();
    list.lastElementChild.remove();
  }
  $("scans-empty").hidden = true;
  if (say) {
    item.classList.add("fresh");
    announce(scanAnnouncement(scan));
  }
}

/** A desk claimed a scan (or released it): show who has it. */
function updateClaim({ scan_id: id, claimed_by: by, claimed_at: at }) {
  const index = state.scans.findIndex((s) => s.id === id);
  if (index < 0) return;
  const scan = { ...state.scans[index], claimed_by: by, claimed_at: at };
  state.scans[index] = scan;
  const old = $("scan-list").querySelector(`li.scan[data-scan-id="${CSS.escape(id)}"]`);
  old?.replaceWith(scanItem(scan));
}

function renderScans() {
  $("scan-list").replaceChildren(...state.scans.map(scanItem));
  $("scans-empty").hidden = state.scans.length > 0;
}

function announce(text) {
  const announcer = $("announcer");
  announcer.textContent = "";
  // a new text node, a moment later, so that the same sentence twice is read twice
  setTimeout(() => { announcer.textContent = text; }, 50);
}

// --- mailed attestations ----------------------------------------------------------------------

function enqueue(files) {
  const batch = state.batch;
  const list = [...files];
  if (!list.length) return;
  if (!batch.running) {
    batch.total = 0;
    batch.done = 0;
  }
  batch.queue.push(...list);
  batch.total += list.length;
  renderBatch();
  if (!batch.running) runBatch();
}

async function runBatch() {
  const batch = state.batch;
  batch.running = true;
  batch.controller = new AbortController();
  const { signal } = batch.controller;
  try {
    while (batch.queue.length && !signal.aborted) {
      const file = batch.queue[0];
      renderProgress(file.name);
      let result;
      try {
        result = { name: file.name, report: await client.decode(file, signal) };
      } catch (error) {
        if (error.name === "AbortError") break;
        if (error instanceof AgentError && error.isAuth) {
          askToken("login_token_invalid");
          return;
        }
        result = { name: file.name, error };
      }
      batch.queue.shift();
      batch.done += 1;
      batch.results.push(result);
      renderBatch();
    }
  } finally {
    batch.running = false;
    const cancelled = batch.queue.length > 0;
    batch.queue = [];
    renderBatch();
    $("batch-status").textContent = cancelled
      ? t("batch_cancelled", { done: batch.done, total: batch.total })
      : t("batch_done", { n: batch.done });
    $("batch").hidden = batch.done === 0 && !cancelled;
    $("batch-progress").hidden = true;
    $("batch-cancel").hidden = true;
  }
}

function renderProgress(name) {
  const batch = state.batch;
  $("batch").hidden = false;
  $("batch-progress").hidden = false;
  $("batch-cancel").hidden = false;
  $("batch-progress").max = batch.total;
  $("batch-progress").value = batch.done;
  $("batch-status").textContent = t("batch_progress", { done: batch.done + 1, total: batch.total, name });
}

function renderBatch() {
  const batch = state.batch;
  const results = batch.results;
  const pages = Math.max(1, Math.ceil(results.length / FILES_PER_PAGE));
  batch.page = Math.min(batch.page, pages - 1);
  const first = batch.page * FILES_PER_PAGE;
  const shown = results.slice(first, first + FILES_PER_PAGE);
  const list = $("file-results");
  list.start = first + 1;
  list.replaceChildren(...shown.map(fileResult));
  const pager = $("file-pager");
  pager.hidden = results.length <= FILES_PER_PAGE;
  $("file-page").textContent = t("file_pages", {
    from: first + 1, to: first + shown.length, total: results.length,
  });
  $("file-prev").disabled = batch.page === 0;
  $("file-next").disabled = batch.page >= pages - 1;
  const summary = $("batch-summary");
  summary.hidden = results.length === 0;
  const counts = Object.fromEntries(DECISIONS.map((decision) => [decision, 0]));
  let failed = 0;
  for (const r of results) {
    const codes = r.report?.codes ?? [];
    if (r.error || (r.report?.error && !codes.length)) failed += 1;
    for (const code of codes) counts[code.attestation.decision ?? "refused"] += 1;
  }
  summary.textContent = t("batch_summary", { files: results.length, ...counts, failed });
  for (const decision of DECISIONS) summary.dataset[decision] = String(counts[decision]);
  if (batch.running) renderProgress(batch.queue[0]?.name ?? "");
}

function wireDropZone() {
  const zone = $("drop-zone");
  const input = $("file-input");
  $("choose-files").addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    enqueue(input.files);
    input.value = ""; // the same file can be chosen again
  });
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("active");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("active");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("active");
    enqueue(event.dataTransfer.files);
  });
  // A file dropped beside the zone must not make the browser leave the page to open it.
  for (const type of ["dragover", "drop"]) {
    window.addEventListener(type, (event) => {
      if (!zone.contains(event.target)) event.preventDefault();
    });
  }
  $("batch-cancel").addEventListener("click", () => state.batch.controller?.abort());
  $("file-prev").addEventListener("click", () => { state.batch.page -= 1; renderBatch(); });
  $("file-next").addEventListener("click", () => { state.batch.page += 1; renderBatch(); });
}

// --- self-test --------------------------------------------------------------------------------

async function runSelftest(event) {
  event.preventDefault();
  const button = $("selftest-run");
  const status = $("selftest-status");
  button.disabled = true;
  status.textContent = t("selftest_running");
  $("selftest-result").replaceChildren();
  try {
    state.selftest = { result: await client.selftest($("selftest-device").value || null, language()) };
  } catch (error) {
    if (error instanceof AgentError && error.isAuth) {
      askToken("login_token_invalid");
      return;
    }
    // 404/405: an agent from before the self-test endpoint.
    const missing = error instanceof AgentError && (error.status === 404 || error.status === 405);
    state.selftest = missing ? { unavailable: true } : { error };
  } finally {
    button.disabled = false;
  }
  renderSelftest();
}

function renderSelftest() {
  const status = $("selftest-status");
  const target = $("selftest-result");
  const current = state.selftest;
  status.dataset.kind = "";
  if (!current) {
    status.textContent = "";
    target.replaceChildren();
  } else if (current.unavailable) {
    status.textContent = t("selftest_unavailable");
    status.dataset.kind = "unavailable";
    target.replaceChildren();
  } else if (current.error) {
    status.textContent = t("selftest_failed", { reason: apiErrorText(current.error) });
    status.dataset.kind = "error";
    target.replaceChildren();
  } else {
    status.textContent = "";
    target.replaceChildren(selftestReport(current.result));
  }
}

// --- the test-card step ----------------------------------------------------------------------

// How long the agent waits for the card: rendered by the agent (60 s, at most its [api]
// max_wait_s, which caps the wait anyway); 60 s when the page is opened some other way.
const CARD_SECONDS = Number(document.body.dataset.cardS) || 60;

function renderCardReaders() {
  const readers = [...state.devices.values()];
  $("card-readers").replaceChildren(...readers.map((status) => cardReader(status, state.card !== null, testReading)));
  $("card-readers-empty").hidden = readers.length > 0;
}

async function testReading(device) {
  if (state.card) return;
  const controller = new AbortController();
  const seconds = CARD_SECONDS;
  state.card = { device, seconds, ends: Date.now() + seconds * 1000, controller, timer: null };
  state.card.timer = window.setInterval(renderCard, 1000);
  state.cardDone = null;
  renderCardReaders();
  renderCard();
  $("card-cancel").focus();
  try {
    const result = await client.cardStep(device, seconds, language(), controller.signal);
    state.cardDone = { device, result };
  } catch (error) {
    if (error.name === "AbortError") {
      state.cardDone = { device, cancelled: true };
    } else if (error instanceof AgentError && error.isAuth) {
      askToken("login_token_invalid");
      state.cardDone = null;
    } else {
      state.cardDone = { device, error };
    }
  } finally {
    window.clearInterval(state.card.timer);
    state.card = null;
  }
  renderCardReaders();
  renderCard();
}

function renderCard() {
  const waiting = state.card;
  $("card-wait").hidden = !waiting;
  if (waiting) {
    const left = Math.max(0, Math.ceil((waiting.ends - Date.now()) / 1000));
    $("card-prompt").textContent = t("selftest_card_prompt", { device: waiting.device, s: left });
    $("card-status").textContent = "";
    $("card-result").replaceChildren();
    return;
  }
  const done = state.cardDone;
  const status = $("card-status");
  status.dataset.kind = "";
  if (!done) {
    status.textContent = "";
    $("card-result").replaceChildren();
  } else if (done.cancelled) {
    status.textContent = t("selftest_card_cancelled", { device: done.device });
    $("card-result").replaceChildren();
  } else if (done.error) {
    status.textContent = t("selftest_card_failed", { device: done.device, reason: apiErrorText(done.error) });
    status.dataset.kind = "error";
    $("card-result").replaceChildren();
  } else {
    status.textContent = "";
    $("card-result").replaceChildren(selftestReport(done.result));
  }
}

async function downloadTestcard() {
  const button = $("testcard-download");
  button.disabled = true;
  state.testcard = { busy: true };
  renderTestcard();
  try {
    const pdf = await client.testcard();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(pdf);
    link.download = "carte-de-test.pdf";
    document.body.append(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    state.testcard = null;
  } catch (error) {
    if (error instanceof AgentError && error.isAuth) {
      askToken("login_token_invalid");
      return;
    }
    state.testcard = { error };
  } finally {
    button.disabled = false;
    renderTestcard();
  }
}

function renderTestcard() {
  const status = $("testcard-status");
  const current = state.testcard;
  status.dataset.kind = current?.error ? "error" : "";
  if (!current) status.textContent = "";
  else if (current.busy) status.textContent = t("selftest_card_printing");
  else status.textContent = t("selftest_card_print_failed", { reason: apiErrorText(current.error) });
}

// --- language ---------------------------------------------------------------------------------

function renderLanguage() {
  translateDocument();
  const toggle = $("lang-toggle");
  const other = otherLanguage();
  toggle.lang = other;
  toggle.textContent = t("lang_name", {}, other);
  toggle.setAttribute("aria-label", t("lang_toggle_label", {}, other));
  setLink(state.link);
  const loginError = $("login-error");
  if (loginError.dataset.key) loginError.textContent = t(loginError.dataset.key);
  if (!$("banner").hidden) $("banner").textContent = t(`banner_${$("banner").dataset.kind}`);
  renderVersion();
  renderDevices();
  renderUnreadable();
  renderScans();
  renderBatch();
  renderSelftest();
  renderCard();
  renderTestcard();
  week.render();
}

function renderVersion() {
  $("agent-version").textContent = state.version ? t("version", { version: state.version }) : "";
}

// --- start ------------------------------------------------------------------------------------

async function main() {
  await loadDictionaries();
  renderLanguage();
  $("lang-toggle").addEventListener("click", () => {
    setLanguage(otherLanguage());
    renderLanguage();
  });
  $("forget-token").addEventListener("click", () => askToken(null));
  $("login-form").addEventListener("submit", submitToken);
  $("selftest-form").addEventListener("submit", runSelftest);
  $("card-cancel").addEventListener("click", () => state.card?.controller.abort());
  $("testcard-download").addEventListener("click", downloadTestcard);
  wireDropZone();
  document.body.dataset.ready = language();
  if (token.get()) start();
  else askToken(null);
}

main();
