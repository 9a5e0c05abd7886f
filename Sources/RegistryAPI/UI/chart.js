// Cost and tokens per day as an SVG drawn here: cost as bars (left axis, USD), tokens as a line
// (right axis). Every day of the range gets a slot; days without usage are zero.
import { formatCost, formatInteger, formatTokens, svg } from "./dom.js";

const HEIGHT = 260;
const MARGIN = { top: 16, right: 56, bottom: 40, left: 64 };
/** Grid lines above zero; with the ceilings below every label is a round number. */
const STEPS = 5;

/** points: [{day, cost (number|null), tokens, requests}] in day order. */
export function usageChart(points, width) {
  const chartWidth = Math.max(280, Math.floor(width));
  const plotWidth = chartWidth - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const maxCost = niceCeiling(Math.max(0, ...points.map((point) => point.cost || 0)));
  const maxTokens = niceCeiling(Math.max(0, ...points.map((point) => point.tokens)));
  const slot = plotWidth / Math.max(1, points.length);
  const barWidth = Math.max(1, Math.min(40, slot * 0.7));
  const x = (index) => MARGIN.left + slot * index + slot / 2;
  const yCost = (value) => MARGIN.top + plotHeight - (maxCost ? (value / maxCost) * plotHeight : 0);
  const yTokens = (value) => MARGIN.top + plotHeight - (maxTokens ? (value / maxTokens) * plotHeight : 0);

  const root = svg("svg", {
    class: "usage-chart", width: chartWidth, height: HEIGHT, viewBox: `0 0 ${chartWidth} ${HEIGHT}`, role: "img",
    "aria-labelledby": "usage-chart-title usage-chart-desc",
  });
  const total = points.reduce((sum, point) => sum + (point.cost || 0), 0);
  root.append(
    svg("title", { id: "usage-chart-title" }, "Cost and tokens per day"),
    svg("desc", { id: "usage-chart-desc" },
      `${points.length} days from ${points[0] ? points[0].day : "?"} to ${points.length ? points[points.length - 1].day : "?"}; `
      + `bars: cost (total ${formatCost(total)}); line: tokens.`));

  // Grid and axes: the same five steps on both sides.
  const grid = svg("g", { class: "grid" });
  for (let step = 0; step <= STEPS; step += 1) {
    const y = MARGIN.top + plotHeight - (plotHeight * step) / STEPS;
    grid.append(svg("line", { x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: y, y2: y }));
    grid.append(svg("text", { class: "axis-cost", x: MARGIN.left - 6, y: y + 4, "text-anchor": "end" }, formatAxisCost((maxCost * step) / STEPS)));
    grid.append(svg("text", { class: "axis-tokens", x: MARGIN.left + plotWidth + 6, y: y + 4, "text-anchor": "start" }, formatTokens((maxTokens * step) / STEPS)));
  }
  root.append(grid);

  const bars = svg("g", { class: "bars" });
  points.forEach((point, index) => {
    const cost = point.cost || 0;
    const top = yCost(cost);
    const bar = svg("rect", {
      class: "bar", x: x(index) - barWidth / 2, y: top, width: barWidth, height: Math.max(0, MARGIN.top + plotHeight - top),
      "data-day": point.day, "data-cost": point.cost === null ? "" : point.cost, "data-tokens": point.tokens,
    }, svg("title", {}, `${point.day}: ${formatCost(point.cost ?? 0)}, ${formatInteger(point.tokens)} tokens, ${formatInteger(point.requests)} requests`));
    bars.append(bar);
  });
  root.append(bars);

  if (points.length) {
    const path = points.map((point, index) => `${index ? "L" : "M"}${x(index).toFixed(1)},${yTokens(point.tokens).toFixed(1)}`).join(" ");
    root.append(svg("path", { class: "tokens-line", d: path, fill: "none" }));
    const dots = svg("g", { class: "tokens-dots" });
    points.forEach((point, index) => {
      if (point.tokens) dots.append(svg("circle", { cx: x(index), cy: yTokens(point.tokens), r: 3, "data-day": point.day }));
    });
    root.append(dots);
  }

  // Day labels: as many as fit without overlapping (about 70 px each).
  const labels = svg("g", { class: "x-labels" });
  const every = Math.max(1, Math.ceil(points.length / Math.max(1, Math.floor(plotWidth / 70))));
  points.forEach((point, index) => {
    if (index % every === 0 || index === points.length - 1) {
      labels.append(svg("text", { x: x(index), y: HEIGHT - MARGIN.bottom + 16, "text-anchor": "middle" }, point.day.slice(5)));
    }
  });
  root.append(labels);
  root.append(svg("line", { class: "axis", x1: MARGIN.left, x2: MARGIN.left + plotWidth, y1: MARGIN.top + plotHeight, y2: MARGIN.top + plotHeight }));
  return root;
}

/** 1, 2, 2.5, 5 or 10 × 10^n at or above the value (0 stays 0): a fifth of it is round too. */
function niceCeiling(value) {
  if (!(value > 0)) return 0;
  const exponent = Math.floor(Math.log10(value));
  const base = 10 ** exponent;
  for (const factor of [1, 2, 2.5, 5, 10]) {
    if (value <= factor * base * 1.000001) return factor * base;
  }
  return 10 * base;
}

function formatAxisCost(value) {
  if (value === 0) return "$0";
  if (value >= 1) return `$${+value.toFixed(2)}`;
  return `$${+value.toPrecision(3)}`;
}
