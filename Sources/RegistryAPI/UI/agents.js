// Agents: the list (model, provider, requests, cost) and one agent's settings (Model, Usage and
// Changes tabs). The Model tab edits `model_config` and saves it with
// PUT /api/agents/{id}/model-config; the API's errors and warnings are shown next to their fields.
import { api, catalog, providers, query } from "./api.js";
import {
  badge, clear, errorBox, field, formatCost, formatInteger, formatPrice, formatRate, h,
  perMillion, providerBadge, statusBadge, table, toast,
} from "./dom.js";
import { renderChangeList } from "./changes.js";

const PAGE_SIZE = 100;
/** The "typical call" the estimate prices: this many prompt tokens, and this many (or max_tokens) out. */
const TYPICAL_INPUT_TOKENS = 1000;
const TYPICAL_OUTPUT_TOKENS = 500;
const MAX_FALLBACKS = 5;

// -- the list ---------------------------------------------------------------------------------

export async function renderAgents(main, params) {
  const offset = Math.max(0, Number(params.get("offset")) || 0);
  const status = params.get("status") || "";
  main.append(h("h1", "Agents"));
  const filter = h("form.filters", { on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/agents${query({ status: select.value })}`;
  } } });
  const select = h("select", { name: "status" },
    ["", "active", "inactive", "archived"].map((value) => h("option", { value, selected: value === status }, value || "any status")));
  filter.append(field("agents-status", "Status", select), h("button", { type: "submit" }, "Show"));
  main.append(filter);

  const [page, models] = await Promise.all([
    api("GET", `/api/agents${query({ limit: PAGE_SIZE, offset, status })}`),
    catalog().catch(() => []),
  ]);
  const byID = new Map(models.map((model) => [model.model_id, model]));
  const ids = page.agents.map((agent) => agent.id);
  // Usage of exactly the agents on this page (agent_id repeated, at most 200; a page has 100).
  const usage = ids.length
    ? await api("GET", `/api/usage?limit=${ids.length}&${ids.map((id) => `agent_id=${encodeURIComponent(id)}`).join("&")}`)
    : { agents: [] };
  const usageByAgent = new Map(usage.agents.map((entry) => [entry.agent_id, entry]));

  const rows = page.agents.map((agent) => {
    const config = agent.model_config;
    const model = byID.get(config.model_id);
    const used = usageByAgent.get(agent.id);
    return h("tr", { dataset: { agentId: agent.id } },
      h("td", h("a", { href: `#/agents/${agent.id}` }, agent.name)),
      h("td", agent.agent_type),
      h("td", statusBadge(agent.status)),
      h("td", model && model.display_name !== config.model_id
        ? [h("span.model-name", model.display_name), h("br"), h("code.small", config.model_id)]
        : h("code", config.model_id)),
      h("td", providerBadge(config.provider || (model && model.provider))),
      h("td.number", { dataset: { requests: used ? used.requests : 0 } }, formatInteger(used ? used.requests : 0)),
      h("td.number", { dataset: { cost: used && used.cost !== null ? used.cost : "" } }, used ? formatCost(used.cost) : formatCost(0)),
      h("td", h("a.button", { href: `#/agents/${agent.id}`, "aria-label": `Configure ${agent.name}` }, "Configure")));
  });
  main.append(table(`${page.total} agent(s)`, [
    { label: "Name" }, { label: "Type" }, { label: "Status" }, { label: "Model" }, { label: "Provider" },
    { label: "Requests", className: "number" }, { label: "Cost so far", className: "number" }, { label: "" },
  ], rows, { attributes: { id: "agents-table" }, stack: true, empty: "No agents yet: create them with POST /api/agents." }));
  const pager = h("div.pager");
  if (offset > 0) pager.append(h("a.button", { href: `#/agents${query({ status, offset: Math.max(0, offset - PAGE_SIZE) })}` }, "Previous page"));
  if (offset + page.count < page.total) pager.append(h("a.button", { href: `#/agents${query({ status, offset: offset + PAGE_SIZE })}` }, "Next page"));
  main.append(pager);
}

// -- one agent --------------------------------------------------------------------------------

export async function renderAgent(main, params, id, tab) {
  const agent = await api("GET", `/api/agents/${encodeURIComponent(id)}`);
  main.append(
    h("p.breadcrumb", h("a", { href: "#/agents" }, "Agents"), " / ", agent.name),
    h("h1", agent.name, " ", statusBadge(agent.status)),
    h("p.muted", `Type ${agent.agent_type}`, agent.skills.length ? ` · skills: ${agent.skills.join(", ")}` : ""),
  );
  const tabs = [["model", "Model"], ["usage", "Usage"], ["changes", "Changes"]];
  main.append(h("nav.tabs", { "aria-label": "Agent settings" }, h("ul", tabs.map(([key, label]) => h("li",
    h("a", { href: `#/agents/${agent.id}/${key}`, "aria-current": key === tab ? "page" : null }, label))))));
  const panel = h("section.tab-panel", { "aria-label": tabs.find(([key]) => key === tab)[1] });
  main.append(panel);
  if (tab === "usage") return renderAgentUsage(panel, agent);
  if (tab === "changes") {
    return renderChangeList(panel, { entity: "agent", entity_id: agent.id },
      { agentPath: `/api/agents/${agent.id}/changes`, names: new Map([[agent.id, agent.name]]) });
  }
  return renderModelTab(panel, agent);
}

async function renderAgentUsage(panel, agent) {
  const usage = await api("GET", `/api/agents/${agent.id}/model-usage`);
  const stats = usage.usage_stats;
  panel.append(h("dl.summary",
    summaryItem("Requests", formatInteger(stats.total_requests)),
    summaryItem("Tokens", formatInteger(stats.total_tokens)),
    summaryItem("Cost", formatCost(stats.total_cost)),
    summaryItem("Errors", formatInteger(stats.errors)),
    summaryItem("Fallback requests", formatInteger(stats.fallback_requests)),
    summaryItem("Last used", stats.last_used_at ? stats.last_used_at.replace("T", " ").slice(0, 19) : "never")));
  panel.append(table("Per model", [
    { label: "Model" }, { label: "Provider" }, { label: "Role" }, { label: "Requests", className: "number" },
    { label: "Error rate", className: "number" }, { label: "Tokens", className: "number" }, { label: "Cost", className: "number" },
  ], usage.models.map((entry) => h("tr",
    h("td", h("code", entry.model_id)), h("td", providerBadge(entry.provider)), h("td", entry.role),
    h("td.number", formatInteger(entry.requests)), h("td.number", formatRate(entry.error_rate)),
    h("td.number", formatInteger(entry.input_tokens + entry.output_tokens)), h("td.number", formatCost(entry.cost)))),
  { stack: true, empty: "No usage recorded for this agent yet." }));
}

function summaryItem(label, value) {
  return h("div", h("dt", label), h("dd", value));
}

// -- the Model tab ------------------------------------------------------------------------------

async function renderModelTab(panel, agent) {
  const [config, models, providerList, recommended] = await Promise.all([
    api("GET", `/api/agents/${agent.id}/model-config`),
    catalog(),
    providers(),
    api("GET", `/api/agents/${agent.id}/recommendations?limit=5`)
      .then((data) => data.recommendations.map((entry) => entry.model.model_id))
      .catch(() => []),
  ]);
  const editor = new ModelEditor(agent, config, models, providerList, new Set(recommended));
  panel.append(editor.element);
  editor.showMessages(config.warnings, "warning");
  editor.refresh();
}

class ModelEditor {
  constructor(agent, stored, models, providerList, recommended) {
    this.agent = agent;
    this.models = new Map(models.map((model) => [model.model_id, model]));
    this.providers = new Map(providerList.map((provider) => [provider.name, provider]));
    this.recommended = recommended;
    const config = stored.model_config;
    // Keys this form does not edit (stream deadlines, and any added later) go back unchanged.
    this.storedConfig = config;
    this.fallbacks = [...config.fallback_model_ids];
    this.estimateToken = 0;

    // Primary model: grouped by provider; retired models only if the agent still names one.
    this.modelSelect = h("select", { name: "model_id", on: { change: () => this.modelChanged() } });
    this.fillModelOptions(this.modelSelect, (model) => model.effective_status !== "retired" || model.model_id === config.model_id);
    if (!this.models.has(config.model_id)) {
      this.modelSelect.prepend(h("option", { value: config.model_id }, `${config.model_id} (not in the catalog)`));
    }
    this.modelSelect.value = config.model_id;

    this.detailsCard = h("section.card.model-details", { "aria-live": "polite", "aria-label": "Selected model" });

    this.temperatureRange = h("input", { type: "range", name: "temperature-range", "aria-label": "Temperature (slider)",
      on: { input: () => { this.temperatureNumber.value = this.temperatureRange.value; this.temperatureNote(""); this.scheduleEstimate(); } } });
    this.temperatureNumber = h("input", { type: "number", name: "temperature", inputmode: "decimal",
      on: { change: () => this.clampTemperature(), input: () => this.syncRangeFromNumber() } });
    this.temperatureLimits = h("p.hint.limits", { id: "temperature-limits" });
    this.maxTokens = h("input", { type: "number", name: "max_tokens", min: 1, step: 1, placeholder: "model default",
      on: { change: () => this.clampMaxTokens() } });
    this.maxTokensLimits = h("p.hint.limits", { id: "max-tokens-limits" });
    this.topP = h("input", { type: "number", name: "top_p", min: 0.01, max: 1, step: 0.01, placeholder: "model default",
      on: { change: () => clampInput(this.topP, 0.01, 1) } });
    this.frequencyPenalty = h("input", { type: "number", name: "frequency_penalty", min: -2, max: 2, step: 0.1, placeholder: "0",
      on: { change: () => clampInput(this.frequencyPenalty, -2, 2) } });
    this.presencePenalty = h("input", { type: "number", name: "presence_penalty", min: -2, max: 2, step: 0.1, placeholder: "0",
      on: { change: () => clampInput(this.presencePenalty, -2, 2) } });
    this.penaltyReason = h("p.hint.penalty-reason", { id: "penalty-reason", hidden: true });

    const primary = this.models.get(config.model_id);
    const temperature = config.temperature ?? (primary ? primary.default_temperature : 1);
    this.temperatureNumber.value = String(temperature);
    this.maxTokens.value = config.max_tokens ?? "";
    this.topP.value = config.top_p ?? "";
    this.frequencyPenalty.value = config.frequency_penalty ?? "";
    this.presencePenalty.value = config.presence_penalty ?? "";

    this.fallbackList = h("ol.fallbacks", { "aria-label": "Fallback models, tried in this order" });
    this.fallbackSelect = h("select", { name: "fallback-candidate" });
    this.addFallbackButton = h("button", { type: "button", on: { click: () => this.addFallback() } }, "Add fallback");
    this.estimate = h("div.estimate", { "aria-live": "polite" });
    this.formStatus = h("div.form-status", { role: "status", "aria-live": "polite" });
    this.generalMessages = h("div.field-messages", { dataset: { fieldMessages: "body" } });

    const form = h("form.model-form", { novalidate: true, on: { submit: (event) => { event.preventDefault(); this.save(); } } },
      h("div.columns",
        h("div.column",
          field("model-select", "Model", this.modelSelect, { field: "model_id",
            hint: "Grouped by provider. ★ = recommended for this agent's type and skills." }),
          this.detailsCard,
          h("section.card", { "aria-labelledby": "estimate-title" },
            h("h3#estimate-title", "Estimated cost of a typical call"), this.estimate)),
        h("div.column",
          h("fieldset", h("legend", "Parameters"),
            field("temperature", "Temperature", this.temperatureNumber, { field: "temperature", extra: this.temperatureRange }),
            this.temperatureLimits,
            h("div.params-grid",
              h("div", field("max-tokens", "Max output tokens", this.maxTokens, { field: "max_tokens" }), this.maxTokensLimits),
              field("top-p", "top_p", this.topP, { field: "top_p", hint: "Nucleus sampling, (0, 1]; empty = model default." }),
              field("frequency-penalty", "Frequency penalty", this.frequencyPenalty, { field: "frequency_penalty" }),
              field("presence-penalty", "Presence penalty", this.presencePenalty, { field: "presence_penalty" })),
            this.penaltyReason),
          h("fieldset", h("legend", "Fallbacks"),
            h("p.hint", `Tried in order when the model above fails (at most ${MAX_FALLBACKS}).`),
            h("div.field-messages", { dataset: { fieldMessages: "fallback_model_ids" } }),
            this.fallbackList,
            h("div.add-fallback", h("label", { for: "fallback-candidate" }, "Add a fallback model"), this.fallbackSelect, this.addFallbackButton)))),
      this.generalMessages,
      h("div.actions", h("button.primary", { type: "submit" }, "Save"), this.formStatus));
    this.fallbackSelect.id = "fallback-candidate";
    this.element = form;
  }

  fillModelOptions(select, include) {
    const groups = new Map();
    for (const model of this.models.values()) {
      if (!include(model)) continue;
      if (!groups.has(model.provider)) groups.set(model.provider, []);
      groups.get(model.provider).push(model);
    }
    for (const [provider, list] of [...groups.entries()].sort(([a], [b]) => a.localeCompare(b))) {
      list.sort((a, b) => Number(this.recommended.has(b.model_id)) - Number(this.recommended.has(a.model_id))
        || a.display_name.localeCompare(b.display_name));
      select.append(h("optgroup", { label: provider }, list.map((model) => h("option", { value: model.model_id }, this.optionLabel(model)))));
    }
  }

  optionLabel(model) {
    const marks = [];
    if (this.recommended.has(model.model_id)) marks.push("★");
    let label = `${marks.join("")}${marks.length ? " " : ""}${model.display_name}`;
    if (model.display_name !== model.model_id) label += ` (${model.model_id})`;
    const status = model.effective_status;
    if (status === "beta" || status === "deprecated" || status === "retired") label += ` [${status}]`;
    if (this.recommended.has(model.model_id)) label += " — recommended";
    return label;
  }

  get primary() {
    return this.models.get(this.modelSelect.value);
  }

  modelChanged() {
    this.fallbacks = this.fallbacks.filter((id) => id !== this.modelSelect.value);
    this.clearMessages();
    this.refresh();
  }

  /** Everything that depends on the selected model: limits, the card, penalties, fallbacks, estimate. */
  refresh() {
    const model = this.primary;
    const min = model ? Number(model.min_temperature) : 0;
    const max = model ? Number(model.max_temperature) : 2;
    for (const input of [this.temperatureRange, this.temperatureNumber]) {
      input.min = String(min);
      input.max = String(max);
      input.step = "0.01";
    }
    this.temperatureLimits.textContent = `Allowed for this model: ${min} – ${max}.`;
    this.clampTemperature(true);
    const maxOutput = model && model.max_output_tokens;
    if (maxOutput) this.maxTokens.max = String(maxOutput);
    else this.maxTokens.removeAttribute("max");
    this.maxTokensLimits.textContent = maxOutput
      ? `1 – ${formatInteger(maxOutput)} (this model's max output); empty = model default.`
      : "This model's max output is unknown; empty = model default.";
    this.clampMaxTokens(true);
    this.updatePenalties();
    this.renderDetails();
    this.renderFallbacks();
    this.scheduleEstimate();
  }

  clampTemperature(silent = false) {
    const min = Number(this.temperatureNumber.min);
    const max = Number(this.temperatureNumber.max);
    let value = Number(this.temperatureNumber.value);
    if (this.temperatureNumber.value === "" || Number.isNaN(value)) value = this.primary ? Number(this.primary.default_temperature) : min;
    const clamped = Math.min(max, Math.max(min, value));
    if (clamped !== value && !silent) this.temperatureNote(`${value} is outside ${min} – ${max} for this model; set to ${clamped}.`);
    this.temperatureNumber.value = String(clamped);
    this.temperatureRange.value = String(clamped);
    this.scheduleEstimate();
  }

  syncRangeFromNumber() {
    const value = Number(this.temperatureNumber.value);
    if (!Number.isNaN(value) && value >= Number(this.temperatureNumber.min) && value <= Number(this.temperatureNumber.max)) {
      this.temperatureRange.value = String(value);
    }
  }

  temperatureNote(text) {
    const slot = this.element && this.element.querySelector('[data-field-messages="temperature"]');
    if (!slot) return;
    for (const note of slot.querySelectorAll(".clamp-note")) note.remove();
    if (text) slot.append(h("p.message.clamp-note", text));
  }

  clampMaxTokens(silent = false) {
    if (this.maxTokens.value === "") return;
    const max = this.maxTokens.max ? Number(this.maxTokens.max) : Infinity;
    let value = Math.round(Number(this.maxTokens.value));
    if (Number.isNaN(value)) value = 1;
    const clamped = Math.min(max, Math.max(1, value));
    if (clamped !== Number(this.maxTokens.value) && !silent) toast(`max tokens limited to ${formatInteger(clamped)} for this model`);
    this.maxTokens.value = String(clamped);
    this.scheduleEstimate();
  }

  updatePenalties() {
    const model = this.primary;
    const provider = model ? this.providers.get(model.provider) : null;
    const ignored = provider && provider.api_style === "anthropic";
    for (const input of [this.frequencyPenalty, this.presencePenalty]) {
      input.disabled = Boolean(ignored);
      input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} penalty-reason`.trim().split(" ")
        .filter((value, index, all) => all.indexOf(value) === index).join(" "));
    }
    this.penaltyReason.hidden = !ignored;
    this.penaltyReason.textContent = ignored
      ? `Disabled: ${model.provider} uses the Anthropic Messages API, which has no frequency or presence penalty (the gateway would ignore them).`
      : "";
  }

  renderDetails() {
    const card = clear(this.detailsCard);
    const model = this.primary;
    if (!model) {
      card.append(h("p", "This model is not in the catalog: the gateway will skip it."));
      return;
    }
    const status = model.effective_status;
    card.append(h("h3", model.display_name, " ", providerBadge(model.provider),
      status !== "active" ? [" ", statusBadge(status)] : null,
      this.recommended.has(model.model_id) ? [" ", h("span.badge.badge-recommended", { title: "Recommended for this agent" }, "★ recommended")] : null));
    if (model.display_name !== model.model_id) card.append(h("p", h("code", model.model_id)));
    if (status === "deprecated" || model.deprecation_date) {
      const successor = model.successor_model_id;
      const when = model.deprecation_date ? ` (deprecation date ${model.deprecation_date})` : "";
      if (status === "deprecated" || status === "retired") {
        card.append(h("div.warning.deprecation-warning", { role: "note" },
          `This model is ${status}${when}.`, successor ? [" Successor: ", h("strong", successor), "."] : " No successor is named."));
      } else {
        card.append(h("p.muted", `Deprecated from ${model.deprecation_date}.`, successor ? ` Successor: ${successor}.` : ""));
      }
    }
    const price = (value) => value === null ? "unknown" : `${formatPrice(value)} / 1K · ${formatPrice(perMillion(value))} / 1M`;
    card.append(h("dl.details",
      detail("Context window", model.context_window ? `${formatInteger(model.context_window)} tokens` : "unknown"),
      detail("Max output", model.max_output_tokens ? `${formatInteger(model.max_output_tokens)} tokens` : "unknown"),
      detail("Input price", price(model.input_cost_per_1k)),
      detail("Output price", price(model.output_cost_per_1k)),
      detail("Temperature", `${model.min_temperature} – ${model.max_temperature} (default ${model.default_temperature})`),
      detail("Capabilities", model.capabilities.length ? model.capabilities.join(", ") : "none listed"),
      detail("Features", h("span",
        model.supports_functions ? badge("function calling", "feature") : badge("no function calling", "missing"), " ",
        model.supports_vision ? badge("vision", "feature") : badge("no vision", "missing"))),
      detail("Recommended for", model.recommended_for.length ? model.recommended_for.join(", ") : "—")));
  }

  renderFallbacks() {
    const list = clear(this.fallbackList);
    this.fallbacks.forEach((id, index) => {
      const model = this.models.get(id);
      const name = model ? model.display_name : id;
      list.append(h("li.fallback-item", { dataset: { modelId: id } },
        h("span.fallback-name", h("span.order", `${index + 1}.`), " ", name, " ", providerBadge(model ? model.provider : "unknown"),
          model && model.effective_status !== "active" ? [" ", statusBadge(model.effective_status)] : null),
        h("span.fallback-buttons",
          h("button", { type: "button", "aria-label": `Move ${name} up`, disabled: index === 0, on: { click: () => this.moveFallback(index, -1) } }, "↑"),
          h("button", { type: "button", "aria-label": `Move ${name} down`, disabled: index === this.fallbacks.length - 1, on: { click: () => this.moveFallback(index, 1) } }, "↓"),
          h("button", { type: "button", "aria-label": `Remove ${name}`, on: { click: () => this.removeFallback(index) } }, "Remove")),
        h("div.field-messages", { dataset: { fieldMessages: `fallback_model_ids[${index}]` } })));
    });
    if (!this.fallbacks.length) list.append(h("li.empty", "No fallbacks: when the model fails, the job fails."));
    const selected = this.fallbackSelect.value;
    clear(this.fallbackSelect);
    this.fallbackSelect.append(h("option", { value: "" }, "Choose a model…"));
    this.fillModelOptions(this.fallbackSelect, (model) => model.effective_status !== "retired"
      && model.model_id !== this.modelSelect.value && !this.fallbacks.includes(model.model_id));
    if ([...this.fallbackSelect.options].some((option) => option.value === selected)) this.fallbackSelect.value = selected;
    const full = this.fallbacks.length >= MAX_FALLBACKS;
    this.fallbackSelect.disabled = full;
    this.addFallbackButton.disabled = full;
  }

  addFallback() {
    const id = this.fallbackSelect.value;
    if (!id || this.fallbacks.includes(id) || this.fallbacks.length >= MAX_FALLBACKS) return;
    this.fallbacks.push(id);
    this.renderFallbacks();
    this.fallbackSelect.focus();
  }

  moveFallback(index, delta) {
    const target = index + delta;
    [this.fallbacks[index], this.fallbacks[target]] = [this.fallbacks[target], this.fallbacks[index]];
    this.renderFallbacks();
    const button = this.fallbackList.children[target].querySelectorAll("button")[delta < 0 ? 0 : 1];
    (button && !button.disabled ? button : this.fallbackList.children[target].querySelector("button:not([disabled])")).focus();
  }

  removeFallback(index) {
    this.fallbacks.splice(index, 1);
    this.renderFallbacks();
    const next = this.fallbackList.querySelector("button") || this.fallbackSelect;
    next.focus();
  }

  scheduleEstimate() {
    clearTimeout(this.estimateTimer);
    this.estimateTimer = setTimeout(() => this.updateEstimate(), 150);
  }

  async updateEstimate() {
    const model = this.primary;
    const target = this.estimate;
    const token = ++this.estimateToken;
    if (!model) {
      clear(target).append(h("p", "No estimate: the model is not in the catalog."));
      return;
    }
    const maxTokens = this.maxTokens.value === "" ? null : Number(this.maxTokens.value);
    const output = maxTokens ? Math.min(maxTokens, TYPICAL_OUTPUT_TOKENS) : TYPICAL_OUTPUT_TOKENS;
    try {
      const estimate = await api("POST", "/api/models/estimate-cost",
        { model_id: model.model_id, input_tokens: TYPICAL_INPUT_TOKENS, output_tokens: output });
      if (token !== this.estimateToken) return;
      clear(target).append(
        h("p.estimate-total", { dataset: { totalCost: estimate.total_cost } }, formatCost(estimate.total_cost), " per call"),
        h("p.hint", `${formatInteger(TYPICAL_INPUT_TOKENS)} input + ${formatInteger(output)} output tokens on ${model.model_id}: `,
          `${formatCost(estimate.input_cost)} in + ${formatCost(estimate.output_cost)} out. Fallbacks, when used, cost what their own prices say.`));
    } catch (error) {
      if (token !== this.estimateToken) return;
      clear(target).append(h("p", error.code === "price_unknown" ? "No estimate: this model's price is unknown."
        : error.status === 403 ? "No estimate: this key may not ask for one."
          : `No estimate: ${error.message}`));
    }
  }

  /** The body of PUT /api/agents/{id}/model-config. */
  body() {
    const number = (input) => (input.value === "" || input.disabled ? null : Number(input.value));
    return {
      ...this.storedConfig,
      provider: null,  // the model's own; a stored one may name the previous model's provider
      model_id: this.modelSelect.value,
      temperature: Number(this.temperatureNumber.value),
      max_tokens: this.maxTokens.value === "" ? null : Math.round(Number(this.maxTokens.value)),
      top_p: number(this.topP),
      frequency_penalty: number(this.frequencyPenalty),
      presence_penalty: number(this.presencePenalty),
      fallback_model_ids: [...this.fallbacks],
    };
  }

  async save() {
    this.clampTemperature(true);
    this.clampMaxTokens(true);
    this.clearMessages();
    this.formStatus.textContent = "Saving…";
    try {
      const saved = await api("PUT", `/api/agents/${this.agent.id}/model-config`, this.body());
      this.formStatus.textContent = saved.warnings.length
        ? `Saved, with ${saved.warnings.length} warning(s) shown next to their fields.`
        : "Saved.";
      this.formStatus.className = "form-status saved";
      this.storedConfig = saved.model_config;
      this.fallbacks = [...saved.model_config.fallback_model_ids];
      this.renderFallbacks();
      this.showMessages(saved.warnings, "warning");
    } catch (error) {
      this.formStatus.className = "form-status failed";
      if (error.status === 400 && error.details.length) {
        this.formStatus.textContent = `Not saved: ${error.message}. See the messages next to the fields.`;
        this.showMessages(error.details, "error");
      } else if (error.status === 403) {
        this.formStatus.textContent = "Not saved: changing agents needs an operator key; this one may only read or run jobs.";
      } else {
        this.formStatus.textContent = `Not saved: ${error.message}`;
      }
    }
  }

  clearMessages() {
    for (const slot of this.element.querySelectorAll("[data-field-messages]")) {
      for (const message of slot.querySelectorAll(".message:not(.clamp-note)")) message.remove();
    }
    for (const control of this.element.querySelectorAll("[aria-invalid]")) control.removeAttribute("aria-invalid");
  }

  /** Each issue next to its field: "temperature", "fallback_model_ids[1]", … (else under the form). */
  showMessages(issues, kind) {
    for (const issue of issues || []) {
      const name = String(issue.field || "body").replace(/^model_config\./, "");
      const slot = this.element.querySelector(`[data-field-messages="${CSS.escape(name)}"]`)
        || this.element.querySelector(`[data-field-messages="${CSS.escape(name.replace(/\[\d+\]$/, ""))}"]`)
        || this.generalMessages;
      slot.append(h(`p.message.${kind}`, { role: kind === "error" ? "alert" : null }, `${kind === "error" ? "Error" : "Warning"}: ${issue.message}`));
      const control = slot.closest(".field") && slot.closest(".field").querySelector("input, select");
      if (control && kind === "error") control.setAttribute("aria-invalid", "true");
    }
  }
}

function detail(label, value) {
  return h("div", h("dt", label), h("dd", value));
}

function clampInput(input, min, max) {
  if (input.value === "") return;
  const value = Number(input.value);
  if (Number.isNaN(value)) {
    input.value = "";
    return;
  }
  const clamped = Math.min(max, Math.max(min, value));
  if (clamped !== value) toast(`${input.name} limited to ${min} – ${max}`);
  input.value = String(clamped);
}
