// Keys: the caller's tenant's API keys (every tenant's for an admin), a form to create one (the
// key is shown once, here, and never again) and revocation; tenants for admins.
import { api, ApiError } from "./api.js";
import { badge, errorBox, field, formatDate, h, table, toast } from "./dom.js";

const ROLES = ["inference", "viewer", "operator", "admin"];

export async function renderKeys(main) {
  main.append(h("h1", "API keys"),
    h("p.hint", "One key per application or person. A key is shown once, when it is created; the registry keeps only its hash. Revoking takes effect on every registry within a second."));
  let keys;
  try {
    keys = await api("GET", "/api/keys?include_revoked=true");
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) {
      main.append(h("p", "Managing keys needs an operator or admin key; this one may not."));
      return;
    }
    throw error;
  }
  const tenants = (await api("GET", "/api/tenants")).tenants;
  const names = new Map(tenants.map((tenant) => [tenant.id, tenant.name]));
  main.append(createForm(tenants, main), keyTable(keys.keys, names, main));
  main.append(tenantSection(tenants, main));
}

function createForm(tenants, main) {
  const role = h("select", { name: "role" }, ROLES.map((value) => h("option", { value }, value)));
  const name = h("input", { name: "name", maxlength: "200", placeholder: "e.g. billing-service" });
  const tenant = h("select", { name: "tenant" }, tenants.map((t) => h("option", { value: t.id }, t.name)));
  const days = h("input", { name: "expires", type: "number", min: "1", max: "3650", placeholder: "never" });
  const bodies = h("input", { name: "read_bodies", type: "checkbox" });
  const result = h("div#key-result", { "aria-live": "polite" });
  const form = h("form#key-form.panel", { on: { submit: async (event) => {
    event.preventDefault();
    result.replaceChildren();
    const body = { role: role.value, name: name.value.trim(), tenant_id: tenant.value };
    if (days.value) body.expires_at = new Date(Date.now() + Number(days.value) * 86_400_000).toISOString();
    if (bodies.checked) body.read_bodies = true;
    try {
      const created = await api("POST", "/api/keys", body);
      result.append(h("div.notice", h("p", h("strong", "Copy this key now: it is not shown again.")),
        h("code#new-key", created.key)));
      toast(`Created ${created.role} key ${created.prefix}…`);
      const table = main.querySelector("#keys-table");
      if (table) table.closest(".table-wrap").replaceWith(keyTable((await api("GET", "/api/keys?include_revoked=true")).keys,
        new Map(tenants.map((t) => [t.id, t.name])), main));
    } catch (error) {
      result.append(errorBox(error, "Not created"));
    }
  } } },
  h("h2", "New key"),
  field("key-role", "Role", role, { hint: "Below your own role, unless you are an admin." }),
  field("key-name", "Name", name), field("key-tenant", "Tenant", tenant),
  field("key-expires", "Expires after (days)", days), field("key-read-bodies", "Viewer may read prompts and answers", bodies),
  h("button.primary", { type: "submit" }, "Create key"), result);
  return form;
}

function keyTable(keys, names, main) {
  const rows = keys.map((key) => h("tr", { dataset: { keyId: key.id } },
    h("td", h("code", `${key.prefix}…`), key.name ? [h("br"), key.name] : null),
    h("td", badge(key.role, `role-${key.role}`)),
    h("td", names.get(key.tenant_id) || key.tenant_id),
    h("td", formatDate(key.created_at)),
    h("td", key.last_used_at ? formatDate(key.last_used_at) : "never"),
    h("td", key.revoked_at ? `revoked ${formatDate(key.revoked_at)}` : key.expires_at ? `expires ${formatDate(key.expires_at)}` : "active"),
    h("td", key.revoked_at ? null : h("button", { type: "button", on: { click: async (event) => {
      if (!confirm(`Revoke key ${key.prefix}…? Clients using it get 401 within a second.`)) return;
      try {
        await api("DELETE", `/api/keys/${key.id}`);
        toast(`Revoked ${key.prefix}…`);
        event.target.closest("tr").querySelector("td:nth-child(6)").textContent = "revoked";
        event.target.remove();
      } catch (error) {
        main.append(errorBox(error, "Not revoked"));
      }
    } } }, "Revoke"))));
  return table(null, [
    { label: "Key" }, { label: "Role" }, { label: "Tenant" }, { label: "Created" }, { label: "Last used" }, { label: "State" }, { label: "" },
  ], rows, { attributes: { id: "keys-table" }, stack: true, label: "API keys", empty: "No keys yet." });
}

function tenantSection(tenants, main) {
  const name = h("input", { name: "tenant-name", pattern: "[a-z0-9][a-z0-9._-]{0,62}", placeholder: "team-a" });
  const status = h("div", { "aria-live": "polite" });
  return h("section.panel", h("h2", "Tenants"),
    h("ul#tenant-list", tenants.map((tenant) => h("li", tenant.name, " ", h("code.small", tenant.id)))),
    h("form#tenant-form", { on: { submit: async (event) => {
      event.preventDefault();
      status.replaceChildren();
      try {
        const created = await api("POST", "/api/tenants", { name: name.value.trim() });
        main.querySelector("#tenant-list").append(h("li", created.name, " ", h("code.small", created.id)));
        toast(`Created tenant ${created.name}`);
      } catch (error) {
        status.append(errorBox(error, "Not created"));
      }
    } } }, field("tenant-name", "New tenant (admins)", name), h("button", { type: "submit" }, "Create tenant"), status));
}
