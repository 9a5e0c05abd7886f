// Models: the catalog as a table (filters run in the API, sorting here), 2–4 models side by side
// (GET /api/models/compare), and a LiteLLM catalog upload (POST /api/models/import).
import { allPages, api, catalog, forgetCaches, providers, query } from "./api.js";
import {
  badge, clear, errorBox, field, formatInteger, formatPrice, h, perMillion, providerBadge, statusBadge, table,
} from "./dom.js";

const SORTS = {
  name: { label: "Model", key: (model) => `${model.provider} ${model.display_name}`.toLowerCase() },
  context: { label: "Context", key: (model) => model.context_window ?? -1 },
  input: { label: "Input $/1M", key: (model) => (model.input_cost_per_1k === null ? Infinity : Number(model.input_cost_per_1k)) },
  output: { label: "Output $/1M", key: (model) => (model.output_cost_per_1k === null ? Infinity : Number(model.output_cost_per_1k)) },
};

export async function renderModels(main, params) {
  const filters = {
    provider: params.get("provider") || "",
    status: params.get("status") || "",
    capability: params.get("capability") || "",
    min_context: params.get("min_context") || "",
    q: params.get("q") || "",
  };
  const sort = SORTS[params.get("sort")] ? params.get("sort") : "name";
  const direction = params.get("dir") === "desc" ? "desc" : "asc";
  const selected = new Set((params.get("compare") || "").split(",").filter(Boolean));

  main.append(h("h1", "Models"));
  const [providerList, everything] = await Promise.all([providers(), catalog()]);
  const capabilities = [...new Set(everything.flatMap((model) => model.capabilities))].sort();

  // -- filters (sent to the API) --
  const providerSelect = h("select", { name: "provider" }, h("option", { value: "" }, "all providers"),
    providerList.map((provider) => h("option", { value: provider.name, selected: provider.name === filters.provider }, provider.name)));
  const statusSelect = h("select", { name: "status" },
    [["", "all but retired"], ["active", "active"], ["beta", "beta"], ["deprecated", "deprecated"], ["retired", "retired"], ["all", "all"]]
      .map(([value, label]) => h("option", { value, selected: value === filters.status }, label)));
  const capabilitySelect = h("select", { name: "capability" }, h("option", { value: "" }, "any capability"),
    capabilities.map((capability) => h("option", { value: capability, selected: capability === filters.capability }, capability)));
  const minContext = h("input", { type: "number", name: "min_context", min: 0, step: 1000, value: filters.min_context, placeholder: "e.g. 128000" });
  const search = h("input", { type: "search", name: "q", value: filters.q, placeholder: "name or id" });
  const form = h("form.filters", { on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/models${query({
      provider: providerSelect.value, status: statusSelect.value, capability: capabilitySelect.value,
      min_context: minContext.value, q: search.value, sort, dir: direction,
    })}`;
  } } },
  field("filter-provider", "Provider", providerSelect),
  field("filter-status", "Status", statusSelect),
  field("filter-capability", "Capability", capabilitySelect),
  field("filter-min-context", "Minimum context (tokens)", minContext),
  field("filter-q", "Search", search),
  h("button", { type: "submit" }, "Apply filters"));
  main.append(form);

  const models = await allPages("/api/models", { ...filters, limit: 500 }, "models");
  const sign = direction === "desc" ? -1 : 1;
  models.sort((a, b) => {
    const left = SORTS[sort].key(a);
    const right = SORTS[sort].key(b);
    return (left < right ? -1 : left > right ? 1 : 0) * sign;
  });

  // -- comparison selection --
  const compareButton = h("button.primary", { type: "button", id: "compare-button", on: { click: () => {
    location.hash = `#/models/compare${query({ ids: [...selected].join(",") })}`;
  } } });
  const compareHint = h("span.hint", { id: "compare-hint" });
  const updateCompare = () => {
    compareButton.textContent = `Compare selected (${selected.size})`;
    compareButton.disabled = selected.size < 2 || selected.size > 4;
    compareHint.textContent = selected.size > 4 ? "Pick at most 4 models." : selected.size < 2 ? "Pick 2 to 4 models to compare." : "";
  };
  updateCompare();
  const sortLinks = h("nav.sort-links", { "aria-label": "Sort models" }, "Sort by: ", Object.entries(SORTS).map(([key, spec]) => {
    const active = key === sort;
    const next = active && direction === "asc" ? "desc" : "asc";
    return h("a", { href: `#/models${query({ ...filters, sort: key, dir: next })}`, "aria-current": active ? "true" : null },
      spec.label, active ? (direction === "asc" ? " ▲" : " ▼") : "");
  }));
  main.append(h("div.toolbar", compareButton, compareHint, sortLinks));

  const header = (key) => {
    const active = key === sort;
    const next = active && direction === "asc" ? "desc" : "asc";
    return {
      label: SORTS[key].label,
      className: key === "name" ? null : "number",
      ariaSort: active ? (direction === "asc" ? "ascending" : "descending") : null,
      header: h("a.sort", { href: `#/models${query({ ...filters, sort: key, dir: next })}`,
        "aria-label": `Sort by ${SORTS[key].label}, ${next === "asc" ? "ascending" : "descending"}` },
      SORTS[key].label, active ? (direction === "asc" ? " ▲" : " ▼") : ""),
    };
  };
  const rows = models.map((model) => {
    const checkbox = h("input", { type: "checkbox", name: "compare", value: model.model_id, checked: selected.has(model.model_id),
      "aria-label": `Compare ${model.display_name}`, on: { change: () => {
        if (checkbox.checked) selected.add(model.model_id);
        else selected.delete(model.model_id);
        updateCompare();
      } } });
    return h("tr", { dataset: { modelId: model.model_id } },
      h("td", checkbox),
      h("td.model-cell", h("span.model-name", model.display_name), model.display_name !== model.model_id ? [h("br"), h("code.small", model.model_id)] : null),
      h("td", providerBadge(model.provider)),
      h("td", statusBadge(model.effective_status)),
      h("td.number", model.context_window ? formatInteger(model.context_window) : "unknown"),
      h("td.number", model.max_output_tokens ? formatInteger(model.max_output_tokens) : "unknown"),
      h("td.number", formatPrice(perMillion(model.input_cost_per_1k))),
      h("td.number", formatPrice(perMillion(model.output_cost_per_1k))),
      h("td", model.supports_functions ? badge("functions", "feature") : null, " ", model.supports_vision ? badge("vision", "feature") : null),
      h("td.capabilities", model.capabilities.join(", ")));
  });
  main.append(table(`${models.length} model(s)`, [
    { label: "Compare" }, header("name"), { label: "Provider" }, { label: "Status" }, header("context"),
    { label: "Max output", className: "number" }, header("input"), header("output"), { label: "Features" }, { label: "Capabilities" },
  ], rows, { attributes: { id: "models-table" }, stack: true, empty: "No model matches these filters." }));

  main.append(importSection());
}

function importSection() {
  const file = h("input", { type: "file", name: "catalog", accept: ".json,application/json" });
  const report = h("div.import-report", { "aria-live": "polite" });
  const form = h("form.import", { on: { submit: async (event) => {
    event.preventDefault();
    clear(report);
    const chosen = file.files && file.files[0];
    if (!chosen) {
      report.append(h("p.message.error", "Choose a LiteLLM model_prices_and_context_window.json file first."));
      return;
    }
    report.append(h("p", `Importing ${chosen.name} (${formatInteger(chosen.size)} bytes)…`));
    try {
      const result = await api("POST", "/api/models/import?format=litellm", await chosen.text());
      forgetCaches();
      clear(report).append(renderImportReport(result));
    } catch (error) {
      clear(report).append(errorBox(error, "Import failed"));
    }
  } } },
  h("h2", "Import a LiteLLM catalog"),
  h("p.hint", "LiteLLM's model_prices_and_context_window.json (up to 16 MiB): new chat models of openai, anthropic and huggingface are added; prices, limits and dates of existing ones updated; local edits kept."),
  field("import-file", "Catalog file", file),
  h("button.primary", { type: "submit" }, "Import"));
  return h("section.card.import-section", form, report);
}

function renderImportReport(result) {
  const section = h("section.report", { id: "import-result" }, h("h3", "Import report"),
    h("dl.summary",
      h("div", h("dt", "Inserted"), h("dd", { dataset: { count: "inserted" } }, formatInteger(result.inserted))),
      h("div", h("dt", "Updated"), h("dd", { dataset: { count: "updated" } }, formatInteger(result.updated))),
      h("div", h("dt", "Unchanged"), h("dd", { dataset: { count: "unchanged" } }, formatInteger(result.unchanged))),
      h("div", h("dt", "Skipped"), h("dd", { dataset: { count: "skipped" } }, formatInteger(result.skipped)))));
  if (result.inserted_model_ids.length) {
    section.append(h("h4", "New models"), h("ul.inserted", result.inserted_model_ids.slice(0, 100).map((id) => h("li", h("code", id)))));
    if (result.inserted_model_ids.length > 100) section.append(h("p.hint", `… and ${result.inserted_model_ids.length - 100} more.`));
  }
  if (result.updated_models.length) {
    section.append(h("h4", "Updated models"), h("ul", result.updated_models.slice(0, 100).map((entry) =>
      h("li", h("code", entry.model_id), `: ${entry.fields.join(", ")}`))));
  }
  if (result.skipped_reasons.length) {
    section.append(table("Skipped entries", [{ label: "Reason" }, { label: "Category" }, { label: "Count", className: "number" }, { label: "Examples" }],
      result.skipped_reasons.map((reason) => h("tr", h("td", reason.reason), h("td", reason.category),
        h("td.number", formatInteger(reason.count)), h("td", reason.examples.slice(0, 3).join(", "))))));
  }
  return section;
}

export async function renderCompare(main, params) {
  const ids = (params.get("ids") || "").split(",").filter(Boolean);
  main.append(h("p.breadcrumb", h("a", { href: "#/models" }, "Models"), " / Compare"), h("h1", "Compare models"));
  if (ids.length < 2 || ids.length > 4) {
    main.append(h("p", "Pick 2 to 4 models on the ", h("a", { href: "#/models" }, "Models"), " page."));
    return;
  }
  const result = await api("GET", `/api/models/compare${query({ ids: ids.join(",") })}`);
  const models = result.models;
  const price = (value) => (value === null ? "unknown" : formatPrice(value));
  const rows = [
    ["Provider", (m) => providerBadge(m.provider)],
    ["Status", (m) => statusBadge(m.status)],
    ["Context window", (m) => (m.context_window ? formatInteger(m.context_window) : "unknown"), "context"],
    ["Max output", (m) => (m.max_output_tokens ? formatInteger(m.max_output_tokens) : "unknown")],
    ["Input per 1K", (m) => price(m.input_cost_per_1k), "input-1k"],
    ["Output per 1K", (m) => price(m.output_cost_per_1k), "output-1k"],
    ["Input per 1M", (m) => price(m.input_cost_per_1m), "input-1m"],
    ["Output per 1M", (m) => price(m.output_cost_per_1m), "output-1m"],
    ["Blended per 1K (3:1)", (m) => price(m.blended_cost_per_1k), "blended"],
    ["Function calling", (m) => (m.supports_functions ? "yes" : "no")],
    ["Vision", (m) => (m.supports_vision ? "yes" : "no")],
    ["Streaming", (m) => (m.supports_streaming ? "yes" : "no")],
    ["Capabilities", (m) => m.capabilities.join(", ") || "—"],
    ["Recommended for", (m) => m.recommended_for.join(", ") || "—"],
    ["Deprecation", (m) => (m.deprecation_date ? `${m.deprecation_date}${m.successor_model_id ? ` → ${m.successor_model_id}` : ""}` : "—")],
  ];
  const head = h("thead", h("tr", h("td"), models.map((m) => h("th", { scope: "col", dataset: { modelId: m.model_id } },
    m.display_name, h("br"), h("code.small", m.model_id),
    m.model_id === result.cheapest_model_id ? [h("br"), badge("cheapest", "best")] : null,
    m.model_id === result.largest_context_model_id ? [h("br"), badge("largest context", "best")] : null))));
  const body = h("tbody", rows.map(([label, value, key]) => h("tr", key ? { dataset: { row: key } } : null,
    h("th", { scope: "row" }, label), models.map((m) => h("td", { dataset: { modelId: m.model_id } }, value(m))))));
  main.append(h("div.table-wrap", { tabindex: "0", role: "region", "aria-label": "Comparison" },
    h("table.compare", { id: "compare-table" }, h("caption", `${models.length} models side by side`), head, body)));
}
