// The dashboard's shell: header, language, the live KPI feed and the hash routes
//   #/                  regional overview
//   #/port/PECLL        one port
//   #/indicators        regional indicators
//   #/certificates      certificate verdicts for a customs authority
// and the read:kpis token: #token=… on load (see api.js); when the API refuses the tab's KPI
// calls, the KPI pages show what is needed (and a field to paste a token) instead of charts.

import { getJson, KpiFeed, onAccessDenied, POLL_INTERVAL_S, setReaderToken, takeTokenFromAddress } from "./api.js";
import { fill, h, tokenForm, tokenInput } from "./dom.js";
import { formatAge, formatUtc } from "./measures.js";
import { LANGUAGES, language, setLanguage, t } from "./strings.js";
import * as certificates from "./views/certificates.js";
import * as indicators from "./views/indicators.js";
import * as overview from "./views/overview.js";
import * as port from "./views/port.js";

const PORTS_MAX_AGE_MS = 30_000;
// "Last update" shows how old the data is once it is older than this.
const STALE_AFTER_S = 30;
// "Live" says the feed is connected, not that the events behind it are current (a publisher
// sending late, history being replayed): past this lag the header also gives the event time of
// the latest event. Five minutes: well over a port's usual publish delay, well under an hour.
const EVENT_LAG_S = 5 * 60;

const feed = new KpiFeed();
let portList = null;
let portListAt = 0;

/** What every view gets: the KPI feed and the reference ports (with event counts). */
const context = {
  feed,
  async ports({ fresh = false } = {}) {
    if (!portList || fresh || Date.now() - portListAt > PORTS_MAX_AGE_MS) {
      const body = await getJson("v1/ports");
      portList = body;
      portListAt = Date.now();
    }
    return portList;
  },
};

const ROUTES = [
  { name: "overview", pattern: /^#?\/?$/, view: overview, nav: "nav.overview", href: "#/" },
  { name: "port", pattern: /^#\/port\/([A-Za-z0-9]{5})\/?$/, view: port, nav: null, parent: "overview" },
  { name: "indicators", pattern: /^#\/indicators\/?$/, view: indicators, nav: "nav.indicators", href: "#/indicators" },
  { name: "certificates", pattern: /^#\/certificates\/?$/, view: certificates, nav: "nav.certificates", href: "#/certificates" },
];

let mounted = null;
let mountedRoute = null;
// Set while the API refuses this tab's KPI calls: {status, hadToken}.
let denial = null;

function route() {
  const hash = location.hash || "#/";
  let found = null;
  let match = null;
  for (const candidate of ROUTES) {
    match = candidate.pattern.exec(hash);
    if (match) {
      found = candidate;
      break;
    }
  }
  if (!found) {
    location.replace("#/");
    return;
  }
  const view = document.getElementById("view");
  mounted?.unmount();
  mounted = null;
  fill(view);
  mountedRoute = found;
  if (denial && found.name !== "certificates") renderAccessNeeded(view);
  else mounted = found.view.mount(view, context, match.slice(1));
  renderNav();
  window.scrollTo(0, 0);
}

/** The API refused a KPI call: stop the feed and show the KPI pages' message instead. */
function accessDenied({ status, hadToken }) {
  if (status === 401 && hadToken) setReaderToken(null); // unknown, expired or revoked: drop it
  const first = denial === null;
  denial = { status, hadToken };
  if (feed.mode !== "denied") feed.stop("denied");
  portList = null;
  if (first && mountedRoute && mountedRoute.name !== "certificates") route();
}

function renderAccessNeeded(view) {
  const explanation =
    denial.status === 403 ? "access.forbidden" : denial.hadToken ? "access.rejected" : "access.missing";
  const input = tokenInput("reader-token");
  const problem = h("p", { class: "stream-status", role: "status", "aria-live": "polite" });
  const useButton = h("button", { type: "submit", class: "primary", id: "use-token" }, t("access.use"));
  const form = tokenForm(input, t("access.token"), [useButton], () => {
    const token = input.value.trim();
    if (!token) {
      problem.textContent = t("access.needToken");
      input.focus();
      return;
    }
    setReaderToken(token);
    denial = null;
    feed.restart();
    route();
  });
  fill(
    view,
    h("div", { class: "page-head" }, h("h1", {}, t("access.title"))),
    h(
      "section",
      { class: "card access-needed", id: "access-needed", dataset: { status: String(denial.status) } },
      h("p", { class: "message" }, t(explanation)),
      h("p", {}, t("access.how")),
      form,
      problem,
    ),
  );
}

function renderNav() {
  const nav = document.getElementById("site-nav");
  nav.setAttribute("aria-label", t("nav.label"));
  const active = mountedRoute?.parent ?? mountedRoute?.name;
  fill(
    nav,
    ROUTES.filter((r) => r.nav).map((r) =>
      h("a", { href: r.href, "aria-current": r.name === active ? "page" : null }, t(r.nav)),
    ),
  );
}

function renderChrome() {
  document.documentElement.lang = language();
  document.title = t("app.title");
  document.getElementById("brand-title").textContent = t("app.title");
  document.getElementById("brand-network").textContent = t("app.network");
  document.querySelector(".skip-link").textContent = t("app.skip");
  document.getElementById("language-label").textContent = t("lang.label");
  const select = document.getElementById("language");
  fill(
    select,
    Object.entries(LANGUAGES).map(([code, name]) =>
      h("option", { value: code, selected: code === language() }, name),
    ),
  );
  renderNav();
  renderFeedStatus();
}

function renderFeedStatus() {
  const status = document.getElementById("feed-status");
  status.dataset.mode = feed.mode;
  const mode = document.getElementById("feed-mode");
  const labels = {
    connecting: t("feed.connecting"),
    live: t("feed.live"),
    polling: t("feed.polling", { s: POLL_INTERVAL_S }),
    offline: t("feed.offline"),
    denied: t("feed.denied"),
  };
  mode.textContent = labels[feed.mode];
  status.title = feed.mode === "polling" ? t("feed.pollingTitle", { s: POLL_INTERVAL_S }) : "";
  const stamp = document.getElementById("last-update");
  renderEventLag();
  if (!feed.arrivedAt) {
    stamp.textContent = t("feed.never");
    return;
  }
  const age = (Date.now() - feed.arrivedAt.getTime()) / 1000;
  const time = `${formatUtc(feed.arrivedAt, "time")} ${t("common.utc")}`;
  let text = t("feed.lastUpdate", { time });
  if (age > STALE_AFTER_S) text += ` ${t("feed.stale", { age: formatAge(age) })}`;
  stamp.textContent = text;
  stamp.dataset.arrivedAt = feed.arrivedAt.toISOString();
  stamp.dataset.stale = String(age > STALE_AFTER_S);
}

/** The event time of the latest event, beside the feed's mode, when it lags the clock. */
function renderEventLag() {
  const element = document.getElementById("event-lag");
  const lag = feed.eventLagSeconds();
  const lagging = lag !== null && lag > EVENT_LAG_S && feed.mode !== "denied";
  element.hidden = !lagging;
  element.dataset.lagging = String(lagging);
  if (!lagging) {
    element.textContent = "";
    element.removeAttribute("title");
    delete element.dataset.latestEventAt;
    return;
  }
  // Beyond half a day the time alone would be ambiguous: the date goes with it.
  const time = `${formatUtc(feed.latestEventAt, lag > 12 * 3600 ? "minute" : "time")} ${t("common.utc")}`;
  element.textContent = t("feed.eventsUpTo", { time, age: formatAge(lag) });
  element.title = t("feed.eventsUpToTitle", { minutes: EVENT_LAG_S / 60 });
  element.dataset.latestEventAt = feed.latestEventAt.toISOString();
}

function start() {
  takeTokenFromAddress();
  onAccessDenied(accessDenied);
  renderChrome();
  document.getElementById("language").addEventListener("change", (event) => {
    setLanguage(event.target.value);
    renderChrome();
    route(); // the view is drawn again in the new language, keeping its selections
  });
  feed.subscribe(renderFeedStatus);
  setInterval(renderFeedStatus, 5000);
  feed.start();
  window.addEventListener("hashchange", route);
  route();
}

start();
