// Talking to the hub's API: JSON requests, the live KPI feed (Server-Sent Events, polling when
// the stream is down) and a Server-Sent Events reader over fetch() for streams that need an
// Authorization header (EventSource cannot send one).

/** The hub's root: the dashboard is served at <root>/dashboard/. */
const ROOT = new URL("../", document.baseURI);

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

/** GET a JSON document; an answer other than 2xx throws HttpError. */
export async function getJson(path, params = {}, signal = undefined) {
  const response = await fetch(apiUrl(path, params), {
    headers: { Accept: "application/json" },
    signal,
  });
  if (!response.ok) {
    let detail = "";
    try {
      detail = (await response.json()).detail ?? "";
    } catch {
      // Not JSON: the status says enough.
    }
    throw new HttpError(response.status, typeof detail === "string" ? detail : "");
  }
  return response.json();
}

// While the stream is down: how often to poll /v1/kpis/latest, and to try the stream again.
export const POLL_INTERVAL_S = 10;
const STREAM_RETRY_S = 30;

/**
 * Every port's latest daily KPIs, kept current. Listens to /v1/kpis/stream (event "kpis"); if
 * the stream errors it polls /v1/kpis/latest every POLL_INTERVAL_S seconds and tries the stream
 * again every STREAM_RETRY_S seconds.
 *
 * `mode` is "connecting", "live", "polling" or "offline"; `arrivedAt` is when data last came.
 */
export class KpiFeed {
  constructor() {
    this.mode = "connecting";
    this.data = null;
    this.byPort = new Map();
    this.arrivedAt = null;
    this.asOf = null;
    this.listeners = new Set();
    this.source = null;
    this.pollTimer = null;
    this.retryTimer = null;
  }

  /** Call `listener(feed)` on every arrival and change of mode; returns the unsubscribe. */
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  start() {
    if (typeof EventSource === "undefined") this.startPolling();
    else this.openStream();
  }

  openStream() {
    clearTimeout(this.retryTimer);
    const source = new EventSource(apiUrl("v1/kpis/stream"));
    this.source = source;
    source.addEventListener("kpis", (event) => {
      let body;
      try {
        body = JSON.parse(event.data);
      } catch {
        return;
      }
      this.stopPolling();
      this.mode = "live";
      this.accept(body);
    });
    source.addEventListener("error", () => {
      // EventSource would retry by itself, silently; the contract is to say so and poll.
      source.close();
      if (this.source === source) this.source = null;
      this.startPolling();
      this.retryTimer = setTimeout(() => this.openStream(), STREAM_RETRY_S * 1000);
    });
  }

  startPolling() {
    if (this.pollTimer !== null) return;
    this.mode = "polling";
    this.notify();
    const poll = async () => {
      try {
        this.accept(await getJson("v1/kpis/latest"));
        if (this.mode === "offline") this.mode = "polling";
      } catch {
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
    this.notify();
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
 * Read an SSE stream that needs a bearer token. Resolves when the server ends the stream;
 * rejects with HttpError for a non-2xx answer, or with the network error (AbortError when
 * `signal` is aborted).
 */
export async function readEventStream({ path, token, lastEventId, signal, onOpen, onEvent, onComment }) {
  const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token}` };
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const response = await fetch(apiUrl(path), { headers, signal, cache: "no-store" });
  if (!response.ok) {
    let detail = "";
    try {
      detail = (await response.json()).detail ?? "";
    } catch {
      // The status says enough.
    }
    throw new HttpError(response.status, typeof detail === "string" ? detail : "");
  }
  onOpen?.();
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parse = sseParser(onEvent, onComment);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    parse(value);
  }
}
