// Usage: cost and tokens per day (chart), totals with error and fallback rates, and tables per
// agent and per model, for a range of UTC days — all from GET /api/usage.
import { api, query } from "./api.js";
import { clear, dayRange, field, formatCost, formatInteger, formatRate, h, providerBadge, table, utcDay } from "./dom.js";
import { usageChart } from "./chart.js";

const MAX_CHART_DAYS = 366;

export async function renderUsage(main, params) {
  let to = params.get("to") || utcDay(0);
  let from = params.get("from") || utcDay(-29);
  main.append(h("h1", "Usage"));
  const fromInput = h("input", { type: "date", name: "from", value: from, required: true });
  const toInput = h("input", { type: "date", name: "to", value: to, required: true });
  main.append(h("form.filters", { on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/usage${query({ from: fromInput.value, to: toInput.value })}`;
  } } },
  field("usage-from", "From (UTC day)", fromInput),
  field("usage-to", "To (UTC day)", toInput),
  h("button", { type: "submit" }, "Show"),
  h("span.quick-ranges", [7, 30, 90].map((days) => h("a.button", {
    href: `#/usage${query({ from: utcDay(-(days - 1)), to: utcDay(0) })}`,
  }, `Last ${days} days`)))));

  if (from > to) [from, to] = [to, from];
  const usage = await api("GET", `/api/usage${query({ from, to, limit: 1000 })}`);
  const totals = usage.totals;
  main.append(h("dl.summary#usage-totals",
    item("Cost", formatCost(totals.cost), { total: "cost", value: totals.cost ?? "" }),
    item("Requests", formatInteger(totals.requests), { total: "requests", value: totals.requests }),
    item("Tokens", formatInteger(totals.total_tokens), { total: "tokens", value: totals.total_tokens }),
    item("Error rate", formatRate(totals.error_rate), { total: "error-rate", value: totals.error_rate ?? "" }),
    item("Fallback rate", formatRate(totals.fallback_rate), { total: "fallback-rate", value: totals.fallback_rate ?? "" }),
    item("Unpriced requests", formatInteger(totals.unpriced_requests), { total: "unpriced", value: totals.unpriced_requests })));

  // The chart: every day of the range (capped), zero where nothing was used.
  const byDay = new Map(usage.days.map((day) => [day.day, day]));
  let days = dayRange(from, to);
  if (days.length > MAX_CHART_DAYS) days = days.slice(-MAX_CHART_DAYS);
  const points = days.map((day) => {
    const entry = byDay.get(day);
    return { day, cost: entry ? entry.cost : null, tokens: entry ? entry.total_tokens : 0, requests: entry ? entry.requests : 0 };
  });
  const chartBox = h("figure.chart", { id: "usage-chart" });
  const legend = h("figcaption.legend", h("span.swatch.swatch-cost"), " cost per day (USD, left axis)  ",
    h("span.swatch.swatch-tokens"), " tokens per day (right axis)");
  main.append(h("section.card", { "aria-labelledby": "chart-title" }, h("h2#chart-title", "Cost and tokens per day"), chartBox));
  const draw = () => {
    clear(chartBox).append(usageChart(points, chartBox.clientWidth || 800), legend);
  };
  draw();
  let resizeTimer = null;
  const onResize = () => {
    if (!document.body.contains(chartBox)) {
      window.removeEventListener("resize", onResize);
      return;
    }
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(draw, 100);
  };
  window.addEventListener("resize", onResize);
  main.append(h("details.data-table", h("summary", "Per-day numbers as a table"), table("Per day", [
    { label: "Day" }, { label: "Requests", className: "number" }, { label: "Errors", className: "number" },
    { label: "Tokens", className: "number" }, { label: "Cost", className: "number" },
  ], usage.days.map((day) => h("tr", { dataset: { day: day.day } }, h("td", day.day), h("td.number", formatInteger(day.requests)),
    h("td.number", formatInteger(day.errors)), h("td.number", formatInteger(day.total_tokens)), h("td.number", formatCost(day.cost)))),
  { empty: "No usage in this range." })));

  const counterColumns = [
    { label: "Requests", className: "number" }, { label: "Error rate", className: "number" },
    { label: "Fallback rate", className: "number" }, { label: "Tokens", className: "number" },
    { label: "Cost", className: "number" },
  ];
  const counterCells = (entry) => [
    h("td.number", formatInteger(entry.requests)), h("td.number", formatRate(entry.error_rate)),
    h("td.number", formatRate(entry.fallback_rate)), h("td.number", formatInteger(entry.total_tokens)),
    h("td.number", { dataset: { cost: entry.cost ?? "" } }, formatCost(entry.cost)),
  ];
  main.append(h("h2", "Per agent"), table(null, [{ label: "Agent" }, ...counterColumns],
    usage.agents.map((entry) => h("tr", { dataset: { agentId: entry.agent_id } },
      h("td", entry.agent_name ? h("a", { href: `#/agents/${entry.agent_id}/usage` }, entry.agent_name) : h("span.muted", `deleted agent ${entry.agent_id}`)),
      counterCells(entry))),
    { attributes: { id: "usage-agents" }, stack: true, label: "Usage per agent", empty: "No usage in this range." }));
  if (usage.agent_count > usage.agents.length) main.append(h("p.hint", `Showing the ${usage.agents.length} most used of ${usage.agent_count} agents.`));
  main.append(h("h2", "Per model"), table(null, [{ label: "Model" }, { label: "Provider" }, ...counterColumns],
    usage.models.map((entry) => h("tr", { dataset: { modelId: entry.model_id } },
      h("td", h("code", entry.model_id)), h("td", providerBadge(entry.provider)), counterCells(entry))),
    { attributes: { id: "usage-models" }, stack: true, label: "Usage per model", empty: "No usage in this range." }));
}

function item(label, value, data) {
  return h("div", { dataset: data }, h("dt", label), h("dd", value));
}
