// ECharts (vendor/echarts.min.js, a global) set up the dashboard's way: one palette, charts that
// follow the size of their box, and the map of the region from the bundled world-atlas outline.

/* global echarts, topojson */

export const COLOURS = {
  primary: "#1d5fa6",
  secondary: "#c8671a",
  muted: "#8a94a3",
  grid: "#e3e7ec",
  text: "#1f2933",
  land: "#e6eaef",
  border: "#b3bcc7",
};

// Colour-blind-safe diverging scale (ColorBrewer RdYlBu), good end first.
export const GOOD_TO_BAD = ["#2c7bb6", "#abd9e9", "#ffffbf", "#fdae61", "#d7191c"];
// Sequential scale for volumes, where neither end is better (ColorBrewer Blues).
export const SEQUENTIAL = ["#deebf7", "#9ecae1", "#4292c6", "#08519c"];

export const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';

/** A chart in `element` that resizes with it; `dispose(chart)` when the view goes away. */
export function makeChart(element) {
  const chart = echarts.init(element, null, { renderer: "canvas" });
  const observer = new ResizeObserver(() => chart.resize());
  observer.observe(element);
  chart.__hubObserver = observer;
  return chart;
}

export function dispose(chart) {
  if (!chart) return;
  chart.__hubObserver?.disconnect();
  chart.dispose();
}

/** Options every chart shares: font, text colour, no animation on live updates. */
export function baseOption() {
  return {
    textStyle: { fontFamily: FONT, color: COLOURS.text },
    animationDurationUpdate: 300,
  };
}

// Latin America and the Caribbean: countries whose outline lies within this box.
const REGION_BOX = { west: -120, east: -25, south: -60, north: 35 };
let mapReady = null;

/** Register the map "lac" once (the outline is fetched from vendor/, never from the internet). */
export function loadRegionMap() {
  if (!mapReady) {
    mapReady = fetch("vendor/countries-50m.json")
      .then((response) => {
        if (!response.ok) throw new Error(`map outline: HTTP ${response.status}`);
        return response.json();
      })
      .then((topology) => {
        const world = topojson.feature(topology, topology.objects.countries);
        const features = world.features.filter((feature) => insideRegion(feature.geometry));
        echarts.registerMap("lac", { type: "FeatureCollection", features });
      })
      .catch((error) => {
        mapReady = null;
        throw error;
      });
  }
  return mapReady;
}

function insideRegion(geometry) {
  if (!geometry) return false;
  let inside = true;
  let any = false;
  const visit = (coordinates) => {
    if (typeof coordinates[0] === "number") {
      any = true;
      const [lon, lat] = coordinates;
      if (lon < REGION_BOX.west || lon > REGION_BOX.east) inside = false;
      if (lat < REGION_BOX.south || lat > REGION_BOX.north) inside = false;
      return;
    }
    for (const part of coordinates) visit(part);
  };
  visit(geometry.coordinates);
  return any && inside;
}

// Mercator, so that the region looks as it does on a nautical chart.
export const MERCATOR = {
  project: ([lon, lat]) => [
    (lon * Math.PI) / 180,
    -Math.log(Math.tan(Math.PI / 4 + (Math.max(-85, Math.min(85, lat)) * Math.PI) / 360)),
  ],
  unproject: ([x, y]) => [(x * 180) / Math.PI, (2 * Math.atan(Math.exp(-y)) - Math.PI / 2) * (180 / Math.PI)],
};

let measuring = null;

/** The width in pixels of `text` in the charts' font at `fontSize`. */
function textWidth(text, fontSize) {
  measuring ??= document.createElement("canvas").getContext("2d");
  measuring.font = `${fontSize}px ${FONT}`;
  return measuring.measureText(text).width;
}

const LABEL_SIDES = ["right", "left", "top", "bottom"];

/**
 * Where to put each point's label so that no label covers another label or any point's symbol
 * (ECharts' hideOverlap only compares labels with labels, so a name could still cover a
 * neighbouring port): for each point in the order given (most important first), the first of
 * right, left, above and below that is free and inside `bounds`; null when none is, and the name
 * is left to the tooltip. `points` are {id, x, y, radius, text} in pixels of the chart; the
 * positions are ECharts label positions at `distance` from the symbol.
 */
export function placeLabels(points, { fontSize, distance, bounds }) {
  const height = Math.ceil(fontSize * 1.3);
  const taken = points.map((p) => ({ left: p.x - p.radius, right: p.x + p.radius, top: p.y - p.radius, bottom: p.y + p.radius }));
  const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const placed = new Map();
  for (const point of points) {
    const width = textWidth(point.text, fontSize);
    const near = point.radius + distance;
    const boxes = {
      right: { left: point.x + near, top: point.y - height / 2 },
      left: { left: point.x - near - width, top: point.y - height / 2 },
      top: { left: point.x - width / 2, top: point.y - near - height },
      bottom: { left: point.x - width / 2, top: point.y + near },
    };
    let chosen = null;
    for (const side of LABEL_SIDES) {
      const { left, top } = boxes[side];
      const box = { left, top, right: left + width, bottom: top + height };
      const inside = box.left >= bounds.left && box.right <= bounds.right && box.top >= bounds.top && box.bottom <= bounds.bottom;
      if (inside && !taken.some((other) => overlaps(box, other))) {
        chosen = side;
        taken.push(box);
        break;
      }
    }
    placed.set(point.id, chosen);
  }
  return placed;
}
