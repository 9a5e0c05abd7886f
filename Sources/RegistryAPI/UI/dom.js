// Small DOM and formatting helpers shared by the pages. Everything is built with
// createElement/textContent (never innerHTML), so API data cannot inject markup.

/** h("tag.class#id", {attributes, on: {event: fn}}, ...children) */
export function h(spec, attributes, ...children) {
  const [, tag, rest] = /^([a-z0-9]+)(.*)$/i.exec(spec) || [null, "div", ""];
  const element = document.createElement(tag);
  for (const part of rest.match(/[.#][^.#]+/g) || []) {
    if (part[0] === ".") element.classList.add(part.slice(1));
    else element.id = part.slice(1);
  }
  if (attributes && (typeof attributes !== "object" || attributes instanceof Node || Array.isArray(attributes))) {
    children.unshift(attributes);
    attributes = null;
  }
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "on") {
      for (const [event, handler] of Object.entries(value)) element.addEventListener(event, handler);
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else if (key === "text") {
      element.textContent = value;
    } else if (key in element && key !== "list" && typeof value !== "string") {
      element[key] = value;
    } else {
      element.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === undefined || child === null || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function svg(tag, attributes, ...children) {
  const element = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value !== undefined && value !== null) element.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === undefined || child === null) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function clear(element) {
  while (element.firstChild) element.firstChild.remove();
  return element;
}

// -- formatting ------------------------------------------------------------------------------

const integerFormat = new Intl.NumberFormat("en-US");
const moneyFormat = new Intl.NumberFormat("en-US", {
  style: "currency", currency: "USD", minimumFractionDigits: 2, maximumFractionDigits: 6,
});

export function formatInteger(value) {
  return value === null || value === undefined ? "—" : integerFormat.format(value);
}

/** USD; null = unknown price (never shown as $0). */
export function formatCost(value) {
  if (value === null || value === undefined) return "unknown";
  return moneyFormat.format(Number(value));
}

/** A price per 1K tokens, and the same per 1M. */
export function formatPrice(perThousand) {
  if (perThousand === null || perThousand === undefined) return "unknown";
  return moneyFormat.format(Number(perThousand));
}

export function perMillion(perThousand) {
  if (perThousand === null || perThousand === undefined) return null;
  return Math.round(Number(perThousand) * 1000 * 1e6) / 1e6;
}

export function formatRate(rate) {
  if (rate === null || rate === undefined) return "—";
  return `${(Number(rate) * 100).toFixed(1)} %`;
}

export function formatTokens(value) {
  if (value === null || value === undefined) return "unknown";
  if (value >= 1_000_000) return `${+(value / 1_000_000).toFixed(2)}M`;
  if (value >= 1_000) return `${+(value / 1_000).toFixed(1)}K`;
  return String(value);
}

export function formatDate(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toISOString().replace("T", " ").replace(/\.\d+Z$/, " UTC").replace(/Z$/, " UTC");
}

export function formatJSON(value) {
  return value === undefined ? "—" : JSON.stringify(value, null, 2);
}

// -- pieces of UI ----------------------------------------------------------------------------

export function badge(text, kind) {
  return h(`span.badge.badge-${kind || text}`, { text });
}

export function providerBadge(provider) {
  return h("span.badge.badge-provider", { text: provider || "unknown", dataset: { provider: provider || "" } });
}

export function statusBadge(status) {
  return h(`span.badge.status-${status}`, { text: status });
}

/** A table in a scrolling wrapper: columns [{label, className, sort}], rows of cells. */
export function table(caption, columns, rows, options = {}) {
  const head = h("thead", h("tr", columns.map((column) => h("th", {
    scope: "col", class: column.className || null, "aria-sort": column.ariaSort || null,
  }, column.header || column.label))));
  // Each cell knows its column's name: on narrow screens a `stack` table shows rows as cards.
  for (const row of rows) {
    [...row.children].forEach((cell, index) => {
      if (columns[index] && cell.dataset.label === undefined) cell.dataset.label = columns[index].label;
    });
  }
  const body = h("tbody", rows.length ? rows : h("tr", h("td.empty", { colSpan: columns.length }, options.empty || "Nothing to show.")));
  const element = h("table", options.attributes || {}, caption ? h("caption", caption) : null, head, body);
  return h(`div.table-wrap${options.stack ? ".stack" : ""}`,
    { tabindex: "0", role: "region", "aria-label": options.label || caption || "table" }, element);
}

export function errorBox(error, context) {
  const box = h("div.error-box", { role: "alert" },
    h("strong", context ? `${context}: ` : ""), error.message || String(error));
  if (error.details && error.details.length) {
    box.append(h("ul", error.details.map((detail) => h("li", `${detail.field}: ${detail.message}`))));
  }
  return box;
}

let toastTimer = null;
export function toast(message) {
  const element = document.getElementById("toast");
  element.textContent = message;
  element.classList.add("visible");
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => element.classList.remove("visible"), 4000);
}

/** Today's UTC day, and n days before it, as YYYY-MM-DD. */
export function utcDay(offsetDays = 0) {
  const date = new Date(Date.now() + offsetDays * 86_400_000);
  return date.toISOString().slice(0, 10);
}

export function dayRange(from, to) {
  const days = [];
  let current = new Date(`${from}T00:00:00Z`);
  const last = new Date(`${to}T00:00:00Z`);
  while (current <= last && days.length < 1000) {
    days.push(current.toISOString().slice(0, 10));
    current = new Date(current.getTime() + 86_400_000);
  }
  return days;
}

/** Label + control + slot for the API's messages about this field. */
export function field(id, label, control, options = {}) {
  control.id = id;
  const hint = options.hint ? h("p.hint", { id: `${id}-hint` }, options.hint) : null;
  const messages = h("div.field-messages", { dataset: { fieldMessages: options.field || id }, id: `${id}-messages`, "aria-live": "polite" });
  const described = [hint ? `${id}-hint` : null, `${id}-messages`].filter(Boolean).join(" ");
  control.setAttribute("aria-describedby", described);
  return h("div.field", { dataset: { field: options.field || id } },
    h("label", { for: id }, label), options.extra || null, control, hint, messages);
}
