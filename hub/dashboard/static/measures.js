// What the KPIs and indicators are (which value of a window to show, in which unit, and whether
// lower or higher is better) and how their numbers, times and names are written.

import { has, language, t } from "./strings.js";

/** The KPIs of the overview and the port page, in display order. `better` drives the colours:
 * the worse end of a scale is always the warm (red) one. */
export const KPIS = [
  { key: "waiting_time_h", unit: "h", better: "lower" },
  { key: "port_hours_h", unit: "h", better: "lower" },
  { key: "berth_productivity_moves_per_h", unit: "moves/h", better: "higher" },
  { key: "berth_occupancy_pct", unit: "%", better: "neutral" },
  { key: "dwell_days", unit: "days", better: "lower" },
  { key: "truck_turnaround_min", unit: "min", better: "lower" },
  { key: "release_time_h", unit: "h", better: "lower" },
  { key: "physical_inspection_flag", unit: "%", better: "lower" },
  { key: "throughput_teu", unit: "TEU", better: "neutral" },
];

export const KPI_BY_KEY = Object.fromEntries(KPIS.map((kpi) => [kpi.key, kpi]));

/** The number a KPI window stands for: a sum for volumes, a rate in % for the inspection flag,
 * the mean otherwise. */
export function windowValue(window) {
  if (!window) return null;
  switch (window.kpi) {
    case "throughput_teu":
    case "throughput_t":
    case "inspections_count":
      return window.total;
    case "physical_inspection_flag":
      return window.mean * 100;
    default:
      return window.mean;
  }
}

/** The unit of the number `windowValue` gives. */
export function windowUnit(kpi, fallback) {
  if (kpi === "physical_inspection_flag") return "%";
  return KPI_BY_KEY[kpi]?.unit ?? fallback ?? "";
}

/** Indicators offered on the indicators page (the first is the default) and the ones its table
 * compares. */
export const INDICATORS = [
  "port_performance_score",
  "port_hours_h",
  "waiting_time_h",
  "berth_productivity_moves_per_h",
  "call_size_adjusted_port_hours_h",
  "dwell_days",
  "truck_turnaround_min",
  "release_time_h",
  "physical_inspection_rate_pct",
  "throughput_teu",
  "eta_abs_error_h",
  "eta_within_1h_pct",
  "co2_t",
  "co2_anchorage_t",
  "co2_berth_t",
  "co2_avoidable_t",
  "intra_regional_share_value_pct",
  "intra_regional_share_teu_pct",
  "trade_introversion_value_index",
  "trade_introversion_teu_index",
  "vessel_calls_per_week",
  "distinct_services_count",
  "connected_ports_count",
  "largest_ship_teu",
  "certificates_count",
  "certificates_valid_pct",
  "certificate_verdict_time_h",
  "release_time_with_valid_certificate_h",
  "release_time_without_certificate_h",
  "digital_certificate_impact_pct",
  "publish_delay_min",
  "calls_complete_pct",
  "moves_with_crane_and_call_pct",
  "declarations_linked_pct",
  "refusal_rate_pct",
  "arrivals_off_ais_pct",
];

// The data-quality scorecard of a port's feed (docs/kpis.md, "Data-quality scorecard").
export const QUALITY_INDICATORS = [
  "publish_delay_min",
  "calls_complete_pct",
  "moves_with_crane_and_call_pct",
  "declarations_linked_pct",
  "refusal_rate_pct",
  "arrivals_off_ais_pct",
];

// The indicators page's emissions panel (totals over the period's calls, tonnes of CO2) and
// arrival-predictability panel (docs/indicators.md).
export const EMISSION_INDICATORS = ["co2_t", "co2_anchorage_t", "co2_berth_t", "co2_avoidable_t"];
export const PREDICTABILITY_INDICATORS = ["eta_abs_error_h", "eta_within_1h_pct"];
// Tonnes of CO2 are shown with a decimal (a port's day can be a few tonnes); cargo tonnes not.
export const CO2_DECIMALS = 1;

export const TABLE_INDICATORS = [
  "port_performance_score",
  "port_hours_h",
  "waiting_time_h",
  "berth_productivity_moves_per_h",
  "intra_regional_share_value_pct",
  "trade_introversion_value_index",
  "vessel_calls_per_week",
  "certificates_valid_pct",
];

const DECIMALS = {
  h: 1,
  days: 1,
  min: 0,
  "moves/h": 1,
  moves: 0,
  cranes: 1,
  "%": 1,
  TEU: 0,
  t: 0,
  score: 0,
  index: 2,
  "calls/week": 1,
  count: 0,
};

const numberFormats = new Map();

function numberFormat(decimals) {
  const key = `${language()}:${decimals}`;
  if (!numberFormats.has(key)) {
    numberFormats.set(
      key,
      new Intl.NumberFormat(language(), {
        minimumFractionDigits: decimals,
        maximumFractionDigits: decimals,
      }),
    );
  }
  return numberFormats.get(key);
}

/** The number alone, with as many decimals as its unit calls for (or `decimals`), "—" when
 * there is none. */
export function formatNumber(value, unit, decimals = DECIMALS[unit] ?? 1) {
  if (value === null || value === undefined || Number.isNaN(value)) return t("common.none");
  return numberFormat(decimals).format(value);
}

/** A number as an axis shows it: up to two decimals, none when it is whole. */
export function formatAxisNumber(value) {
  const key = `${language()}:axis`;
  if (!numberFormats.has(key)) {
    numberFormats.set(key, new Intl.NumberFormat(language(), { maximumFractionDigits: 2 }));
  }
  return numberFormats.get(key).format(value);
}

/** The unit as the reader's language writes it ("" for plain counts). */
export function unitLabel(unit) {
  const key = `unit.${unit}`;
  return has(key) ? t(key) : unit || "";
}

/** The number with its unit: "12.3 h", "45.0 %", "1,234 TEU". */
export function formatValue(value, unit, decimals = undefined) {
  const number = formatNumber(value, unit, decimals);
  const label = unitLabel(unit);
  if (number === t("common.none") || !label) return number;
  return unit === "%" ? `${number} %` : `${number} ${label}`;
}

/** "Waiting time (h)": a column or chart title. */
export function titleWithUnit(label, unit) {
  const shown = unitLabel(unit);
  return shown ? `${label} (${shown})` : label;
}

export function kpiLabel(key) {
  return has(`kpi.${key}`) ? t(`kpi.${key}`) : key;
}

export function indicatorLabel(key) {
  if (has(`indicator.${key}`)) return t(`indicator.${key}`);
  if (has(`kpi.${key}`)) return t(`kpi.${key}`);
  const rejection = /^certificate_rejections_(.+)_count$/.exec(key);
  if (rejection) return t("indicator.rejections", { reason: rejection[1].toUpperCase() });
  const refusal = /^refusal_rate_(.+)_pct$/.exec(key);
  if (refusal) return t("indicator.refusals", { reason: refusal[1].toUpperCase() });
  return key;
}

/** The unit of an indicator, from the suffix of its name (the API gives it with each row too). */
export function indicatorUnit(key) {
  const suffixes = [
    ["_moves_per_h", "moves/h"],
    ["_calls_per_week", "calls/week"],
    ["_per_week", "calls/week"],
    ["_pct", "%"],
    ["_index", "index"],
    ["_score", "score"],
    ["_teu", "TEU"],
    ["_days", "days"],
    ["_min", "min"],
    ["_count", "count"],
    ["_h", "h"],
    ["_t", "t"],
  ];
  for (const [suffix, unit] of suffixes) if (key.endsWith(suffix)) return unit;
  return "";
}

const regionNames = new Map();

/** The country's name in the reader's language (the ISO code if the browser does not know it). */
export function countryName(code) {
  if (!code) return t("common.none");
  if (!regionNames.has(language())) {
    try {
      regionNames.set(language(), new Intl.DisplayNames([language()], { type: "region" }));
    } catch {
      regionNames.set(language(), null);
    }
  }
  const names = regionNames.get(language());
  try {
    return (names && names.of(code)) || code;
  } catch {
    return code;
  }
}

/** A mechanism's (or the region's) name. */
export function mechanismName(code) {
  return has(`mech.${code}`) ? t(`mech.${code}`) : code;
}

const UTC_FORMATS = {
  time: { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false },
  minute: { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hour12: false },
  hour: { day: "2-digit", month: "short", hour: "2-digit", minute: "2-digit", hour12: false },
  day: { day: "2-digit", month: "short", year: "numeric" },
  month: { month: "long", year: "numeric" },
  axisHour: { hour: "2-digit", minute: "2-digit", hour12: false },
  axisDay: { day: "2-digit", month: "short" },
};
const dateFormats = new Map();

/** A time in UTC, in one of the styles above ("time", "minute", "day", "month", …). */
export function formatUtc(moment, style = "minute") {
  if (moment === null || moment === undefined || moment === "") return t("common.none");
  const date = moment instanceof Date ? moment : new Date(moment);
  if (Number.isNaN(date.getTime())) return String(moment);
  const key = `${language()}:${style}`;
  if (!dateFormats.has(key)) {
    dateFormats.set(
      key,
      new Intl.DateTimeFormat(language(), { ...UTC_FORMATS[style], timeZone: "UTC" }),
    );
  }
  return dateFormats.get(key).format(date);
}

/** "2 minutes ago", in the reader's language. */
export function formatAge(seconds) {
  const relative = new Intl.RelativeTimeFormat(language(), { numeric: "auto" });
  if (seconds < 90) return relative.format(-Math.round(seconds), "second");
  if (seconds < 90 * 60) return relative.format(-Math.round(seconds / 60), "minute");
  return relative.format(-Math.round(seconds / 3600), "hour");
}

/** "in 3 hours" or "2 hours ago", in the reader's language. */
export function formatRelative(seconds) {
  const relative = new Intl.RelativeTimeFormat(language(), { numeric: "auto" });
  const size = Math.abs(seconds);
  if (size < 90) return relative.format(Math.round(seconds), "second");
  if (size < 90 * 60) return relative.format(Math.round(seconds / 60), "minute");
  if (size < 48 * 3600) return relative.format(Math.round(seconds / 3600), "hour");
  return relative.format(Math.round(seconds / 86400), "day");
}

/** The middle value of the numbers (null if there are none). */
export function median(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (!sorted.length) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}
