import Catalog
import Foundation
import Storage

/// How jobs enter the queue from the API (`POST /api/jobs`, its batch, an execution's steps and
/// the `/v1` endpoints): their agents and executions are checked, then they are inserted, with an
/// idempotency key that names different content answered as a 409.
struct JobIntake: Sendable {
    let repository: JobRepository

    init(jobs: JobRepository) {
        repository = jobs
    }

    /// The one way a single job enters the queue from the API (`POST /api/jobs` and the `/v1`
    /// endpoints): its references are checked, then it is inserted (an idempotency key already
    /// used with the same content answers the existing job; different content is a 409).
    func enqueue(_ job: JobRepository.NewJob) async throws -> JobRepository.InsertOutcome {
        try await checkReferences([job], prefix: { _ in "" })
        guard let outcome = try await insert([job]).first else { throw APIError.internalError }
        return outcome
    }

    /// Every job's agent exists and is active, and its execution (if any) exists and is running.
    func checkReferences(_ jobs: [JobRepository.NewJob], prefix: (Int) -> String) async throws {
        let agents = try await repository.agentStatuses(Array(Set(jobs.map(\.agentID))))
        let executionIDs = Array(Set(jobs.compactMap(\.executionID)))
        let executions = executionIDs.isEmpty ? [:] : try await repository.executionStatuses(executionIDs)
        var missing: [FieldIssue] = []
        var inactive: [FieldIssue] = []
        for (index, job) in jobs.enumerated() {
            switch agents[job.agentID] {
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
        if !inactive.isEmpty {
            throw APIError(.conflict, code: "not_accepting_jobs", message: inactive.map(\.message).joined(separator: "; "), details: inactive)
        }
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
