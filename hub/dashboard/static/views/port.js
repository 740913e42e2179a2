// One port: its latest daily KPIs, its feed's data-quality scorecard, time series of its hourly
// (48 h) or daily (30 days) KPI windows (the current, incomplete window drawn as such), the port
// calls under way with their state and KPIs, and the expected arrivals (calls announced by an
// estimated or planned arrival only), soonest first. Refreshed while open.

import { getJson, HttpError } from "../api.js";
import { baseOption, COLOURS, dispose, makeChart } from "../charts.js";
import { escapeHtml, fill, h } from "../dom.js";
import {
  countryName,
  formatAxisNumber,
  formatNumber,
  formatRelative,
  formatUtc,
  formatValue,
  indicatorLabel,
  KPIS,
  kpiLabel,
  QUALITY_INDICATORS,
  titleWithUnit,
  windowUnit,
  windowValue,
} from "../measures.js";
import { t } from "../strings.js";

const REFRESH_MS = 20_000;
const SPAN = { hour: 48 * 3600 * 1000, day: 30 * 24 * 3600 * 1000 };
const HOUR_MS = 3600 * 1000;
const WINDOW_MS = { hour: HOUR_MS, day: 24 * HOUR_MS };
// The window still filling, drawn lighter on a shaded band (its values are partial, not a drop).
const INCOMPLETE_BAND = "rgba(138, 148, 163, 0.14)";
const INCOMPLETE_COLOUR = "#9dbbe0";
const QUALITY_SPAN = 7 * 24 * HOUR_MS;

// How each chart draws its KPI: the mean and 90th percentile of the windows, a total, or one value.
const CHARTS = [
  { key: "waiting_time_h", draw: "spread" },
  { key: "port_hours_h", draw: "spread" },
  { key: "berth_productivity_moves_per_h", draw: "spread" },
  { key: "berth_occupancy_pct", draw: "single" },
  { key: "truck_turnaround_min", draw: "spread" },
  { key: "dwell_days", draw: "spread" },
  { key: "release_time_h", draw: "spread" },
  { key: "throughput_teu", draw: "total" },
];

const CALL_KPIS = [
  { key: "waiting_time_h", unit: "h" },
  { key: "anchorage_time_h", unit: "h" },
  { key: "on_berth_h", unit: "h" },
  { key: "port_hours_h", unit: "h" },
  { key: "berth_productivity_moves_per_h", unit: "moves/h" },
  { key: "call_size_moves", unit: "moves" },
];

const state = { granularity: "hour" };

export function mount(root, context, [rawCode]) {
  const code = rawCode.toUpperCase();
  const { feed } = context;
  const charts = new Map();
  let alive = true;
  let port = null;

  const title = h("h1", {}, code);
  const place = h("p", { class: "subtitle" });
  const message = h("p", { class: "message", role: "status", hidden: true });
  const tiles = h("div", { class: "tiles", id: "port-tiles" });
  const quality = h("div", { class: "tiles", id: "port-quality" });
  const toggle = h("div", { class: "segmented", role: "group", "aria-label": t("port.granularity") });
  const grid = h("div", { class: "chart-grid", id: "port-charts" });
  const calls = h("table", { class: "data-table", id: "calls-table" });
  const callsNote = h("p", { class: "hint" }, t("port.callsNote"));
  const expected = h("table", { class: "data-table", id: "expected-table" });

  root.append(
    h(
      "div",
      { class: "page-head" },
      h("a", { class: "back", href: "#/" }, `← ${t("port.back")}`),
      title,
      place,
    ),
    message,
    h("section", { class: "card" }, h("div", { class: "card-head" }, h("h2", {}, t("port.current"))), tiles),
    h(
      "section",
      { class: "card", id: "port-quality-card" },
      h("div", { class: "card-head" }, h("h2", {}, t("port.quality")), h("p", { class: "hint" }, t("port.qualityNote"))),
      quality,
    ),
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, t("port.charts")), toggle),
      grid,
      h("p", { class: "hint chart-note" }, t("port.incompleteNote")),
    ),
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", {}, t("port.calls")), callsNote),
      h("div", { class: "table-scroll" }, calls),
    ),
    h(
      "section",
      { class: "card", id: "expected-card" },
      h("div", { class: "card-head" }, h("h2", {}, t("port.expected")), h("p", { class: "hint" }, t("port.expectedNote"))),
      h("div", { class: "table-scroll" }, expected),
    ),
  );

  for (const spec of CHARTS) {
    const box = h("div", { class: "chart", dataset: { kpi: spec.key } });
    grid.append(
      h("figure", { class: "chart-card" }, h("figcaption", {}, titleWithUnit(kpiLabel(spec.key), windowUnit(spec.key))), box),
    );
    charts.set(spec.key, makeChart(box));
  }

  function renderToggle() {
    fill(
      toggle,
      ["hour", "day"].map((granularity) =>
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(state.granularity === granularity),
            dataset: { granularity },
            onclick: () => {
              if (state.granularity === granularity) return;
              state.granularity = granularity;
              renderToggle();
              loadWindows();
            },
          },
          t(granularity === "hour" ? "port.hourly" : "port.daily"),
        ),
      ),
    );
  }

  function renderTiles() {
    const kpis = feed.byPort.get(code) || {};
    fill(
      tiles,
      KPIS.map((kpi) => {
        const window = kpis[kpi.key];
        return h(
          "div",
          { class: "tile" },
          h("div", { class: "tile-label" }, kpiLabel(kpi.key)),
          h("div", { class: "tile-value" }, formatValue(windowValue(window), kpi.unit)),
          h("div", { class: "tile-sub" }, window ? formatUtc(window.window_start, "day") : t("overview.noValue")),
        );
      }),
    );
  }

  // Each scorecard indicator at its latest day with a row (the days differ: a day may have
  // events and no calls).
  function renderQuality(rows) {
    const latest = new Map();
    for (const row of rows) {
      const seen = latest.get(row.indicator);
      if (!seen || row.period_start > seen.period_start) latest.set(row.indicator, row);
    }
    fill(
      quality,
      QUALITY_INDICATORS.map((key) => {
        const row = latest.get(key);
        const reasons = key === "refusal_rate_pct" && row?.detail ? Object.entries(row.detail) : [];
        return h(
          "div",
          { class: "tile", dataset: { indicator: key } },
          h("div", { class: "tile-label" }, indicatorLabel(key)),
          h("div", { class: "tile-value" }, formatValue(row ? row.value : null, row ? row.unit : "")),
          h("div", { class: "tile-sub" }, row ? formatUtc(row.period_start, "day") : t("overview.noValue")),
          reasons.length
            ? h(
                "div",
                { class: "tile-sub" },
                t("port.qualityReasons", { reasons: reasons.map(([reason, n]) => `${reason} ${formatNumber(n, "count")}`).join(" · ") }),
              )
            : null,
        );
      }),
    );
  }

  async function loadQuality() {
    try {
      const body = await getJson("v1/indicators", {
        level: "port",
        id: code,
        period: "day",
        from: new Date(Date.now() - QUALITY_SPAN).toISOString(),
      });
      if (alive) renderQuality((body.indicators || []).filter((row) => QUALITY_INDICATORS.includes(row.indicator)));
    } catch (error) {
      if (alive) showError(error);
    }
  }

  function chartOption(spec, windows, start, end, openFrom) {
    const unit = windowUnit(spec.key);
    const points = windows.filter((w) => w.kpi === spec.key);
    const at = (w) => new Date(w.window_start).getTime();
    const done = points.filter((w) => at(w) < openFrom);
    const open = points.filter((w) => at(w) >= openFrom);
    const incomplete = new Set(open.map(at));
    // The band over the windows still filling (from the one holding the latest event on).
    const band = {
      silent: true,
      itemStyle: { color: INCOMPLETE_BAND },
      label: { show: false },
      data: openFrom < end ? [[{ xAxis: openFrom }, { xAxis: end }]] : [],
    };
    const series = [];
    if (spec.draw === "total") {
      series.push({
        id: "main",
        name: t("port.total"),
        type: "bar",
        barMaxWidth: 10,
        itemStyle: { color: COLOURS.primary },
        data: points.map((w) =>
          incomplete.has(at(w))
            ? { value: [at(w), windowValue(w)], incomplete: true, itemStyle: { color: INCOMPLETE_COLOUR, borderColor: COLOURS.primary, borderType: "dashed", borderWidth: 1 } }
            : { value: [at(w), windowValue(w)] },
        ),
        markArea: band,
      });
    } else {
      // The complete windows in solid lines; the last complete one joined to the incomplete
      // ones by a dashed, lighter line with hollow points.
      const joined = (values) => (done.length && open.length ? [values(done[done.length - 1]), ...open.map(values)] : open.map(values));
      const mean = (w) => [at(w), windowValue(w)];
      const p90 = (w) => [at(w), w.p90];
      series.push({
        id: "main",
        name: t("port.mean"),
        type: "line",
        showSymbol: true,
        symbolSize: 5,
        lineStyle: { width: 2, color: COLOURS.primary },
        itemStyle: { color: COLOURS.primary },
        data: done.map(mean),
        markArea: band,
      });
      series.push({
        id: "p90",
        name: t("port.p90"),
        type: "line",
        showSymbol: spec.draw === "spread",
        symbol: "triangle",
        symbolSize: 5,
        lineStyle: { width: 1.5, type: "dashed", color: COLOURS.secondary },
        itemStyle: { color: COLOURS.secondary },
        data: spec.draw === "spread" ? done.map(p90) : [],
      });
      series.push({
        id: "open-main",
        name: t("port.incomplete"),
        type: "line",
        symbol: "emptyCircle",
        symbolSize: 6,
        lineStyle: { width: 2, type: [4, 3], color: INCOMPLETE_COLOUR },
        itemStyle: { color: INCOMPLETE_COLOUR, borderColor: COLOURS.primary },
        data: joined(mean),
      });
      series.push({
        id: "open-p90",
        name: t("port.incomplete"),
        type: "line",
        symbol: "emptyTriangle",
        symbolSize: 5,
        lineStyle: { width: 1.5, type: [2, 3], color: "#e3b58f" },
        itemStyle: { color: "#e3b58f" },
        data: spec.draw === "spread" ? joined(p90) : [],
      });
    }
    const hourly = state.granularity === "hour";
    return {
      ...baseOption(),
      grid: { left: 8, right: 14, top: 30, bottom: 4, containLabel: true },
      legend: {
        show: spec.draw === "spread",
        data: [t("port.mean"), t("port.p90"), t("port.incomplete")],
        top: 0,
        right: 6,
        itemWidth: 16,
        itemHeight: 8,
        textStyle: { fontSize: 11, color: COLOURS.text },
      },
      tooltip: {
        trigger: "axis",
        formatter: (params) => {
          // The dashed line repeats the last complete window: its own series says it.
          const all = Array.isArray(params) ? params : [params];
          if (!all.length) return "";
          const moment = all[0].value[0];
          const open = incomplete.has(moment);
          const list = all.filter((p) => (String(p.seriesId).startsWith("open-") ? open : !open || spec.draw === "total"));
          const when = formatUtc(moment, hourly ? "hour" : "day");
          const lines = list.map((p) => {
            const name = String(p.seriesId).startsWith("open-") ? (p.seriesId === "open-p90" ? t("port.p90") : t("port.mean")) : p.seriesName;
            return `${p.marker}${escapeHtml(name)}: <strong>${escapeHtml(formatValue(p.value[1], unit))}</strong>`;
          });
          const note = open ? `<br><em>${escapeHtml(t("port.incompleteTooltip"))}</em>` : "";
          return `${escapeHtml(when)} ${t("common.utc")}<br>${lines.join("<br>")}${note}`;
        },
      },
      xAxis: {
        type: "time",
        min: start,
        max: end,
        axisLine: { lineStyle: { color: COLOURS.muted } },
        axisLabel: {
          hideOverlap: true,
          alignMinLabel: "left",
          alignMaxLabel: "right",
          fontSize: 11,
          color: COLOURS.text,
          formatter: (value) => {
            const date = new Date(value);
            if (hourly && date.getUTCHours() !== 0) return formatUtc(date, "axisHour");
            return formatUtc(date, "axisDay");
          },
        },
        splitLine: { show: false },
      },
      yAxis: {
        type: "value",
        min: 0,
        splitNumber: 4,
        axisLabel: { fontSize: 11, color: COLOURS.text, formatter: formatAxisNumber },
        splitLine: { lineStyle: { color: COLOURS.grid } },
      },
      graphic: [
        {
          id: "empty",
          type: "text",
          left: "center",
          top: "middle",
          invisible: points.length > 0,
          style: { text: t("port.noData"), fill: COLOURS.muted, fontSize: 12 },
        },
      ],
      series,
    };
  }

  /** Where the incomplete windows begin: the window of the latest event (or of now, if the
   * events are current), whichever is earlier; windows are UTC hours or days. */
  function incompleteFrom(granularity) {
    const now = Date.now() - feed.clockOffsetMs;
    const latest = feed.latestEventAt ? Math.min(feed.latestEventAt.getTime(), now) : now;
    return Math.floor(latest / WINDOW_MS[granularity]) * WINDOW_MS[granularity];
  }

  async function loadWindows() {
    const granularity = state.granularity;
    const end = Math.ceil(Date.now() / HOUR_MS) * HOUR_MS;
    const start = end - SPAN[granularity];
    try {
      const body = await getJson(`v1/ports/${encodeURIComponent(code)}/kpis`, {
        granularity,
        from: new Date(start).toISOString(),
        to: new Date(end).toISOString(),
      });
      if (!alive || granularity !== state.granularity) return;
      message.hidden = true;
      const openFrom = incompleteFrom(granularity);
      for (const spec of CHARTS) {
        const chart = charts.get(spec.key);
        chart.setOption(chartOption(spec, body.windows, start, end, openFrom), { replaceMerge: ["series"] });
        chart.getDom().dataset.incompleteFrom = new Date(openFrom).toISOString();
      }
    } catch (error) {
      if (alive) showError(error);
    }
  }

  async function loadCalls() {
    try {
      const body = await getJson(`v1/ports/${encodeURIComponent(code)}/calls`);
      if (!alive) return;
      const list = body.calls || [];
      renderCalls(list.filter((call) => call.state !== "expected"));
      renderExpected(list.filter((call) => call.state === "expected"));
    } catch (error) {
      if (alive) showError(error);
    }
  }

  function renderCalls(list) {
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("col.vessel")),
        h("th", { scope: "col" }, t("col.call")),
        h("th", { scope: "col" }, t("col.state")),
        h("th", { scope: "col" }, t("col.lastEvent")),
        CALL_KPIS.map((kpi) => h("th", { scope: "col", class: "num" }, titleWithUnit(kpiLabel(kpi.key), kpi.unit))),
      ),
    );
    if (!list.length) {
      fill(calls, head, h("tbody", {}, h("tr", {}, h("td", { colspan: 4 + CALL_KPIS.length, class: "empty" }, t("port.callsEmpty")))));
      return;
    }
    const body = h(
      "tbody",
      {},
      list.map((call) =>
        h(
          "tr",
          { dataset: { call: call.port_call_id } },
          h("td", {}, call.vessel_name || t("common.none")),
          h("td", { class: "mono" }, call.port_call_id),
          h("td", {}, h("span", { class: `state state-${call.state.replace(/\s+/g, "-")}` }, t(`state.${call.state}`))),
          h("td", { class: "nowrap" }, formatUtc(call.last_event_at, "minute")),
          CALL_KPIS.map((kpi) => h("td", { class: "num" }, formatNumber(call.kpis?.[kpi.key] ?? null, kpi.unit))),
        ),
      ),
    );
    fill(calls, h("caption", { class: "visually-hidden" }, t("port.calls")), head, body);
  }

  // Soonest first; a call without an estimate last.
  function byEta(a, b) {
    const x = a.eta ? Date.parse(a.eta) : Infinity;
    const y = b.eta ? Date.parse(b.eta) : Infinity;
    return x - y || a.port_call_id.localeCompare(b.port_call_id);
  }

  function renderExpected(list) {
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("col.vessel")),
        h("th", { scope: "col" }, t("col.call")),
        h("th", { scope: "col" }, t("col.eta")),
        h("th", { scope: "col" }, t("col.etaIn")),
      ),
    );
    if (!list.length) {
      fill(expected, head, h("tbody", {}, h("tr", { class: "none" }, h("td", { colspan: 4, class: "empty" }, t("port.expectedEmpty")))));
      return;
    }
    const now = Date.now();
    const body = h(
      "tbody",
      {},
      [...list].sort(byEta).map((call) => {
        const eta = call.eta ? Date.parse(call.eta) : null;
        const overdue = eta !== null && eta < now;
        return h(
          "tr",
          { dataset: { call: call.port_call_id, eta: call.eta ?? "" }, class: overdue ? "overdue" : null },
          h("td", {}, call.vessel_name || t("common.none")),
          h("td", { class: "mono" }, call.port_call_id),
          h("td", { class: "nowrap eta" }, eta === null ? t("port.etaUnknown") : formatUtc(call.eta, "minute")),
          h("td", { class: "nowrap" }, eta === null ? t("common.none") : formatRelative((eta - now) / 1000)),
        );
      }),
    );
    fill(expected, h("caption", { class: "visually-hidden" }, t("port.expected")), head, body);
  }

  function showError(error) {
    message.hidden = false;
    message.textContent =
      error instanceof HttpError && error.status === 404
        ? t("port.unknown", { code })
        : t("common.error", { detail: error.message });
  }

  async function loadPort() {
    try {
      const list = (await context.ports()).ports;
      port = list.find((p) => p.unlocode === code) || null;
    } catch {
      port = null;
    }
    if (!alive) return;
    if (port) {
      title.textContent = `${port.name} (${port.unlocode})`;
      place.textContent = `${countryName(port.country)} · ${formatNumber(port.lat, "index")}°, ${formatNumber(port.lon, "index")}°`;
    }
  }

  function refresh() {
    loadWindows();
    loadCalls();
    loadQuality();
  }

  renderToggle();
  renderTiles();
  renderQuality([]);
  renderExpected([]);
  loadPort();
  refresh();
  const unsubscribe = feed.subscribe(() => renderTiles());
  const timer = setInterval(refresh, REFRESH_MS);

  return {
    unmount() {
      alive = false;
      unsubscribe();
      clearInterval(timer);
      for (const chart of charts.values()) dispose(chart);
    },
  };
}
