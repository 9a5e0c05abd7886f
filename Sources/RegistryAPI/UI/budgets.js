// Budgets: each budget of the caller's tenant (every tenant's and the global ones for an admin)
// as a bar of spent and reserved against its limit in the current period, with its alerts; a form
// to create one (operator) and delete. The worker enforces them by reservation (docs/budgets.md).
import { api } from "./api.js";
import { badge, errorBox, field, formatDate, h, table, toast } from "./dom.js";

const SCOPES = ["agent", "api_key", "tenant", "global"];
const PERIODS = ["month", "week", "day", "lifetime"];
const BEHAVIOURS = ["fail", "defer", "downgrade"];

export async function renderBudgets(main) {
  main.append(h("h1", "Budgets"),
    h("p.hint", "A budget limits spend in USD per period. Every call reserves its maximum cost before it is sent and is charged its exact cost when it answers, so a budget holds across any number of workers."));
  const listed = (await api("GET", "/api/budgets")).budgets;
  // The latest alerts of each budget (one request per budget; a page of budgets is small).
  const detailed = await Promise.all(listed.map((budget) => api("GET", `/api/budgets/${budget.id}`).catch(() => budget)));
  const [agents, keys, tenants] = await Promise.all([
    api("GET", "/api/agents?limit=500").then((r) => r.agents).catch(() => []),
    api("GET", "/api/keys").then((r) => r.keys).catch(() => []),
    api("GET", "/api/tenants").then((r) => r.tenants).catch(() => []),
  ]);
  const names = new Map([
    ...agents.map((a) => [a.id, `agent ${a.name}`]),
    ...keys.map((k) => [k.id, `key ${k.prefix}…${k.name ? ` (${k.name})` : ""}`]),
    ...tenants.map((t) => [t.id, `tenant ${t.name}`]),
  ]);
  main.append(budgetTable(detailed, names, main), createForm({ agents, keys, tenants }, main));
}

function bar(budget) {
  const limit = Number(budget.limit_usd);
  const spent = Number(budget.spent_usd);
  const reserved = Number(budget.reserved_usd);
  const share = (value) => (limit > 0 ? Math.min(100, (value / limit) * 100) : value > 0 ? 100 : 0);
  const used = share(spent + reserved);
  // Widths through the CSSOM: the page's Content-Security-Policy refuses style attributes.
  const spentPart = h("span.budget-spent");
  spentPart.style.width = `${share(spent).toFixed(2)}%`;
  const reservedPart = h("span.budget-reserved");
  reservedPart.style.width = `${Math.max(0, used - share(spent)).toFixed(2)}%`;
  return h("div.budget-bar", {
    role: "meter", "aria-valuemin": "0", "aria-valuemax": String(limit), "aria-valuenow": String(spent),
    "aria-label": `${budget.spent_usd} of ${budget.limit_usd} USD spent, ${budget.reserved_usd} reserved`,
    title: `spent ${budget.spent_usd}, reserved ${budget.reserved_usd}, remaining ${budget.remaining_usd} USD`,
  }, spentPart, reservedPart);
}

function budgetTable(budgets, names, main) {
  const rows = budgets.map((budget) => h("tr", { dataset: { budgetId: budget.id } },
    h("td", budget.name || h("code.small", budget.id.slice(0, 8)), h("br"),
      budget.scope === "global" ? "global" : names.get(budget.scope_id) || `${budget.scope} ${budget.scope_id}`),
    h("td", `${budget.period}${budget.time_zone !== "UTC" ? ` (${budget.time_zone})` : ""}`,
      budget.period_end ? [h("br"), h("span.small", `until ${formatDate(budget.period_end)}`)] : null),
    h("td", bar(budget), h("span.small.budget-figures",
      `$${budget.spent_usd} spent · $${budget.reserved_usd} reserved · $${budget.remaining_usd} left of $${budget.limit_usd}`)),
    h("td", badge(budget.on_exhausted, `budget-${budget.on_exhausted}`),
      budget.downgrade_threshold ? ` at ${Math.round(Number(budget.downgrade_threshold) * 100)} %` : null),
    h("td.budget-alerts", (budget.alerts || []).length === 0 ? "none"
      : budget.alerts.map((alert) => h("div", `${Math.round(Number(alert.threshold) * 100)} % on ${formatDate(alert.created_at)}`,
        alert.delivered_at ? " ✓" : alert.attempts > 0 ? ` (webhook: ${alert.last_error || "pending"})` : ""))),
    h("td", h("button", { type: "button", on: { click: async (event) => {
      if (!confirm("Delete this budget? Calls are no longer limited by it.")) return;
      try {
        await api("DELETE", `/api/budgets/${budget.id}`);
        toast("Budget deleted");
        event.target.closest("tr").remove();
      } catch (error) {
        main.append(errorBox(error, "Not deleted"));
      }
    } } }, "Delete"))));
  return table(null, [
    { label: "Budget" }, { label: "Period" }, { label: "Spend" }, { label: "When exhausted" }, { label: "Alerts" }, { label: "" },
  ], rows, { attributes: { id: "budgets-table" }, stack: true, label: "Budgets", empty: "No budgets yet: spend is not limited." });
}

function createForm({ agents, keys, tenants }, main) {
  const scope = h("select", { name: "scope" }, SCOPES.map((value) => h("option", { value }, value.replace("_", " "))));
  const target = h("select", { name: "scope_id" });
  const fill = () => {
    const options = scope.value === "agent" ? agents.map((a) => [a.id, a.name])
      : scope.value === "api_key" ? keys.map((k) => [k.id, `${k.prefix}… ${k.name || k.role}`])
        : scope.value === "tenant" ? tenants.map((t) => [t.id, t.name]) : [];
    target.replaceChildren(...options.map(([value, label]) => h("option", { value }, label)));
    target.disabled = scope.value === "global";
  };
  scope.addEventListener("change", fill);
  fill();
  const name = h("input", { name: "name", maxlength: "200", placeholder: "e.g. support bot monthly" });
  const period = h("select", { name: "period" }, PERIODS.map((value) => h("option", { value }, value)));
  const zone = h("input", { name: "time_zone", value: "UTC", maxlength: "64" });
  const limit = h("input", { name: "limit_usd", inputmode: "decimal", required: true, placeholder: "12.50" });
  const behaviour = h("select", { name: "on_exhausted" }, BEHAVIOURS.map((value) => h("option", { value }, value)));
  const threshold = h("input", { name: "downgrade_threshold", inputmode: "decimal", placeholder: "e.g. 0.9 (downgrade only)" });
  const alerts = h("input", { name: "alert_thresholds", value: "0.5, 0.8, 1.0" });
  const result = h("div", { "aria-live": "polite" });
  return h("form#budget-form.panel", { on: { submit: async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const body = { scope: scope.value, name: name.value.trim(), period: period.value, time_zone: zone.value.trim(),
      limit_usd: limit.value.trim(), on_exhausted: behaviour.value,
      alert_thresholds: alerts.value.split(",").map((v) => v.trim()).filter(Boolean).map(Number) };
    if (scope.value !== "global") body.scope_id = target.value;
    if (threshold.value.trim()) body.downgrade_threshold = Number(threshold.value.trim());
    try {
      await api("POST", "/api/budgets", body);
      toast("Budget created");
      main.replaceChildren();
      await renderBudgets(main);
    } catch (error) {
      result.append(errorBox(error, "Not created"));
    }
  } } },
  h("h2", "New budget"),
  field("budget-scope", "Limits", scope), field("budget-target", "Which", target), field("budget-name", "Name", name),
  field("budget-period", "Period", period), field("budget-zone", "Time zone", zone, { hint: "Days, weeks (from Monday) and months are counted in it." }),
  field("budget-limit", "Limit (USD)", limit), field("budget-behaviour", "When exhausted", behaviour,
    { hint: "fail: the job fails budget_exceeded; defer: it waits for the next period; downgrade: the cheapest model of the chain that fits." }),
  field("budget-threshold", "Downgrade from (share of the limit)", threshold), field("budget-alerts", "Alerts at (shares of the limit)", alerts),
  h("button.primary", { type: "submit" }, "Create budget"), result);
}


