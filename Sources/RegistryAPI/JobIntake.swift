import Catalog
import Foundation
import Storage

/// How jobs enter the queue from the API (`POST /api/jobs`, its batch, an execution's steps and
/// the `/v1` endpoints): their agents and executions are checked, then they are inserted, with an
/// idempotency key that names different content answered as a 409.
struct JobIntake: Sendable {
    let repository: JobRepository
    /// The enqueue-time budget check (nil: none, e.g. tests of the intake alone).
    let budgets: BudgetGate?
    /// Requests and tokens per window of the caller's key and the jobs' agents (issue 23; nil: none).
    let limiter: RateLimiter?

    init(jobs: JobRepository, budgets: BudgetGate? = nil, limiter: RateLimiter? = nil) {
        repository = jobs
        self.budgets = budgets
        self.limiter = limiter
    }

    /// The jobs as `principal` enqueues them: its key is recorded on each (its budgets apply).
    static func stamped(_ jobs: [JobRepository.NewJob], by principal: Principal) -> [JobRepository.NewJob] {
        guard let key = principal.keyID else { return jobs }
        return jobs.map { job in
            var job = job
            job.apiKeyID = key
            return job
        }
    }

    /// The one way a single job enters the queue from the API (`POST /api/jobs` and the `/v1`
    /// endpoints): its references are checked, then it is inserted (an idempotency key already
    /// used with the same content answers the existing job; different content is a 409).
    /// `waiting`: the caller waits for the answer (`/v1`), so a spent `defer` budget refuses too.
    func enqueue(_ job: JobRepository.NewJob, for principal: Principal, waiting: Bool = false) async throws -> JobRepository.InsertOutcome {
        try await checkReferences([job], for: principal, prefix: { _ in "" }, waiting: waiting)
        guard let outcome = try await insert(Self.stamped([job], by: principal)).first else { throw APIError.internalError }
        return outcome
    }

    /// Every job's agent exists in the caller's tenant (another tenant's agent reads as missing),
    /// is one the caller's key may use, and is active; its execution (if any) exists in the
    /// caller's tenant and is running. Returns the agents' tenants (an admin's jobs belong to their
    /// agent's tenant).
    @discardableResult
    func checkReferences(
        _ jobs: [JobRepository.NewJob], for principal: Principal, prefix: (Int) -> String, waiting: Bool = false
    ) async throws -> Set<UUID> {
        let agents = try await repository.agentStates(Array(Set(jobs.map(\.agentID))), scope: principal.scope)
        let executionIDs = Array(Set(jobs.compactMap(\.executionID)))
        let executions = executionIDs.isEmpty ? [:] : try await repository.executionStatuses(executionIDs, scope: principal.scope)
        var missing: [FieldIssue] = []
        var inactive: [FieldIssue] = []
        var refused: [FieldIssue] = []
        for (index, job) in jobs.enumerated() {
            if agents[job.agentID] != nil, !principal.mayUse(agent: job.agentID) {
                refused.append(.init(field: "\(prefix(index))agent_id", message: "this key may not use agent \(job.agentID.jsonString)"))
            }
            switch agents[job.agentID]?.status {
            case nil: missing.append(.init(field: "\(prefix(index))agent_id", message: "no agent with id \(job.agentID.jsonString)"))
            case "active"?: break
            case let status?:
                inactive.append(.init(field: "\(prefix(index))agent_id", message: "agent \(job.agentID.jsonString) is \(status); only active agents accept jobs"))
            }
            if let executionID = job.executionID {
                switch executions[executionID] {
                case nil: missing.append(.init(field: "\(prefix(index))execution_id", message: "no execution with id \(executionID.jsonString)"))
                case "running"?: break
                case let status?:
                    inactive.append(.init(field: "\(prefix(index))execution_id", message: "execution \(executionID.jsonString) has finished (\(status))"))
                }
            }
        }
        if !missing.isEmpty { throw APIError.validation(missing + inactive, message: "the job refers to something that does not exist") }
        if !refused.isEmpty {
            throw APIError(.forbidden, code: "agent_not_allowed", message: refused.map(\.message).joined(separator: "; "), details: refused)
        }
        if !inactive.isEmpty {
            throw APIError(.conflict, code: "not_accepting_jobs", message: inactive.map(\.message).joined(separator: "; "), details: inactive)
        }
        let tenants = Set(agents.values.map(\.tenantID))
        if let budgets {
            for tenant in tenants.sorted(by: { $0.uuidString < $1.uuidString }) {
                let agentIDs = agents.filter { $0.value.tenantID == tenant }.map(\.key)
                try await budgets.check(tenantID: tenant, apiKeyID: principal.keyID, agentIDs: agentIDs, waiting: waiting)
            }
        }
        // Last: only valid work the budgets allow is counted against the rate limits.
        try await limiter?.admit(jobs, for: principal)
        return tenants
    }

    func insert(_ jobs: [JobRepository.NewJob]) async throws -> [JobRepository.InsertOutcome] {
        do {
            return try await repository.insert(jobs)
        } catch let conflict as JobRepository.IdempotencyConflict {
            let field = jobs.count == 1 ? "idempotency_key" : "jobs[\(conflict.index)].idempotency_key"
            throw APIError(
                .conflict, code: "idempotency_conflict",
                message: "idempotency_key '\(conflict.existing.idempotencyKey ?? "")' already names job \(conflict.existing.id), whose content differs",
                details: [.init(field: field, message: "used by job \(conflict.existing.id) with a different agent, request or schedule")])
        }
    }
}
