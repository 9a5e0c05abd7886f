// Changes: the configuration audit trail (GET /api/changes, GET /api/agents/{id}/changes):
// who (token kind, request id) changed what, when, before → after.
import { api, query } from "./api.js";
import { badge, field, formatDate, h, table } from "./dom.js";

const ENTITIES = ["agent", "model", "provider", "tenant", "api_key"];

export async function renderChanges(main, params) {
  const entity = params.get("entity") || "";
  const entityID = params.get("entity_id") || "";
  main.append(h("h1", "Changes"), h("p.hint", "Every write to agents' model configuration, models and providers, recorded by the database (migrations/0016)."));
  const agents = await api("GET", "/api/agents?limit=1000");
  const entitySelect = h("select", { name: "entity" }, h("option", { value: "" }, "everything"),
    ENTITIES.map((value) => h("option", { value, selected: value === entity }, value)));
  const idInput = h("input", { name: "entity_id", value: entityID, list: "change-agents", placeholder: "agent id, model id or provider" });
  const datalist = h("datalist", { id: "change-agents" }, agents.agents.map((agent) => h("option", { value: agent.id }, agent.name)));
  main.append(h("form.filters", { on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/changes${query({ entity: entitySelect.value, entity_id: entitySelect.value ? idInput.value.trim() : "" })}`;
  } } }, field("changes-entity", "Kind", entitySelect), field("changes-id", "Id (with a kind)", idInput), datalist,
  h("button", { type: "submit" }, "Show")));
  const names = new Map(agents.agents.map((agent) => [agent.id, agent.name]));
  await renderChangeList(main, { entity, entity_id: entity ? entityID : "", cursor: params.get("cursor") || "" }, { names });
}

/** The trail as a table; each row opens to the changed fields before → after. */
export async function renderChangeList(container, filter, options = {}) {
  const path = options.agentPath
    ? `${options.agentPath}${query({ limit: 50, cursor: filter.cursor })}`
    : `/api/changes${query({ entity: filter.entity, entity_id: filter.entity_id, limit: 50, cursor: filter.cursor })}`;
  const page = await api("GET", path);
  const names = options.names || new Map();
  const rows = page.changes.map((change) => h("tr", { dataset: { changeId: change.id } },
    h("td", formatDate(change.changed_at)),
    h("td", change.entity, h("br"), change.entity === "agent"
      ? h("a", { href: `#/agents/${change.entity_id}/changes` }, names.get(change.entity_id) || change.entity_id)
      : h("code", change.entity_id)),
    h("td", badge(change.action, `action-${change.action}`)),
    h("td", h("span", change.token_kind), change.key_id ? [h("br"), "key ", h("code.small", change.key_id.slice(0, 8))] : null,
      change.request_id ? [h("br"), h("code.small", change.request_id)] : null),
    h("td", diffView(change))));
  container.append(table(null, [
    { label: "When" }, { label: "What" }, { label: "Action" }, { label: "Who (token, request id)" }, { label: "Before → after" },
  ], rows, { attributes: { id: "changes-table" }, stack: true, label: "Configuration changes", empty: "No recorded changes." }));
  if (page.next_cursor && !options.agentPath) {
    container.append(h("div.pager", h("a.button", {
      href: `#/changes${query({ entity: filter.entity, entity_id: filter.entity_id, cursor: page.next_cursor })}`,
    }, "Older changes")));
  }
}

/** The changed fields, nested one level for objects such as model_config. */
function diffView(change) {
  const before = change.before || {};
  const after = change.after || {};
  const lines = [];
  const fields = change.changed_fields.length ? change.changed_fields : Object.keys(change.action === "delete" ? before : after);
  for (const name of fields) {
    const left = before[name];
    const right = after[name];
    if (isObject(left) || isObject(right)) {
      const keys = [...new Set([...Object.keys(left || {}), ...Object.keys(right || {})])];
      for (const key of keys) {
        const a = (left || {})[key];
        const b = (right || {})[key];
        if (JSON.stringify(a) !== JSON.stringify(b)) lines.push([`${name}.${key}`, a, b]);
      }
    } else {
      lines.push([name, left, right]);
    }
  }
  if (!lines.length) return h("span.muted", "—");
  // What people look for first: the model, then the sampling settings; timestamps and ids last.
  const rank = (name) => (/model_id$/.test(name) ? 0 : /provider|fallback|temperature|max_tokens|status/.test(name) ? 1
    : /(_at|^id)$/.test(name) ? 3 : 2);
  lines.sort((left, right) => rank(left[0]) - rank(right[0]));
  const item = ([name, a, b]) => h("li", h("code", name), ": ", h("span.before", show(a)), " → ", h("span.after", show(b)));
  const shown = h("ul.diff", lines.slice(0, 3).map(item));
  if (lines.length <= 3) return shown;
  return h("div", shown, h("details", h("summary", `${lines.length - 3} more field(s)`), h("ul.diff", lines.slice(3, 40).map(item))));
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function show(value) {
  if (value === undefined) return "(absent)";
  const text = JSON.stringify(value);
  return text.length > 120 ? `${text.slice(0, 117)}…` : text;
}
