// The scanner-agent API from a browser: the reference for GAP and kiosk vendors.
//
// Copy this file into your web application; it has no dependency. It shows the four things a
// browser client must get right:
//
// 1. The token. Every call but GET /v1/health sends `Authorization: Bearer <token>`. Never put
//    the token in a URL (the agent refuses it: `token_in_url`) and never in localStorage: keep
//    it in memory or sessionStorage, and ask again when the agent answers 401 `token_invalid`.
// 2. CORS. Served by the agent itself (this page), calls are same-origin. From your own web
//    application, the agent must list your exact origin in `[api] allowed_origins`; it then
//    answers the preflights and echoes that origin (never `*`). Serve your application over
//    HTTPS: Chromium asks the user (or the `LocalNetworkAccessAllowedForUrls` policy) before a
//    site may call 127.0.0.1. Pass `base: "http://127.0.0.1:8765"` to `AgentClient`.
// 3. The event stream. EventSource cannot send headers: ask for a single-use ticket with the
//    token (POST /v1/events/ticket), open /v1/events?ticket=... at once. A ticket opens one
//    stream, once: on any error close the EventSource yourself (its own retry would reuse the
//    spent ticket) and reconnect with a fresh ticket and `last_event_id` = the id of the last
//    event you handled. The agent then replays what you missed, even across its restarts.
//    `replay_incomplete` means it could not: reload GET /v1/scans.
// 4. Errors. Every refusal is `{"error": {"code", "message"}}`: branch on `code`, show
//    `message` only as a detail. A fetch that throws (TypeError) means the agent is not
//    reachable (stopped, restarting): retry with back-off and tell the user.

/** The agent refused the request: `status` (HTTP) and its stable `code`. */
export class AgentError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.name = "AgentError";
    this.status = status;
    this.code = code;
  }

  /** The token is missing or wrong: ask the user for it again. */
  get isAuth() {
    return this.status === 401 && (this.code === "token_invalid" || this.code === "token_missing");
  }
}

/** The agent did not answer at all (not running, restarting, port closed). */
export class AgentUnreachable extends Error {
  constructor(cause) {
    super("the agent is not reachable");
    this.name = "AgentUnreachable";
    this.cause = cause;
  }
}

/**
 * The token as the rules above want it: in this tab's sessionStorage (gone when the tab
 * closes), or in memory when the browser's policy disables storage. Never in localStorage.
 */
export class SessionToken {
  constructor(key = "scanner-agent.token") {
    this.key = key;
    this.memory = null;
  }

  get() {
    try {
      return window.sessionStorage.getItem(this.key) ?? this.memory;
    } catch {
      return this.memory;
    }
  }

  set(value) {
    this.memory = value || null;
    try {
      if (value) window.sessionStorage.setItem(this.key, value);
      else window.sessionStorage.removeItem(this.key);
    } catch {
      // storage disabled: the memory copy serves until the page is closed
    }
  }
}

export class AgentClient {
  /**
   * @param {object} options
   * @param {string} [options.base] the agent's origin, "" when the page is served by the agent
   * @param {() => string | null} options.token returns the current token
   */
  constructor({ base = "", token }) {
    this.base = base;
    this.token = token;
  }

  url(path) {
    return new URL(this.base + path, window.location.href);
  }

  /** One API call; resolves to the decoded JSON, rejects with AgentError or AgentUnreachable. */
  async request(method, path, { json, body, signal, as = "json" } = {}) {
    const headers = { Accept: "application/json" };
    const token = this.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(json);
    }
    let response;
    try {
      // credentials "omit": the agent uses no cookie; the bearer token is the only credential.
      response = await fetch(this.url(path), {
        method, headers, body, signal, cache: "no-store", credentials: "omit",
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new AgentUnreachable(error);
    }
    if (!response.ok) {
      let code = `http_${response.status}`;
      let message = "";
      try {
        const answer = await response.json();
        code = answer.error.code;
        message = answer.error.message;
      } catch {
        // not one of the agent's error bodies (a proxy, an old agent): keep the HTTP status
      }
      throw new AgentError(response.status, code, message);
    }
    if (response.status === 204) return null;
    return as === "blob" ? response.blob() : response.json();
  }

  health() { return this.request("GET", "/v1/health"); }
  devices() { return this.request("GET", "/v1/devices"); }
  device(id) { return this.request("GET", `/v1/devices/${encodeURIComponent(id)}`); }
  scans(limit = 20) { return this.request("GET", `/v1/scans?limit=${limit}`); }
  ticket() { return this.request("POST", "/v1/events/ticket"); }

  /** GET /v1/indicators (non-personal counts): `params` as the API takes them, e.g.
   * `{ from: "2026-11-23", to: "2026-11-29", group_by: "day,decision" }`. */
  indicators(params) {
    return this.request("GET", `/v1/indicators?${new URLSearchParams(params)}`);
  }

  /** POST /v1/decode: one file (image or PDF) as multipart; the file's report. */
  decode(file, signal) {
    const form = new FormData();
    form.append("file", file, file.name);
    // No Content-Type header: the browser sets multipart/form-data with its boundary.
    return this.request("POST", "/v1/decode", { body: form, signal });
  }

  /**
   * GET /v1/scans/next: the next scan (null at the timeout, HTTP 204). With `claim`, only a
   * scan this client manages to claim (`claimed_by` = claim): a kiosk and a desk never both
   * get one. `device` limits it to one device's scans; `timeout` at most `[api] max_wait_s`.
   */
  nextScan({ claim, device, timeout = 30 } = {}, signal) {
    const params = new URLSearchParams({ timeout: String(timeout) });
    if (claim) params.set("claim", claim);
    if (device) params.set("device", device);
    return this.request("GET", `/v1/scans/next?${params}`, { signal });
  }

  /** DELETE /v1/scans/{id}/claim?client=: give back a scan this client claimed. */
  release(scanId, client) {
    const params = new URLSearchParams({ client });
    return this.request("DELETE", `/v1/scans/${encodeURIComponent(scanId)}/claim?${params}`);
  }

  /** POST /v1/selftest, for every device or one; messages and fixes in `lang`. */
  selftest(device, lang) {
    return this.request("POST", "/v1/selftest", { json: device ? { device, lang } : { lang } });
  }

  /** POST /v1/selftest, level interactive: waits (at most `seconds`) for `device`'s scans of the
   * test card and judges them. Aborting `signal` ends the wait on the agent too. */
  cardStep(device, seconds, lang, signal) {
    const json = { device, level: "interactive", seconds, lang };
    return this.request("POST", "/v1/selftest", { json, signal });
  }

  /** GET /v1/testcard.pdf: the printable test card, as a Blob. */
  testcard() {
    return this.request("GET", "/v1/testcard.pdf", { as: "blob" });
  }
}

/**
 * The live event stream, kept open: a fresh ticket for each connection, `last_event_id` so that
 * nothing is missed, back-off while the agent is away.
 *
 * Callbacks (all optional):
 *   scan(scan, id)          each scan (replayed ones first after a reconnection)
 *   device(status, id)      each device change
 *   open({ resumed })       connected; `resumed` when reconnecting with a last event id: re-read
 *                           GET /v1/devices then (device changes of a past run are not replayed)
 *   incomplete()            the agent could not replay everything: reload GET /v1/scans
 *   claim(state)            a scan claimed by a desk or released ({scan_id, claimed_by, claimed_at})
 *   unreadable(notice, id)  a camera sees a code it cannot read ({device_id, at, message,
 *                           positions}): tell the desk to move the card closer or light it;
 *                           advice of the moment, never replayed after a reconnection
 *   lost()                  the stream closed; reconnecting (the agent may be away)
 *   down(error)             the agent does not answer (or refuses a ticket); a retry is scheduled
 *   unauthorized(error)     the token was refused: the stream stops until start() again
 */
export class EventStream {
  constructor(client, callbacks = {}, { minDelayMs = 1000, maxDelayMs = 5000 } = {}) {
    this.client = client;
    this.on = callbacks;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.delayMs = minDelayMs;
    this.lastEventId = null;
    this.source = null;
    this.timer = null;
    this.running = false;
    this.generation = 0;
  }

  start() {
    this.stop();
    this.running = true;
    this.connect(++this.generation);
  }

  stop() {
    this.running = false;
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.source) this.source.close();
    this.source = null;
  }

  /** Drop the connection now and reconnect at once (e.g. the user asked to). */
  reconnect() {
    if (!this.running) return;
    this.delayMs = this.minDelayMs;
    this.start();
  }

  async connect(generation) {
    let ticket;
    try {
      ({ ticket } = await this.client.ticket());
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof AgentError && error.isAuth) {
        this.running = false;
        this.on.unauthorized?.(error);
        return;
      }
      this.on.down?.(error);
      this.retry(generation);
      return;
    }
    if (generation !== this.generation) return;
    const url = this.client.url("/v1/events");
    url.searchParams.set("ticket", ticket);
    if (this.lastEventId) url.searchParams.set("last_event_id", this.lastEventId);
    const source = new EventSource(url);
    this.source = source;
    const resumed = this.lastEventId !== null;
    const handled = (event) => {
      if (event.lastEventId) this.lastEventId = event.lastEventId;
    };
    source.addEventListener("open", () => {
      this.delayMs = this.minDelayMs;
      this.on.open?.({ resumed });
    });
    source.addEventListener("scan", (event) => {
      handled(event);
      this.on.scan?.(JSON.parse(event.data), event.lastEventId);
    });
    source.addEventListener("device", (event) => {
      handled(event);
      this.on.device?.(JSON.parse(event.data), event.lastEventId);
    });
    source.addEventListener("claim", (event) => {
      handled(event);
      this.on.claim?.(JSON.parse(event.data), event.lastEventId);
    });
    source.addEventListener("code_unreadable", (event) => {
      handled(event);
      this.on.unreadable?.(JSON.parse(event.data), event.lastEventId);
    });
    source.addEventListener("replay_incomplete", () => this.on.incomplete?.());
    source.addEventListener("error", () => {
      // The agent stopped, restarted, or closed a client that fell too far behind. The
      // ticket is spent: close, and come back with a new one.
      source.close();
      if (generation !== this.generation || this.source !== source) return;
      this.source = null;
      // Usually the agent going away, sometimes only this stream (a client that fell far
      // behind is closed): "down" is said only when the next ticket cannot be had.
      this.on.lost?.();
      this.retry(generation);
    });
  }

  retry(generation) {
    if (!this.running || generation !== this.generation) return;
    const delay = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, this.maxDelayMs);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(generation), delay);
  }
}
