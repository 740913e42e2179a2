// Talking to the hub's API: JSON requests, the live KPI feed (Server-Sent Events, polling when
// the stream is down) and a Server-Sent Events reader over fetch() for streams that need an
// Authorization header (EventSource cannot send one).
//
// Every KPI, indicator and port-list call carries the tab's read:kpis token (`hub tokens
// add-reader`) as a Bearer header. The token arrives in the address's fragment
// (/dashboard/#token=…, which browsers never send to a server), is moved to sessionStorage (this
// tab only) and taken out of the address bar at once. A 401 or 403 of a KPI call is reported to
// the listeners of onAccessDenied, so that the page can say a token is needed instead of drawing
// empty charts.

/** The hub's root: the dashboard is served at <root>/dashboard/. */
const ROOT = new URL("../", document.baseURI);
const READER_TOKEN_KEY = "hub.dashboard.readerToken";
const deniedListeners = new Set();
// The token when sessionStorage is disabled (then it lasts as long as the page).
let memoryToken = null;

/** The tab's read:kpis token, or null. */
export function readerToken() {
  try {
    return sessionStorage.getItem(READER_TOKEN_KEY);
  } catch {
    return null; // storage disabled
  }
}

/** Keep `token` for this tab (null: forget it). */
export function setReaderToken(token) {
  try {
    if (token) sessionStorage.setItem(READER_TOKEN_KEY, token);
    else sessionStorage.removeItem(READER_TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives as long as the page.
  }
  memoryToken = token || null;
}

function currentToken() {
  return readerToken() ?? memoryToken;
}

/**
 * Take a token from the address (#token=…): keep it and replace the address by one without it
 * (history.replaceState, so that neither the history nor a bookmark keeps it). True if one came.
 */
export function takeTokenFromAddress() {
  const fragment = location.hash.replace(/^#/, "");
  if (!fragment.startsWith("token=")) return false;
  const token = new URLSearchParams(fragment).get("token")?.trim();
  history.replaceState(null, "", `${location.pathname}${location.search}#/`);
  if (!token) return false;
  setReaderToken(token);
  return true;
}

/** Call `listener({status, detail, hadToken})` when the API refuses a KPI call (401 or 403). */
export function onAccessDenied(listener) {
  deniedListeners.add(listener);
  return () => deniedListeners.delete(listener);
}

function accessDenied(error, hadToken) {
  for (const listener of deniedListeners) listener({ status: error.status, detail: error.message, hadToken });
}

function isDenial(error) {
  return error instanceof HttpError && (error.status === 401 || error.status === 403);
}

function authorization() {
  const token = currentToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function failure(response) {
  let detail = "";
  try {
    detail = (await response.json()).detail ?? "";
  } catch {
    // Not JSON: the status says enough.
  }
  return new HttpError(response.status, typeof detail === "string" ? detail : "");
}

/** The absolute URL of an API path ("v1/ports") with query parameters (null ones left out). */
export function apiUrl(path, params = {}) {
  const url = new URL(path, ROOT);
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  return url.toString();
}

export class HttpError extends Error {
  constructor(status, detail) {
    super(`HTTP ${status}${detail ? `: ${detail}` : ""}`);
    this.status = status;
  }
}

/**
 * GET a JSON document with the tab's read:kpis token; an answer other than 2xx throws HttpError
 * (a 401 or 403 is also reported to the onAccessDenied listeners).
 */
export async function getJson(path, params = {}, signal = undefined) {
  const hadToken = Boolean(currentToken());
  const response = await fetch(apiUrl(path, params), {
    headers: { Accept: "application/json", ...authorization() },
    signal,
  });
  if (!response.ok) {
    const error = await failure(response);
    if (isDenial(error)) accessDenied(error, hadToken);
    throw error;
  }
  return response.json();
}

/**
 * Download a file of the API (a CSV) with the tab's token: a plain link cannot send the
 * Authorization header, so the file is fetched and handed to the browser as a blob.
 */
export async function download(path, params, fallbackName) {
  const hadToken = Boolean(currentToken());
  const response = await fetch(apiUrl(path, params), { headers: authorization() });
  if (!response.ok) {
    const error = await failure(response);
    if (isDenial(error)) accessDenied(error, hadToken);
    throw error;
  }
  const named = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = named ? named[1] : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

// While the stream is down: how often to poll /v1/kpis/latest, and to try the stream again.
export const POLL_INTERVAL_S = 10;
const STREAM_RETRY_S = 30;

/**
 * Every port's latest daily KPIs, kept current. Listens to /v1/kpis/stream (event "kpis", read
 * with fetch() to send the token); if the stream errors it polls /v1/kpis/latest every
 * POLL_INTERVAL_S seconds and tries the stream again every STREAM_RETRY_S seconds. A 401 or 403
 * stops everything (mode "denied") until restart().
 *
 * `mode` is "connecting", "live", "polling", "offline" or "denied"; `arrivedAt` is when data
 * last came; `latestEventAt` the event time of the latest event stored (not in the future), and
 * `eventLagSeconds()` how far it is behind the clock.
 */
export class KpiFeed {
  constructor() {
    this.mode = "connecting";
    this.data = null;
    this.byPort = new Map();
    this.arrivedAt = null;
    this.asOf = null;
    this.latestEventAt = null;
    // The browser's clock minus the hub's (from the stream's as_of), so that a browser whose
    // clock is off does not see a lag that is not there.
    this.clockOffsetMs = 0;
    this.listeners = new Set();
    this.controller = null;
    this.pollTimer = null;
    this.retryTimer = null;
  }

  /** Call `listener(feed)` on every arrival and change of mode; returns the unsubscribe. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    this.openStream();
  }

  /** Stop everything; start() or restart() begins again. */
  stop(mode = "offline") {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stopPolling();
    this.controller?.abort();
    this.controller = null;
    this.mode = mode;
    this.notify();
  }

  /** Begin again, e.g. with a new token. */
  restart() {
    this.stop("connecting");
    this.start();
  }

  openStream() {
    clearTimeout(this.retryTimer);
    const controller = new AbortController();
    this.controller = controller;
    const hadToken = Boolean(currentToken());
    readEventStream({
      path: "v1/kpis/stream",
      headers: authorization(),
      signal: controller.signal,
      onEvent: ({ event, data }) => {
        if (event !== "kpis") return;
        let body;
        try {
          body = JSON.parse(data);
        } catch {
          return;
        }
        this.stopPolling();
        this.mode = "live";
        this.accept(body);
      },
    }).then(
      () => this.streamStopped(controller, null, hadToken),
      (error) => this.streamStopped(controller, error, hadToken),
    );
  }

  streamStopped(controller, error, hadToken) {
    if (this.controller !== controller || controller.signal.aborted) return; // stopped on purpose
    this.controller = null;
    if (isDenial(error)) {
      this.stop("denied");
      accessDenied(error, hadToken);
      return;
    }
    // Ended or failed: say so and poll, and try the stream again later.
    this.startPolling();
    this.retryTimer = setTimeout(() => this.openStream(), STREAM_RETRY_S * 1000);
  }

  startPolling() {
    if (this.pollTimer !== null) return;
    this.mode = "polling";
    this.notify();
    const poll = async () => {
      try {
        this.accept(await getJson("v1/kpis/latest"));
        if (this.mode === "offline") this.mode = "polling";
      } catch (error) {
        if (isDenial(error)) {
          this.stop("denied");
          return;
        }
        this.mode = "offline";
      }
      this.notify();
    };
    poll();
    this.pollTimer = setInterval(poll, POLL_INTERVAL_S * 1000);
  }

  stopPolling() {
    if (this.pollTimer === null) return;
    clearInterval(this.pollTimer);
    this.pollTimer = null;
  }

  accept(body) {
    this.data = body;
    this.byPort = new Map((body.ports || []).map((entry) => [entry.port, entry.kpis || {}]));
    this.arrivedAt = new Date();
    this.asOf = body.as_of ?? null;
    const asOf = this.asOf ? Date.parse(this.asOf) : NaN;
    if (!Number.isNaN(asOf)) this.clockOffsetMs = this.arrivedAt.getTime() - asOf;
    const latest = body.latest_event_at ? new Date(body.latest_event_at) : null;
    this.latestEventAt = latest && !Number.isNaN(latest.getTime()) ? latest : null;
    this.notify();
  }

  /** Seconds between the hub's clock now and the latest event's time (null: no event yet). */
  eventLagSeconds() {
    if (!this.latestEventAt) return null;
    return (Date.now() - this.clockOffsetMs - this.latestEventAt.getTime()) / 1000;
  }

  notify() {
    for (const listener of this.listeners) listener(this);
  }
}

/**
 * Split a Server-Sent Events byte stream (already decoded to text, in chunks of any size) into
 * events. `onEvent({event, data, id})` for each event, `onComment(text)` for comment lines.
 */
export function sseParser(onEvent, onComment = () => {}) {
  let buffer = "";
  let data = [];
  let event = "";
  let id = null;
  return (chunk) => {
    buffer += chunk;
    const lines = buffer.split("\n");
    buffer = lines.pop();
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line === "") {
        if (data.length) onEvent({ event: event || "message", data: data.join("\n"), id });
        data = [];
        event = "";
        continue;
      }
      if (line.startsWith(":")) {
        onComment(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") data.push(value);
      else if (field === "event") event = value;
      else if (field === "id") id = value;
    }
  };
}

/**
 * Read an SSE stream that needs a bearer token (`token`, or ready-made `headers`). Resolves when
 * the server ends the stream; rejects with HttpError for a non-2xx answer, or with the network
 * error (AbortError when `signal` is aborted).
 */
export async function readEventStream({ path, token, headers: extra, lastEventId, signal, onOpen, onEvent, onComment }) {
  const headers = { Accept: "text/event-stream", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...extra };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const response = await fetch(apiUrl(path), { headers, signal, cache: "no-store" });
  if (!response.ok) throw await failure(response);
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parse = sseParser(onEvent, onComment);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parse(value);
  }
}
