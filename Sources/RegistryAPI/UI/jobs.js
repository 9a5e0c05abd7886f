// Jobs and executions: recent jobs filtered by status and agent, a job's provider attempts and
// result (with cancel), executions with their steps, models_used and total cost.
import { api, query } from "./api.js";
import {
  badge, field, formatCost, formatDate, formatInteger, formatJSON, h, providerBadge, statusBadge, table, toast,
} from "./dom.js";

const JOB_STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"];
const EXECUTION_STATUSES = ["running", "succeeded", "failed", "cancelled"];

async function agentNames() {
  const data = await api("GET", "/api/agents?limit=1000");
  return new Map(data.agents.map((agent) => [agent.id, agent.name]));
}

function agentLink(names, id) {
  return h("a", { href: `#/agents/${id}` }, names.get(id) || id);
}

export async function renderJobs(main, params) {
  const status = params.get("status") || "";
  const agentID = params.get("agent_id") || "";
  const cursor = params.get("cursor") || "";
  main.append(h("h1", "Jobs"));
  const names = await agentNames();
  const statusSelect = h("select", { name: "status" }, h("option", { value: "" }, "any status"),
    JOB_STATUSES.map((value) => h("option", { value, selected: value === status }, value)));
  const agentSelect = h("select", { name: "agent_id" }, h("option", { value: "" }, "any agent"),
    [...names.entries()].sort((a, b) => a[1].localeCompare(b[1])).map(([id, name]) => h("option", { value: id, selected: id === agentID }, name)));
  main.append(h("form.filters", { on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/jobs${query({ status: statusSelect.value, agent_id: agentSelect.value })}`;
  } } }, field("jobs-status", "Status", statusSelect), field("jobs-agent", "Agent", agentSelect),
  h("button", { type: "submit" }, "Show")));

  // With include=result the API sends at most 20 jobs a page (their bodies may be large).
  const page = await api("GET", `/api/jobs${query({ status, agent_id: agentID, cursor, limit: 20, include: "result" })}`);
  const rows = page.jobs.map((job) => h("tr", { dataset: { jobId: job.id } },
    h("td", h("a", { href: `#/jobs/${job.id}` }, `#${job.id}`)),
    h("td", agentLink(names, job.agent_id)),
    h("td", statusBadge(job.status), job.cancel_requested_at && job.status === "running" ? [" ", badge("cancel requested", "warning")] : null),
    h("td.number", `${job.attempt} / ${job.max_attempts}`),
    h("td", job.result ? [h("code", job.result.model), job.result.fallback_depth > 0 ? [" ", badge(`fallback ${job.result.fallback_depth}`, "fallback")] : null] : "—"),
    h("td.number", job.result ? formatCost(job.result.cost) : "—"),
    h("td", job.step || "—"),
    h("td", formatDate(job.created_at))));
  main.append(table(`${page.count} job(s)`, [
    { label: "Job" }, { label: "Agent" }, { label: "Status" }, { label: "Attempt", className: "number" },
    { label: "Answered by" }, { label: "Cost", className: "number" }, { label: "Step" }, { label: "Created" },
  ], rows, { attributes: { id: "jobs-table" }, stack: true, empty: "No jobs match." }));
  const pager = h("div.pager");
  if (cursor) pager.append(h("a.button", { href: `#/jobs${query({ status, agent_id: agentID })}` }, "Newest"));
  if (page.next_cursor) pager.append(h("a.button", { href: `#/jobs${query({ status, agent_id: agentID, cursor: page.next_cursor })}` }, "Older jobs"));
  main.append(pager);
}

export async function renderJob(main, params, id) {
  const [job, names] = await Promise.all([api("GET", `/api/jobs/${id}`), agentNames()]);
  main.append(h("p.breadcrumb", h("a", { href: "#/jobs" }, "Jobs"), ` / #${job.id}`),
    h("h1", `Job #${job.id} `, statusBadge(job.status)));
  const actions = h("div.actions");
  if (job.status === "queued" || job.status === "running") {
    const status = h("span.form-status", { role: "status" });
    const button = h("button.danger", { type: "button", id: "cancel-job", on: { click: async () => {
      button.disabled = true;
      try {
        const answer = await api("POST", `/api/jobs/${job.id}/cancel`);
        toast(answer.status === "cancelled" ? "Job cancelled." : "Cancel requested: the worker will stop it.");
        location.hash = `#/jobs/${job.id}?t=${Date.now()}`;
      } catch (error) {
        button.disabled = false;
        status.textContent = error.status === 409 ? `Already finished: ${error.message}` : `Not cancelled: ${error.message}`;
      }
    } } }, job.status === "running" ? "Request cancel" : "Cancel job");
    actions.append(button, status);
  }
  actions.append(h("a.button", { href: `#/jobs/${job.id}?t=${Date.now()}` }, "Refresh"));
  main.append(actions);
  main.append(h("dl.details.job-summary",
    dt("Agent", agentLink(names, job.agent_id)),
    dt("Attempt", `${job.attempt} of ${job.max_attempts}`),
    dt("Priority", String(job.priority)),
    dt("Step", job.step || "—"),
    dt("Execution", job.execution_id ? h("a", { href: `#/executions/${job.execution_id}` }, job.execution_id) : "—"),
    dt("Created", formatDate(job.created_at)),
    dt("Started", formatDate(job.started_at)),
    dt("Finished", formatDate(job.finished_at)),
    job.cancel_requested_at ? dt("Cancel requested", formatDate(job.cancel_requested_at)) : null));

  main.append(h("h2", "Attempts"), table(null, [
    { label: "Job attempt", className: "number" }, { label: "Model" }, { label: "Provider" }, { label: "Role" },
    { label: "Outcome" }, { label: "Error class" }, { label: "HTTP", className: "number" }, { label: "Latency", className: "number" },
    { label: "Tokens in / out", className: "number" }, { label: "Cost", className: "number" },
  ], (job.attempts || []).map((attempt) => h("tr", { dataset: { model: attempt.model, outcome: attempt.outcome, fallbackDepth: attempt.fallback_depth } },
    h("td.number", String(attempt.job_attempt)),
    h("td", h("code", attempt.model)),
    h("td", providerBadge(attempt.provider)),
    h("td", attempt.fallback_depth === 0 ? "primary" : badge(`fallback ${attempt.fallback_depth}`, "fallback")),
    h("td", badge(attempt.outcome, attempt.outcome === "success" ? "ok" : "error")),
    h("td", attempt.error_class || "—"),
    h("td.number", attempt.http_status ?? "—"),
    h("td.number", attempt.latency_ms === null ? "—" : `${formatInteger(attempt.latency_ms)} ms`),
    h("td.number", `${formatInteger(attempt.input_tokens)} / ${formatInteger(attempt.output_tokens)}`),
    h("td.number", formatCost(attempt.cost)))),
  { attributes: { id: "attempts-table" }, stack: true, label: "Provider attempts", empty: "No provider call yet." }));

  if (job.result) {
    const result = job.result;
    main.append(h("section.card#job-result", h("h2", "Result"),
      h("p", "Answered by ", h("code", result.model), " ", providerBadge(result.provider), " ",
        result.fallback_depth > 0 ? badge(`fallback ${result.fallback_depth}`, "fallback") : badge("primary", "ok"),
        ` · cost ${formatCost(result.cost)} · finish ${result.finish_reason || "—"}`),
      result.content !== null && result.content !== undefined ? h("pre.content", result.content) : null,
      result.tool_calls && result.tool_calls.length ? h("pre.content", formatJSON(result.tool_calls)) : null,
      result.warnings && result.warnings.length ? h("ul", result.warnings.map((warning) => h("li.warning", warning))) : null));
  }
  if (job.error) {
    main.append(h("section.card.error-card#job-error", h("h2", "Error"),
      h("p", h("strong", job.error.code), `: ${job.error.message}`),
      job.error.skipped && job.error.skipped.length
        ? h("ul", job.error.skipped.map((skip) => h("li", `skipped ${skip.model} (${skip.provider || "?"}): ${skip.reason}`)))
        : null));
  }
  main.append(h("details", h("summary", "Request"), h("pre.content", formatJSON(job.request))));
}

export async function renderExecutions(main, params) {
  const status = params.get("status") || "";
  const cursor = params.get("cursor") || "";
  main.append(h("h1", "Executions"));
  const statusSelect = h("select", { name: "status" }, h("option", { value: "" }, "any status"),
    EXECUTION_STATUSES.map((value) => h("option", { value, selected: value === status }, value)));
  main.append(h("form.filters", { on: { submit: (event) => {
    event.preventDefault();
    location.hash = `#/executions${query({ status: statusSelect.value })}`;
  } } }, field("executions-status", "Status", statusSelect), h("button", { type: "submit" }, "Show")));
  const page = await api("GET", `/api/executions${query({ status, cursor, limit: 50 })}`);
  main.append(table(`${page.count} execution(s)`, [
    { label: "Workflow" }, { label: "Status" }, { label: "Started" }, { label: "Finished" },
  ], page.executions.map((execution) => h("tr", { dataset: { executionId: execution.id } },
    h("td", h("a", { href: `#/executions/${execution.id}` }, execution.workflow_name)),
    h("td", statusBadge(execution.status)), h("td", formatDate(execution.started_at)), h("td", formatDate(execution.finished_at)))),
  { attributes: { id: "executions-table" }, stack: true, empty: "No executions match." }));
  if (page.next_cursor) main.append(h("div.pager", h("a.button", { href: `#/executions${query({ status, cursor: page.next_cursor })}` }, "Older executions")));
}

export async function renderExecution(main, params, id) {
  const [execution, names] = await Promise.all([api("GET", `/api/executions/${encodeURIComponent(id)}`), agentNames()]);
  main.append(h("p.breadcrumb", h("a", { href: "#/executions" }, "Executions"), ` / ${execution.workflow_name}`),
    h("h1", execution.workflow_name, " ", statusBadge(execution.status)));
  main.append(h("dl.summary#execution-totals",
    h("div", { dataset: { total: "cost", value: execution.total_cost ?? "" } }, h("dt", "Total cost"), h("dd", formatCost(execution.total_cost))),
    h("div", h("dt", "Requests"), h("dd", formatInteger(execution.requests))),
    h("div", h("dt", "Tokens"), h("dd", formatInteger(execution.tokens.total_tokens))),
    h("div", h("dt", "Unpriced requests"), h("dd", formatInteger(execution.unpriced_requests))),
    h("div", h("dt", "Jobs"), h("dd", Object.entries(execution.job_counts).filter(([, value]) => value > 0).map(([key, value]) => `${value} ${key}`).join(", ") || "—"))));
  main.append(h("h2", "Steps"), table(null, [
    { label: "Step" }, { label: "Agent" }, { label: "Job" }, { label: "Status" }, { label: "Attempt", className: "number" },
    { label: "Answered by" }, { label: "Finished" },
  ], execution.steps.map((step) => h("tr",
    h("td", step.step || "—"), h("td", agentLink(names, step.agent_id)),
    h("td", h("a", { href: `#/jobs/${step.job_id}` }, `#${step.job_id}`)), h("td", statusBadge(step.status)),
    h("td.number", String(step.attempt)), h("td", step.model ? [h("code", step.model), " ", providerBadge(step.provider)] : "—"),
    h("td", formatDate(step.finished_at)))), { attributes: { id: "steps-table" }, stack: true }));
  const usedRows = [];
  for (const [agentID, models] of Object.entries(execution.models_used || {})) {
    for (const [modelID, used] of Object.entries(models)) {
      usedRows.push(h("tr", h("td", agentLink(names, agentID)), h("td", h("code", modelID)),
        h("td.number", formatInteger(used.requests)), h("td.number", formatInteger(used.errors)),
        h("td.number", formatInteger(used.input_tokens + used.output_tokens)), h("td.number", formatCost(used.cost))));
    }
  }
  main.append(h("h2", "Models used"), table(null, [
    { label: "Agent" }, { label: "Model" }, { label: "Requests", className: "number" }, { label: "Errors", className: "number" },
    { label: "Tokens", className: "number" }, { label: "Cost", className: "number" },
  ], usedRows, { attributes: { id: "models-used-table" }, stack: true, empty: "No provider call yet." }));
  if (Object.keys(execution.metadata || {}).length) main.append(h("details", h("summary", "Metadata"), h("pre.content", formatJSON(execution.metadata))));
}

function dt(label, value) {
  return h("div", h("dt", label), h("dd", value));
}
