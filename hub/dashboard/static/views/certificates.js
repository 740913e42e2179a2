// Certificates of origin: a customs authority pastes its token and watches its country's
// verdicts arrive, newest first. The token lives in sessionStorage (this tab only) and travels in
// the Authorization header of a fetch() stream, never in a URL.

import { HttpError, readEventStream } from "../api.js";
import { fill, h, tokenForm, tokenInput } from "../dom.js";
import { countryName, formatNumber, formatUtc } from "../measures.js";
import { t } from "../strings.js";

const TOKEN_KEY = "hub.dashboard.customsToken";
// Where the stream resumes after a reload of the tab (the last verdict id seen), and the rows
// already shown, so that a reload neither loses nor repeats verdicts.
const LAST_ID_KEY = "hub.dashboard.verdictLastId";
const ROWS_KEY = "hub.dashboard.verdicts";
const MAX_ROWS = 200;
const RETRY_S = 5;

function load(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function save(key, value) {
  try {
    if (value === null) sessionStorage.removeItem(key);
    else sessionStorage.setItem(key, value);
  } catch {
    // Storage disabled: the page still works, it just forgets on reload.
  }
}

function savedRows() {
  try {
    const rows = JSON.parse(load(ROWS_KEY) || "[]");
    return Array.isArray(rows) ? rows : [];
  } catch {
    return [];
  }
}

export function mount(root) {
  let controller = null;
  let retryTimer = null;
  let country = null;
  let rows = savedRows();

  const input = tokenInput("customs-token", load(TOKEN_KEY) || "");
  const connectButton = h("button", { type: "submit", class: "primary", id: "connect" }, t("cert.connect"));
  const disconnectButton = h("button", { type: "button", id: "disconnect", onclick: () => stop(t("cert.disconnected")) }, t("cert.disconnect"));
  const forgetButton = h(
    "button",
    {
      type: "button",
      id: "forget",
      onclick: () => {
        stop(t("cert.disconnected"));
        input.value = "";
        save(TOKEN_KEY, null);
        save(LAST_ID_KEY, null);
        save(ROWS_KEY, null);
        rows = [];
        renderRows();
      },
    },
    t("cert.forget"),
  );
  const status = h("p", { class: "stream-status", id: "stream-status", role: "status", "aria-live": "polite" });
  const counts = h("p", { class: "counts", id: "verdict-counts" });
  const table = h("table", { class: "data-table", id: "verdicts-table" });

  const form = tokenForm(input, t("cert.token"), [connectButton, disconnectButton, forgetButton], connect);

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("cert.title")), h("p", { class: "subtitle narrow" }, t("cert.intro"))),
    h("section", { class: "card" }, form, status),
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, t("cert.verdicts")), counts),
      h("div", { class: "table-scroll" }, table),
    ),
  );

  function setStatus(kind, text) {
    status.dataset.kind = kind;
    status.textContent = text;
  }

  function stop(text) {
    clearTimeout(retryTimer);
    controller?.abort();
    controller = null;
    setStatus("idle", text || "");
    disconnectButton.disabled = true;
  }

  function connect() {
    const token = input.value.trim();
    if (!token) {
      setStatus("error", t("cert.needToken"));
      input.focus();
      return;
    }
    if (token !== load(TOKEN_KEY)) {
      // Another token may be another country's: start afresh.
      save(LAST_ID_KEY, null);
      save(ROWS_KEY, null);
      rows = [];
      renderRows();
    }
    save(TOKEN_KEY, token);
    stop();
    disconnectButton.disabled = false;
    run(token);
  }

  async function run(token) {
    const mine = new AbortController();
    controller = mine;
    setStatus("connecting", t("cert.connecting"));
    let detail = "";
    try {
      await readEventStream({
        path: "v1/validations/stream",
        token,
        lastEventId: load(LAST_ID_KEY),
        signal: mine.signal,
        onOpen: () => setStatus("live", country ? t("cert.live", { country: countryName(country) }) : t("cert.liveUnknown")),
        onComment: (text) => {
          const match = /customs of ([A-Z]{2})\b/.exec(text);
          if (match) {
            country = match[1];
            setStatus("live", t("cert.live", { country: `${countryName(country)} (${country})` }));
          }
        },
        onEvent: (event) => {
          if (event.event !== "verdict") return;
          let verdict;
          try {
            verdict = JSON.parse(event.data);
          } catch {
            return;
          }
          if (event.id) save(LAST_ID_KEY, event.id);
          add(verdict);
        },
      });
      detail = t("cert.streamEnded");
    } catch (error) {
      if (mine.signal.aborted) return;
      if (error instanceof HttpError && (error.status === 401 || error.status === 403)) {
        setStatus("error", t(error.status === 401 ? "cert.error401" : "cert.error403"));
        if (error.status === 401) save(TOKEN_KEY, null);
        disconnectButton.disabled = true;
        controller = null;
        return;
      }
      detail = error.message;
    }
    if (controller !== mine) return;
    setStatus("error", t("cert.retry", { detail, s: RETRY_S }));
    retryTimer = setTimeout(() => {
      if (controller === mine) run(token);
    }, RETRY_S * 1000);
  }

  function add(verdict) {
    const key = `${verdict.certificate_id}/${verdict.version}`;
    rows = [{ key, verdict }, ...rows.filter((row) => row.key !== key)].slice(0, MAX_ROWS);
    save(ROWS_KEY, JSON.stringify(rows));
    renderRows();
  }

  function renderRows() {
    const tally = { VALID: 0, INVALID: 0, PENDING: 0 };
    for (const { verdict } of rows) if (verdict.outcome in tally) tally[verdict.outcome] += 1;
    counts.textContent = t("cert.counts", {
      n: formatNumber(rows.length, "count"),
      valid: formatNumber(tally.VALID, "count"),
      invalid: formatNumber(tally.INVALID, "count"),
      pending: formatNumber(tally.PENDING, "count"),
    });
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("cert.col.time")),
        h("th", { scope: "col" }, t("cert.col.certificate")),
        h("th", { scope: "col" }, t("cert.col.exporter")),
        h("th", { scope: "col" }, t("cert.col.outcome")),
        h("th", { scope: "col" }, t("cert.col.failed")),
        h("th", { scope: "col", class: "num" }, t("cert.col.version")),
      ),
    );
    if (!rows.length) {
      fill(table, head, h("tbody", {}, h("tr", {}, h("td", { colspan: 6, class: "empty" }, t("cert.empty")))));
      return;
    }
    const body = h(
      "tbody",
      {},
      rows.map(({ verdict }) => {
        const problems = (verdict.rules || []).filter((rule) => rule.status !== "PASS");
        const details = [...new Set(problems.map((rule) => rule.detail).filter(Boolean))];
        return h(
          "tr",
          { class: "verdict", dataset: { outcome: verdict.outcome || "", issued: verdict.issued_at || "" } },
          h("td", { class: "nowrap" }, formatUtc(verdict.issued_at, "time"), h("span", { class: "stat-sub" }, ` ${formatUtc(verdict.issued_at, "day")}`)),
          h("td", { class: "mono" }, verdict.certificate_id),
          h("td", {}, `${countryName(verdict.exporting_country)} (${verdict.exporting_country})`),
          h("td", {}, h("span", { class: `outcome outcome-${String(verdict.outcome).toLowerCase()}` }, t(`outcome.${verdict.outcome}`))),
          h(
            "td",
            { class: "reasons" },
            problems.length
              ? [
                  h(
                    "div",
                    { class: "rule-list" },
                    problems.map((rule) =>
                      h("code", { class: `rule rule-${String(rule.status).toLowerCase()}`, title: rule.detail || null }, rule.code),
                    ),
                  ),
                  details.length ? h("div", { class: "rule-detail" }, details.join("; ")) : null,
                ]
              : t("common.none"),
          ),
          h("td", { class: "num" }, formatNumber(verdict.version, "count")),
        );
      }),
    );
    fill(table, h("caption", { class: "visually-hidden" }, t("cert.verdicts")), head, body);
  }

  renderRows();
  disconnectButton.disabled = true;
  if (input.value) connect();

  return {
    unmount() {
      clearTimeout(retryTimer);
      controller?.abort();
      controller = null;
    },
  };
}
