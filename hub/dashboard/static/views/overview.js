// Regional overview: the map of the region with the ports coloured by a chosen KPI, a summary of
// that KPI, and the table of every port's latest daily KPIs (sortable), all updated live.

import { escapeHtml, fill, h } from "../dom.js";
import {
  baseOption,
  COLOURS,
  dispose,
  GOOD_TO_BAD,
  loadRegionMap,
  makeChart,
  MERCATOR,
  placeLabels,
  SEQUENTIAL,
} from "../charts.js";
import {
  countryName,
  formatNumber,
  formatValue,
  KPI_BY_KEY,
  KPIS,
  kpiLabel,
  median,
  unitLabel,
  windowValue,
} from "../measures.js";
import { t } from "../strings.js";

const PORTS_REFRESH_MS = 15_000;
// Ports listed under "highest" and "lowest" beside the map.
const RANKED = 3;
// The ports' symbols and names on the map (pixels).
const SYMBOL_SIZE = 13;
const SYMBOL_SIZE_NO_VALUE = 10;
const LABEL_FONT_SIZE = 10;
const LABEL_DISTANCE = 4;

// Kept while the page is open, across visits of this view and language switches.
const state = { colourBy: "waiting_time_h", sortKey: "name", sortDir: "asc" };

const TEXT_COLUMNS = new Set(["name", "country"]);

export function mount(root, context) {
  const { feed } = context;
  let ports = [];
  let chart = null;
  let mapFailed = false;
  let alive = true;
  const shown = new Map(); // "PORT/column" → text last shown, to highlight what changed

  const select = h(
    "select",
    { id: "colour-by", onchange: (event) => ((state.colourBy = event.target.value), render()) },
    KPIS.map((kpi) => h("option", { value: kpi.key, selected: kpi.key === state.colourBy }, kpiLabel(kpi.key))),
  );
  const mapBox = h("div", { class: "map", id: "map", role: "img", "aria-label": t("overview.mapLabel") });
  const summary = h("div", { class: "summary", id: "kpi-summary", "aria-live": "off" });
  const table = h("table", { class: "data-table ports-table", id: "ports-table" });
  const message = h("p", { class: "message", role: "status", hidden: true });
  const subtitle = h("p", { class: "subtitle" }, t("overview.subtitle", { n: 28 }));

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("overview.title")), subtitle),
    message,
    h(
      "section",
      { class: "overview-top" },
      h("div", { class: "card map-card" }, mapBox),
      h(
        "aside",
        { class: "card side-panel" },
        h("label", { class: "field" }, h("span", { class: "field-label" }, t("overview.colourBy")), select),
        summary,
      ),
    ),
    h(
      "section",
      { class: "card" },
      h(
        "div",
        { class: "card-head" },
        h("h2", {}, t("overview.tableTitle")),
        h("p", { class: "hint" }, t("overview.sortHint")),
      ),
      h("div", { class: "table-scroll" }, table),
    ),
  );

  function rows() {
    return ports.map((port) => {
      const kpis = feed.byPort.get(port.unlocode) || {};
      const values = {};
      for (const kpi of KPIS) values[kpi.key] = windowValue(kpis[kpi.key]);
      return { ...port, countryLabel: countryName(port.country), values };
    });
  }

  function sortValue(row, key) {
    if (key === "name") return row.name;
    if (key === "country") return row.countryLabel;
    if (key === "events") return row.events;
    return row.values[key];
  }

  function sorted(list) {
    const { sortKey, sortDir } = state;
    const factor = sortDir === "asc" ? 1 : -1;
    return [...list].sort((a, b) => {
      const x = sortValue(a, sortKey);
      const y = sortValue(b, sortKey);
      const xMissing = x === null || x === undefined;
      const yMissing = y === null || y === undefined;
      if (xMissing || yMissing) return xMissing === yMissing ? a.name.localeCompare(b.name) : xMissing ? 1 : -1;
      const order = typeof x === "string" ? x.localeCompare(y) : x - y;
      return order * factor || a.name.localeCompare(b.name);
    });
  }

  function header() {
    const columns = [
      { key: "name", label: t("col.port") },
      { key: "country", label: t("col.country") },
      ...KPIS.map((kpi) => ({ key: kpi.key, label: kpiLabel(kpi.key), unit: kpi.unit })),
      { key: "events", label: t("col.events") },
    ];
    return h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((column) => {
          const active = state.sortKey === column.key;
          const numeric = !TEXT_COLUMNS.has(column.key);
          return h(
            "th",
            {
              scope: "col",
              class: numeric ? "num" : null,
              "aria-sort": active ? (state.sortDir === "asc" ? "ascending" : "descending") : null,
              dataset: { column: column.key },
            },
            h(
              "button",
              {
                type: "button",
                class: "sort",
                onclick: () => {
                  if (state.sortKey === column.key) state.sortDir = state.sortDir === "asc" ? "desc" : "asc";
                  else {
                    state.sortKey = column.key;
                    state.sortDir = numeric ? "desc" : "asc";
                  }
                  render();
                },
              },
              h("span", { class: "th-label" }, column.label),
              column.unit ? h("span", { class: "th-unit" }, unitLabel(column.unit)) : null,
              h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (state.sortDir === "asc" ? "▲" : "▼") : "↕"),
            ),
          );
        }),
      ),
    );
  }

  function cell(row, key, text, extra = {}) {
    const id = `${row.unlocode}/${key}`;
    const before = shown.get(id);
    shown.set(id, text);
    const changed = before !== undefined && before !== text;
    return h("td", { ...extra, class: [extra.class, changed ? "changed" : null].filter(Boolean).join(" ") || null }, text);
  }

  function renderTable(list) {
    const body = h(
      "tbody",
      {},
      list.map((row) =>
        h(
          "tr",
          { dataset: { port: row.unlocode } },
          h(
            "th",
            { scope: "row" },
            h("a", { href: `#/port/${row.unlocode}` }, row.name),
            h("span", { class: "code" }, row.unlocode),
          ),
          h("td", {}, row.countryLabel),
          KPIS.map((kpi) =>
            cell(row, kpi.key, formatNumber(row.values[kpi.key], kpi.unit), {
              class: state.colourBy === kpi.key ? "num selected" : "num",
            }),
          ),
          cell(row, "events", formatNumber(row.events, "count"), { class: "num" }),
        ),
      ),
    );
    fill(table, h("caption", { class: "visually-hidden" }, t("overview.tableTitle")), header(), body);
  }

  function renderSummary(list) {
    const kpi = KPI_BY_KEY[state.colourBy];
    const withValue = list.filter((row) => row.values[kpi.key] !== null && row.values[kpi.key] !== undefined);
    const byValue = [...withValue].sort((a, b) => a.values[kpi.key] - b.values[kpi.key]);
    const direction = { lower: "overview.lowerBetter", higher: "overview.higherBetter", neutral: "overview.neutral" }[kpi.better];
    const ranking = (entries) =>
      entries.length
        ? h(
            "ol",
            { class: "rank" },
            entries.map((row) =>
              h(
                "li",
                {},
                h("a", { href: `#/port/${row.unlocode}` }, row.name),
                h("span", { class: "rank-value" }, formatValue(row.values[kpi.key], kpi.unit)),
              ),
            ),
          )
        : t("common.none");
    const total = list.reduce((sum, row) => sum + (row.events || 0), 0);
    fill(
      summary,
      h("p", { class: `direction direction-${kpi.better}` }, t(direction)),
      h(
        "dl",
        { class: "stats" },
        h("div", {}, h("dt", {}, t("overview.reporting")), h("dd", {}, `${withValue.length} / ${list.length}`)),
        h("div", {}, h("dt", {}, t("overview.median")), h("dd", {}, formatValue(median(withValue.map((row) => row.values[kpi.key])), kpi.unit))),
        h("div", {}, h("dt", {}, t("overview.highest")), h("dd", {}, ranking(byValue.slice(-RANKED).reverse()))),
        h("div", {}, h("dt", {}, t("overview.lowest")), h("dd", {}, ranking(byValue.slice(0, RANKED)))),
        h("div", {}, h("dt", {}, t("overview.events")), h("dd", {}, formatNumber(total, "count"))),
      ),
    );
  }

  function renderMap(list) {
    if (!chart) return;
    const kpi = KPI_BY_KEY[state.colourBy];
    const withValue = [];
    const without = [];
    for (const row of list) {
      const value = row.values[kpi.key];
      const point = { name: row.unlocode, value: [row.lon, row.lat, value ?? 0], port: row };
      (value === null || value === undefined ? without : withValue).push(point);
    }
    const values = withValue.map((point) => point.value[2]);
    let low = values.length ? Math.min(...values) : 0;
    let high = values.length ? Math.max(...values) : 1;
    if (high - low < 1e-9) {
      low -= 1;
      high += 1;
    }
    const colours =
      kpi.better === "neutral" ? SEQUENTIAL : kpi.better === "lower" ? GOOD_TO_BAD : [...GOOD_TO_BAD].reverse();
    placePortLabels(withValue, without);
    const label = { show: true, formatter: "{b}", position: "right", fontSize: LABEL_FONT_SIZE, color: COLOURS.text, distance: LABEL_DISTANCE };
    chart.setOption({
      visualMap: {
        type: "continuous",
        seriesIndex: 0,
        dimension: 2,
        min: low,
        max: high,
        calculable: false,
        inRange: { color: colours },
        text: [formatValue(high, kpi.unit), formatValue(low, kpi.unit)],
        textStyle: { color: COLOURS.text, fontSize: 11 },
        left: 16,
        bottom: 16,
        itemHeight: 110,
        itemWidth: 12,
      },
      series: [
        {
          id: "ports",
          name: kpiLabel(kpi.key),
          type: "scatter",
          coordinateSystem: "geo",
          data: withValue,
          symbolSize: SYMBOL_SIZE,
          itemStyle: { borderColor: "#1f2933", borderWidth: 0.8 },
          label,
          labelLayout: { hideOverlap: true },
          emphasis: { scale: 1.4, label: { show: true, fontWeight: "bold" } },
          zlevel: 1,
        },
        {
          id: "ports-without-value",
          name: t("overview.legendNoData"),
          type: "scatter",
          coordinateSystem: "geo",
          data: without,
          symbol: "circle",
          symbolSize: SYMBOL_SIZE_NO_VALUE,
          itemStyle: { color: "#ffffff", borderColor: COLOURS.muted, borderWidth: 1.5 },
          label: { ...label, color: COLOURS.muted },
          labelLayout: { hideOverlap: true },
        },
      ],
    });
  }

  /**
   * Give each port's point its label's side, so that no name covers another name or port (in a
   * cluster such as Panama's some names cannot fit: they stay in the tooltip). The ports with a
   * value are placed first, busiest first.
   */
  function placePortLabels(withValue, without) {
    const width = chart.getWidth();
    const height = chart.getHeight();
    const pixels = (point) => chart.convertToPixel({ geoIndex: 0 }, [point.value[0], point.value[1]]);
    const byEvents = (a, b) => (b.port.events || 0) - (a.port.events || 0) || a.name.localeCompare(b.name);
    const ordered = [
      ...[...withValue].sort(byEvents).map((point) => ({ point, radius: SYMBOL_SIZE / 2 })),
      ...[...without].sort(byEvents).map((point) => ({ point, radius: SYMBOL_SIZE_NO_VALUE / 2 })),
    ];
    const candidates = [];
    for (const { point, radius } of ordered) {
      const at = pixels(point);
      if (at && Number.isFinite(at[0]) && Number.isFinite(at[1])) {
        candidates.push({ id: point.name, x: at[0], y: at[1], radius, text: point.name, point });
      }
    }
    const sides = placeLabels(candidates, {
      fontSize: LABEL_FONT_SIZE,
      distance: LABEL_DISTANCE,
      bounds: { left: 0, top: 0, right: width, bottom: height },
    });
    for (const { point } of ordered) {
      const side = sides.get(point.name) ?? null;
      point.label = side ? { show: true, position: side } : { show: false };
    }
  }

  function tooltip(params) {
    const row = params.data?.port;
    if (!row) return "";
    const kpi = KPI_BY_KEY[state.colourBy];
    return (
      `<strong>${escapeHtml(row.name)}</strong> (${escapeHtml(row.unlocode)}), ${escapeHtml(row.countryLabel)}<br>` +
      `${escapeHtml(kpiLabel(kpi.key))}: ${escapeHtml(formatValue(row.values[kpi.key], kpi.unit))}`
    );
  }

  function render() {
    if (!ports.length) return;
    const list = rows();
    subtitle.textContent = t("overview.subtitle", { n: ports.length });
    renderTable(sorted(list));
    renderSummary(list);
    renderMap(list);
  }

  async function loadPorts() {
    try {
      ports = (await context.ports()).ports;
      message.hidden = true;
      render();
    } catch (error) {
      message.hidden = false;
      message.textContent = t("common.error", { detail: error.message });
    }
  }

  // The points' pixels change with the map's size: place the labels again.
  const relabel = new ResizeObserver(() => requestAnimationFrame(() => alive && chart && render()));
  relabel.observe(mapBox);

  async function startMap() {
    try {
      await loadRegionMap();
    } catch (error) {
      mapFailed = true;
      fill(mapBox, h("p", { class: "message" }, t("common.error", { detail: error.message })));
      return;
    }
    if (!alive || mapFailed) return;
    chart = makeChart(mapBox);
    chart.setOption({
      ...baseOption(),
      tooltip: { trigger: "item", formatter: tooltip },
      geo: {
        map: "lac",
        projection: MERCATOR,
        roam: false,
        silent: true,
        left: 8,
        right: 8,
        top: 8,
        bottom: 8,
        itemStyle: { areaColor: COLOURS.land, borderColor: COLOURS.border, borderWidth: 0.6 },
      },
    });
    chart.on("click", (params) => {
      const row = params.data?.port;
      if (row) location.hash = `#/port/${row.unlocode}`;
    });
    render();
  }

  const unsubscribe = feed.subscribe(() => render());
  const timer = setInterval(() => loadPorts(), PORTS_REFRESH_MS);
  loadPorts();
  startMap();

  return {
    unmount() {
      alive = false;
      unsubscribe();
      clearInterval(timer);
      relabel.disconnect();
      dispose(chart);
      chart = null;
    },
  };
}
