// Regional indicators: one period (a UTC day or a calendar month), an indicator compared across
// countries and integration mechanisms (bar charts, with the region as a reference line), how to
// read the intra-regional share of a country against a mechanism's, the period's emissions and
// arrival predictability (the region's values and each country's), a table of the main
// indicators of every entity, and CSV downloads.

import { download, getJson } from "../api.js";
import { baseOption, COLOURS, dispose, makeChart } from "../charts.js";
import { escapeHtml, fill, h } from "../dom.js";
import {
  CO2_DECIMALS,
  countryName,
  EMISSION_INDICATORS,
  formatAxisNumber,
  formatNumber,
  formatUtc,
  formatValue,
  indicatorLabel,
  indicatorUnit,
  INDICATORS,
  mechanismName,
  PREDICTABILITY_INDICATORS,
  TABLE_INDICATORS,
  titleWithUnit,
  unitLabel,
} from "../measures.js";
import { t } from "../strings.js";

const REFRESH_MS = 30_000;
const MECHANISMS = ["PA", "CAN", "MERCOSUR", "SICA", "CARICOM"];
// Indicators in these units add up (or take the largest) over the region: the region's value is
// no reference line for a country's, so the charts leave it out (the caption still gives it).
const TOTAL_UNITS = new Set(["TEU", "t", "count", "calls/week"]);

// Kept while the page is open, across visits of this view and language switches.
// The periods of GET /v1/indicators (docs/indicators.md, "Periods"): the longer ones are
// recomputed hourly, so they lag the days and months.
const PERIODS = ["day", "month", "quarter", "half-year", "year"];
const PERIOD_NAMES = { day: "ind.day", month: "ind.month", quarter: "ind.quarter", "half-year": "ind.halfYear", year: "ind.year" };
const PERIOD_MONTHS = { month: 1, quarter: 3, "half-year": 6, year: 12 };
const state = { period: "day", periodStart: null, indicator: INDICATORS[0] };

export function mount(root) {
  let alive = true;
  let data = null; // { periods, region, countries, mechanisms }
  let loading = null;

  const periodToggle = h("div", { class: "segmented", role: "group", "aria-label": t("ind.periodKind") });
  const periodSelect = h("select", {
    id: "period-start",
    onchange: (event) => {
      state.periodStart = event.target.value;
      load();
    },
  });
  const indicatorSelect = h(
    "select",
    {
      id: "indicator",
      onchange: (event) => {
        state.indicator = event.target.value;
        render();
      },
    },
    INDICATORS.map((key) => h("option", { value: key, selected: key === state.indicator }, indicatorLabel(key))),
  );
  const downloads = h("p", { class: "downloads", id: "csv-links" });
  const message = h("p", { class: "message", role: "status", hidden: true });
  const countryBox = h("div", { class: "chart chart-tall", id: "country-chart" });
  const mechanismBox = h("div", { class: "chart chart-tall", id: "mechanism-chart" });
  const countryTitle = h("figcaption", {});
  const mechanismTitle = h("figcaption", {});
  const table = h("table", { class: "data-table", id: "indicators-table" });
  const tableTitle = h("h2", {}, t("ind.table"));
  const emissionTiles = h("div", { class: "tiles", id: "emissions-tiles" });
  const emissionBox = h("div", { class: "chart", id: "emissions-chart" });
  const emissionEmpty = h("p", { class: "empty-note", id: "emissions-empty", hidden: true }, t("ind.emissionsEmpty"));
  const emissionCaption = h("p", { class: "panel-caption" }, t("ind.emissionsByCountry"));
  const predictabilityTiles = h("div", { class: "tiles", id: "predictability-tiles" });
  const predictabilityTable = h("table", { class: "data-table", id: "predictability-table" });
  const predictabilityEmpty = h("p", { class: "empty-note", id: "predictability-empty", hidden: true }, t("ind.predictabilityEmpty"));

  root.append(
    h("div", { class: "page-head" }, h("h1", {}, t("ind.title")), h("p", { class: "subtitle" }, t("ind.subtitle"))),
    h(
      "section",
      { class: "card controls" },
      h("div", { class: "field" }, h("span", { class: "field-label" }, t("ind.periodKind")), periodToggle),
      h("label", { class: "field" }, h("span", { class: "field-label" }, t("ind.period")), periodSelect),
      h("label", { class: "field grow" }, h("span", { class: "field-label" }, t("ind.indicator")), indicatorSelect),
      downloads,
    ),
    message,
    h(
      "section",
      { class: "indicator-charts" },
      h("figure", { class: "card chart-card" }, countryTitle, countryBox),
      h("figure", { class: "card chart-card" }, mechanismTitle, mechanismBox),
    ),
    h(
      "aside",
      { class: "card note-card", id: "share-note" },
      h("h2", {}, t("ind.shareNoteTitle")),
      h("p", {}, t("ind.shareNote")),
    ),
    h(
      "section",
      { class: "indicator-panels" },
      h(
        "section",
        { class: "card", id: "emissions-card" },
        h("div", { class: "card-head" }, h("h2", {}, t("ind.emissions"))),
        h("p", { class: "hint" }, t("ind.emissionsNote")),
        emissionEmpty,
        emissionTiles,
        emissionCaption,
        emissionBox,
      ),
      h(
        "section",
        { class: "card", id: "predictability-card" },
        h("div", { class: "card-head" }, h("h2", {}, t("ind.predictability"))),
        h("p", { class: "hint" }, t("ind.predictabilityNote")),
        predictabilityEmpty,
        predictabilityTiles,
        h("div", { class: "table-scroll" }, predictabilityTable),
      ),
    ),
    h("section", { class: "card" }, h("div", { class: "card-head" }, tableTitle), h("div", { class: "table-scroll" }, table)),
  );

  const countryChart = makeChart(countryBox);
  const mechanismChart = makeChart(mechanismBox);
  const emissionChart = makeChart(emissionBox);

  function renderControls() {
    fill(
      periodToggle,
      PERIODS.map((period) =>
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(state.period === period),
            dataset: { period },
            onclick: () => {
              if (state.period === period) return;
              state.period = period;
              state.periodStart = null;
              renderControls();
              load();
            },
          },
          t(PERIOD_NAMES[period]),
        ),
      ),
    );
    // Buttons, not links: the file is fetched with the tab's token (a link cannot send it).
    const csv = (level, label) =>
      h(
        "button",
        {
          type: "button",
          class: "link",
          dataset: { level },
          onclick: () =>
            download("v1/indicators", { level, period: state.period, format: "csv" }, `indicators-${level}-${state.period}.csv`).catch(
              (error) => {
                if (!alive) return;
                message.hidden = false;
                message.textContent = t("common.error", { detail: error.message });
              },
            ),
        },
        label,
      );
    fill(
      downloads,
      h("span", { class: "field-label" }, t("ind.download")),
      h(
        "span",
        { class: "download-links" },
        csv("country", t("ind.csvCountry")),
        csv("mechanism", t("ind.csvMechanism")),
        csv("region", t("ind.csvRegion")),
      ),
    );
  }

  function periodLabel(start) {
    if (state.period === "day" || state.period === "month") return formatUtc(start, state.period);
    const date = new Date(start);
    const year = date.getUTCFullYear();
    if (state.period === "quarter") return t("ind.quarterOf", { n: date.getUTCMonth() / 3 + 1, year });
    if (state.period === "half-year") return t("ind.halfOf", { n: date.getUTCMonth() / 6 + 1, year });
    return String(year);
  }

  function renderPeriods() {
    const periods = data?.periods ?? [];
    fill(
      periodSelect,
      periods.map((start) => h("option", { value: start, selected: start === state.periodStart }, periodLabel(start))),
    );
    periodSelect.disabled = !periods.length;
  }

  function valuesOf(rows, indicator) {
    const values = new Map();
    for (const row of rows) if (row.indicator === indicator && row.value !== null) values.set(row.entity, row);
    return values;
  }

  function barOption(entries, unit, regionRow) {
    // Largest at the top: a category y axis runs upwards.
    const sorted = [...entries].sort((a, b) => a.value - b.value);
    const regionValue = TOTAL_UNITS.has(unit) ? null : (regionRow?.value ?? null);
    return {
      ...baseOption(),
      grid: { left: 8, right: 64, top: 24, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "item",
        formatter: (p) => `${escapeHtml(p.name)}<br><strong>${escapeHtml(formatValue(p.value, unit))}</strong>` +
          `<br>${escapeHtml(t("ind.basedOn", { n: formatNumber(p.data.count, "count") }))}`,
      },
      xAxis: {
        type: "value",
        axisLabel: { fontSize: 11, color: COLOURS.text, formatter: formatAxisNumber },
        splitLine: { lineStyle: { color: COLOURS.grid } },
      },
      yAxis: {
        type: "category",
        data: sorted.map((entry) => entry.label),
        axisLabel: { fontSize: 12, color: COLOURS.text, width: 150, overflow: "truncate" },
        axisTick: { show: false },
        axisLine: { lineStyle: { color: COLOURS.muted } },
      },
      graphic: [
        {
          id: "empty",
          type: "text",
          left: "center",
          top: "middle",
          invisible: entries.length > 0,
          style: { text: t("ind.noValue"), fill: COLOURS.muted, fontSize: 12 },
        },
      ],
      series: [
        {
          id: "bars",
          type: "bar",
          barMaxWidth: 18,
          itemStyle: { color: COLOURS.primary, borderRadius: [0, 3, 3, 0] },
          label: {
            show: true,
            position: "right",
            fontSize: 11,
            color: COLOURS.text,
            formatter: (p) => formatNumber(p.value, unit),
          },
          data: sorted.map((entry) => ({ name: entry.label, value: entry.value, count: entry.count })),
          markLine:
            regionValue === null || !entries.length
              ? { data: [] }
              : {
                  symbol: "none",
                  silent: true,
                  lineStyle: { color: COLOURS.secondary, type: "dashed", width: 2 },
                  label: {
                    formatter: t("ind.regionLine", { value: formatValue(regionValue, unit) }),
                    color: COLOURS.secondary,
                    fontSize: 11,
                    position: "end",
                  },
                  data: [{ xAxis: regionValue }],
                },
        },
      ],
    };
  }

  function render() {
    renderPeriods();
    const key = state.indicator;
    const unit = indicatorUnit(key);
    const title = titleWithUnit(indicatorLabel(key), unit);
    const when = state.periodStart ? ` · ${periodLabel(state.periodStart)}` : "";
    tableTitle.textContent = `${t("ind.table")}${when}`;
    const regionRow = data ? valuesOf(data.region, key).get("LAC") : undefined;
    const regionNote = regionRow
      ? h("span", { class: "region-note" }, `${t("ind.region")}: ${formatValue(regionRow.value, unit)}`)
      : null;
    fill(countryTitle, `${t("ind.byCountry")}: ${title}${when}`, regionNote);
    fill(mechanismTitle, `${t("ind.byMechanism")}: ${title}${when}`, regionNote?.cloneNode(true));
    if (!data) return;
    const countries = [...valuesOf(data.countries, key).values()].map((row) => ({
      label: `${countryName(row.entity)}`,
      value: row.value,
      count: row.count,
    }));
    const mechanisms = [...valuesOf(data.mechanisms, key).values()].map((row) => ({
      label: mechanismName(row.entity),
      value: row.value,
      count: row.count,
    }));
    countryChart.setOption(barOption(countries, unit, regionRow), { replaceMerge: ["series"] });
    mechanismChart.setOption(barOption(mechanisms, unit, regionRow), { replaceMerge: ["series"] });
    renderEmissions();
    renderPredictability();
    renderTable();
  }

  function callCount(n) {
    return t(n === 1 ? "ind.callsOne" : "ind.calls", { n: formatNumber(n, "count") });
  }

  /** The region's value of each of `keys` as tiles (each with the calls behind it). */
  function regionTiles(keys, decimals, sub) {
    const region = data.region.filter((row) => row.entity === "LAC");
    return keys.map((key) => {
      const row = region.find((candidate) => candidate.indicator === key && candidate.value !== null);
      const unit = indicatorUnit(key);
      return h(
        "div",
        { class: "tile", dataset: { indicator: key } },
        h("div", { class: "tile-label" }, indicatorLabel(key)),
        h("div", { class: "tile-value" }, formatValue(row ? row.value : null, unit, decimals)),
        h("div", { class: "tile-sub" }, row ? sub(key, row) : t("ind.noValue")),
      );
    });
  }

  function hasAny(keys) {
    const present = (rows) => rows.some((row) => keys.includes(row.indicator) && row.value !== null);
    return present(data.region) || present(data.countries);
  }

  function renderEmissions() {
    const any = hasAny(EMISSION_INDICATORS);
    emissionEmpty.hidden = any;
    emissionTiles.hidden = !any;
    emissionCaption.hidden = !any;
    emissionBox.hidden = !any;
    document.getElementById("emissions-card").dataset.state = any ? "values" : "empty";
    if (!any) {
      fill(emissionTiles);
      emissionChart.clear();
      return;
    }
    // The avoidable share as the API gives it (co2_avoidable_pct), else from the two totals.
    const total = valuesOf(data.region, "co2_t").get("LAC")?.value ?? null;
    const avoidableShare = (row) =>
      valuesOf(data.region, "co2_avoidable_pct").get("LAC")?.value ?? (total ? (row.value / total) * 100 : null);
    fill(
      emissionTiles,
      regionTiles(EMISSION_INDICATORS, CO2_DECIMALS, (key, row) =>
        key === "co2_avoidable_t" && avoidableShare(row) !== null
          ? t("ind.ofTotal", { pct: formatValue(avoidableShare(row), "%") })
          : `${t("ind.region")} · ${callCount(row.count)}`,
      ),
    );
    const anchorage = valuesOf(data.countries, "co2_anchorage_t");
    const berth = valuesOf(data.countries, "co2_berth_t");
    const codes = [...new Set([...anchorage.keys(), ...berth.keys()])];
    const sum = (code) => (anchorage.get(code)?.value ?? 0) + (berth.get(code)?.value ?? 0);
    // Largest at the top: a category y axis runs upwards.
    codes.sort((a, b) => sum(a) - sum(b));
    const tonnes = (value) => formatNumber(value, "t", CO2_DECIMALS);
    const bar = (id, name, rows, colour) => ({
      id,
      name,
      type: "bar",
      stack: "co2",
      barMaxWidth: 16,
      itemStyle: { color: colour },
      data: codes.map((code) => rows.get(code)?.value ?? 0),
    });
    emissionBox.style.height = `${Math.max(160, 60 + codes.length * 24)}px`;
    emissionChart.setOption(
      {
        ...baseOption(),
        grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
        legend: { top: 0, left: 0, itemWidth: 14, itemHeight: 9, textStyle: { fontSize: 11, color: COLOURS.text } },
        tooltip: {
          trigger: "axis",
          axisPointer: { type: "shadow" },
          formatter: (params) => {
            const list = Array.isArray(params) ? params : [params];
            const code = codes[list[0]?.dataIndex];
            const lines = list.map((p) => `${p.marker}${escapeHtml(p.seriesName)}: <strong>${escapeHtml(tonnes(p.value))} t</strong>`);
            return `${escapeHtml(countryName(code))}<br>${lines.join("<br>")}`;
          },
        },
        xAxis: {
          type: "value",
          axisLabel: { fontSize: 11, color: COLOURS.text, formatter: formatAxisNumber },
          splitLine: { lineStyle: { color: COLOURS.grid } },
        },
        yAxis: {
          type: "category",
          data: codes.map((code) => countryName(code)),
          axisLabel: { fontSize: 11, color: COLOURS.text, width: 130, overflow: "truncate" },
          axisTick: { show: false },
        },
        series: [
          bar("anchorage", t("ind.atAnchorage"), anchorage, COLOURS.secondary),
          bar("berth", t("ind.atBerth"), berth, COLOURS.primary),
        ],
      },
      { replaceMerge: ["series"] },
    );
    emissionChart.resize();
  }

  function renderPredictability() {
    const any = hasAny(PREDICTABILITY_INDICATORS);
    predictabilityEmpty.hidden = any;
    predictabilityTiles.hidden = !any;
    predictabilityTable.hidden = !any;
    document.getElementById("predictability-card").dataset.state = any ? "values" : "empty";
    if (!any) {
      fill(predictabilityTiles);
      fill(predictabilityTable);
      return;
    }
    fill(
      predictabilityTiles,
      regionTiles(PREDICTABILITY_INDICATORS, undefined, (key, row) =>
        `${t("ind.region")} · ${callCount(row.count)}`,
      ),
    );
    const error = valuesOf(data.countries, "eta_abs_error_h");
    const within = valuesOf(data.countries, "eta_within_1h_pct");
    const codes = [...new Set([...error.keys(), ...within.keys()])].sort((a, b) =>
      countryName(a).localeCompare(countryName(b)),
    );
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("col.country")),
        PREDICTABILITY_INDICATORS.map((key) =>
          h("th", { scope: "col", class: "num" }, titleWithUnit(indicatorLabel(key), indicatorUnit(key))),
        ),
        h("th", { scope: "col", class: "num" }, t("ind.callsColumn")),
      ),
    );
    const body = h(
      "tbody",
      {},
      codes.map((code) => {
        const calls = error.get(code)?.count ?? within.get(code)?.count ?? null;
        return h(
          "tr",
          { dataset: { entity: code } },
          h("th", { scope: "row" }, countryName(code)),
          h("td", { class: "num" }, formatNumber(error.get(code)?.value ?? null, "h")),
          h("td", { class: "num" }, formatNumber(within.get(code)?.value ?? null, "%")),
          h("td", { class: "num" }, formatNumber(calls, "count")),
        );
      }),
    );
    fill(predictabilityTable, h("caption", { class: "visually-hidden" }, t("ind.predictability")), head, body);
  }

  function renderTable() {
    const columns = TABLE_INDICATORS.includes(state.indicator) ? TABLE_INDICATORS : [state.indicator, ...TABLE_INDICATORS];
    const entities = [
      { level: "region", id: "LAC", label: `${mechanismName("LAC")} (LAC)` },
      ...MECHANISMS.map((id) => ({
        level: "mechanism",
        id,
        label: mechanismName(id) === id ? id : `${mechanismName(id)} (${id})`,
      })),
      ...[...new Set(data.countries.map((row) => row.entity))]
        .map((id) => ({ level: "country", id, label: `${countryName(id)} (${id})` }))
        .sort((a, b) => a.label.localeCompare(b.label)),
    ];
    const lookup = new Map();
    for (const source of [data.region, data.mechanisms, data.countries]) {
      for (const row of source) lookup.set(`${row.level}/${row.entity}/${row.indicator}`, row);
    }
    const head = h(
      "thead",
      {},
      h(
        "tr",
        {},
        h("th", { scope: "col" }, t("col.entity")),
        columns.map((key) =>
          h(
            "th",
            { scope: "col", class: key === state.indicator ? "num selected" : "num" },
            h("span", { class: "th-label" }, indicatorLabel(key)),
            indicatorUnit(key) && indicatorUnit(key) !== "count"
              ? h("span", { class: "th-unit" }, unitLabel(indicatorUnit(key)))
              : null,
          ),
        ),
      ),
    );
    const body = h(
      "tbody",
      {},
      entities.map((entity) =>
        h(
          "tr",
          { class: `level-${entity.level}`, dataset: { entity: entity.id } },
          h("th", { scope: "row" }, entity.label),
          columns.map((key) => {
            const row = lookup.get(`${entity.level}/${entity.id}/${key}`);
            return h(
              "td",
              { class: key === state.indicator ? "num selected" : "num" },
              formatNumber(row ? row.value : null, indicatorUnit(key)),
            );
          }),
        ),
      ),
    );
    fill(table, h("caption", { class: "visually-hidden" }, t("ind.table")), head, body);
  }

  function periodEnd(start) {
    const date = new Date(start);
    if (state.period === "day") return new Date(date.getTime() + 24 * 3600 * 1000);
    const months = PERIOD_MONTHS[state.period];
    return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1));
  }

  async function load() {
    const period = state.period;
    const run = (loading = {});
    try {
      const region = (await getJson("v1/indicators", { level: "region", period })).indicators;
      const periods = [...new Set(region.map((row) => row.period_start))].sort(
        (a, b) => new Date(b).getTime() - new Date(a).getTime(),
      );
      if (!periods.length) {
        if (!alive || run !== loading) return;
        data = { periods, region: [], countries: [], mechanisms: [] };
        message.hidden = false;
        message.textContent = t("ind.empty");
        render();
        return;
      }
      if (!periods.includes(state.periodStart)) state.periodStart = periods[0];
      const range = {
        period,
        from: new Date(state.periodStart).toISOString(),
        to: periodEnd(state.periodStart).toISOString(),
      };
      const [countries, mechanisms] = await Promise.all([
        getJson("v1/indicators", { level: "country", ...range }),
        getJson("v1/indicators", { level: "mechanism", ...range }),
      ]);
      if (!alive || run !== loading || period !== state.period) return;
      const inPeriod = (row) => row.period_start === state.periodStart;
      data = {
        periods,
        region: region.filter(inPeriod),
        countries: countries.indicators.filter(inPeriod),
        mechanisms: mechanisms.indicators.filter(inPeriod),
      };
      message.hidden = true;
      render();
    } catch (error) {
      if (!alive) return;
      message.hidden = false;
      message.textContent = t("common.error", { detail: error.message });
    }
  }

  renderControls();
  render();
  load();
  const timer = setInterval(load, REFRESH_MS);

  return {
    unmount() {
      alive = false;
      clearInterval(timer);
      dispose(countryChart);
      dispose(mechanismChart);
      dispose(emissionChart);
    },
  };
}
