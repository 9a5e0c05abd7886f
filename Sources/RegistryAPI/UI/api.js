// The registry API as the page uses it: same origin, JSON, the bearer token from sessionStorage.
// A 401 forgets the token and asks for one (app.js listens for "switchboard:unauthorized").

const TOKEN_KEY = "switchboard.token";

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** An answer other than 2xx: status, the API's error code, message and per-field details. */
export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message || `HTTP ${status}`);
    this.status = status;
    this.code = code || `http_${status}`;
    this.details = Array.isArray(details) ? details : [];
  }
}

/** One call. `body`: an object (sent as JSON), a string (sent as is, e.g. an uploaded file) or undefined. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = storedToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, cache: "no-store" };
  // POST/PUT/PATCH always say JSON, with or without a body (the API answers 415 otherwise).
  if (method !== "GET") headers["Content-Type"] = "application/json";
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "network_error", `The registry did not answer (${error.message}).`, []);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 401) {
    const hadToken = Boolean(token);
    storeToken("");
    window.dispatchEvent(new CustomEvent("switchboard:unauthorized", { detail: { hadToken } }));
  }
  if (!response.ok) {
    const error = data && data.error ? data.error : {};
    throw new ApiError(response.status, error.code, error.message || response.statusText, error.details);
  }
  return data;
}

/** Query string from an object, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** A model id in a path (ids may contain "/", which the API accepts encoded as %2F). */
export function modelPath(modelID) {
  return encodeURIComponent(modelID);
}

/** Every page of a cursor-paged list (`next_cursor`), up to `maxPages`. */
export async function allPages(path, params, key, maxPages = 20) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < maxPages; page += 1) {
    const data = await api("GET", path + query({ ...params, cursor }));
    items.push(...(data[key] || []));
    cursor = data.next_cursor;
    if (!cursor) break;
  }
  return items;
}

/** The catalog, every status but retired unless asked (cached for the page's lifetime, refreshed on demand). */
let catalogCache = null;
export async function catalog(refresh = false) {
  if (!catalogCache || refresh) {
    catalogCache = allPages("/api/models", { limit: 500, status: "all" }, "models").catch((error) => {
      catalogCache = null;
      throw error;
    });
  }
  return catalogCache;
}

let providersCache = null;
export async function providers(refresh = false) {
  if (!providersCache || refresh) {
    providersCache = api("GET", "/api/providers").then((data) => data.providers).catch((error) => {
      providersCache = null;
      throw error;
    });
  }
  return providersCache;
}

export function forgetCaches() {
  catalogCache = null;
  providersCache = null;
}
