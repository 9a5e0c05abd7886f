// The page's entry: hash routes → page renderers, the token prompt, the navigation state.
import { api, storedToken, storeToken, forgetCaches, ApiError } from "./api.js";
import { clear, errorBox, h } from "./dom.js";
import { renderAgents, renderAgent } from "./agents.js";
import { renderModels, renderCompare } from "./models.js";
import { renderUsage } from "./usage.js";
import { renderJobs, renderJob, renderExecutions, renderExecution } from "./jobs.js";
import { renderChanges } from "./changes.js";
import { renderKeys } from "./keys.js";
import { renderBudgets } from "./budgets.js";

const routes = [
  [/^\/agents$/, "agents", (main, params) => renderAgents(main, params)],
  [/^\/agents\/([^/]+)(?:\/(model|usage|changes))?$/, "agents", (main, params, id, tab) => renderAgent(main, params, id, tab || "model")],
  [/^\/models$/, "models", (main, params) => renderModels(main, params)],
  [/^\/models\/compare$/, "models", (main, params) => renderCompare(main, params)],
  [/^\/usage$/, "usage", (main, params) => renderUsage(main, params)],
  [/^\/jobs$/, "jobs", (main, params) => renderJobs(main, params)],
  [/^\/jobs\/(\d+)$/, "jobs", (main, params, id) => renderJob(main, params, id)],
  [/^\/executions$/, "executions", (main, params) => renderExecutions(main, params)],
  [/^\/executions\/([^/]+)$/, "executions", (main, params, id) => renderExecution(main, params, id)],
  [/^\/changes$/, "changes", (main, params) => renderChanges(main, params)],
  [/^\/keys$/, "keys", (main) => renderKeys(main)],
  [/^\/budgets$/, "budgets", (main) => renderBudgets(main)],
];

const main = document.getElementById("main");
const tokenPanel = document.getElementById("token-panel");
const forgetButton = document.getElementById("forget-token");
let renderCount = 0;

/** "#/jobs?status=failed" → ["/jobs", URLSearchParams] */
function currentRoute() {
  const hash = location.hash.replace(/^#/, "") || "/agents";
  const [path, search] = hash.split("?");
  return [path, new URLSearchParams(search || "")];
}

export function navigate(path, params) {
  const search = params ? new URLSearchParams(Object.entries(params).filter(([, v]) => v !== "" && v != null)).toString() : "";
  const target = `#${path}${search ? `?${search}` : ""}`;
  if (location.hash === target) render();
  else location.hash = target;
}

async function render() {
  const [path, params] = currentRoute();
  const match = routes.map(([pattern, nav, page]) => [pattern.exec(path), nav, page]).find(([found]) => found);
  for (const link of document.querySelectorAll("[data-nav]")) {
    if (match && link.dataset.nav === match[1]) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  forgetButton.hidden = !storedToken();
  if (storedToken()) {
    tokenPanel.hidden = true;
    main.hidden = false;
  }
  const count = ++renderCount;
  clear(main);
  main.setAttribute("aria-busy", "true");
  if (!match) {
    main.append(h("h1", "Not found"), h("p", `There is no page ${path}. `, h("a", { href: "#/agents" }, "Go to Agents")));
    main.removeAttribute("aria-busy");
    main.dataset.renderId = `${count}-${Date.now()}`;
    return;
  }
  const [found, , page] = match;
  try {
    await page(main, params, ...found.slice(1).map((part) => (part === undefined ? undefined : decodeURIComponent(part))));
  } catch (error) {
    if (count !== renderCount) return;
    if (error instanceof ApiError && error.status === 401) return; // the token prompt took over
    main.append(errorBox(error, "Could not load this page"));
  } finally {
    if (count === renderCount) {
      main.removeAttribute("aria-busy");
      // A fresh value per finished render: lets tests (and scripts) tell one render from the next.
      main.dataset.renderId = `${count}-${Date.now()}`;
    }
  }
}

function showTokenPrompt(reason) {
  document.getElementById("token-reason").textContent = reason;
  tokenPanel.hidden = false;
  main.hidden = true;
  const input = document.getElementById("token-input");
  input.value = "";
  input.focus();
}

document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const token = document.getElementById("token-input").value.trim();
  if (!token) return;
  storeToken(token);
  forgetCaches();
  tokenPanel.hidden = true;
  main.hidden = false;
  render();
  main.focus();
});

forgetButton.addEventListener("click", () => {
  storeToken("");
  forgetCaches();
  forgetButton.hidden = true;
  // Whether the server needs one at all is the API's answer to the next call.
  render();
});

window.addEventListener("switchboard:unauthorized", (event) => {
  forgetCaches();
  showTokenPrompt(event.detail && event.detail.hadToken
    ? "That token was not accepted (401). Enter a valid API token."
    : "This server requires an API token.");
});

window.addEventListener("hashchange", () => {
  if (!tokenPanel.hidden && !storedToken()) return;
  render();
  main.focus({ preventScroll: true });
});

// First load: one cheap call tells whether a token is needed before any page renders.
async function start() {
  try {
    await api("GET", "/api/providers");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
  }
  render();
}

start();
