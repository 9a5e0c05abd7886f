import Catalog
import Foundation
import Hummingbird
import Postgres
import Storage

/// `/api/jobs`: enqueue LLM jobs for agents (one, or a batch in one statement), read them (with a
/// long-poll until they finish), list them, cancel them. The llm-gateway workers run them.
struct JobRoutes: Sendable {
    let jobs: JobRepository
    let intake: JobIntake
    /// The long-poll hub (`?wait=`).
    let completions: JobCompletionHub
    let waits: WaitLimiter

    static let idParameter = APIParameter.path("id", "Job id (integer).")
    static let maximumWaitSeconds = 60
    static let maximumBatch = 1000

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .post, path: "/api/jobs", operationID: "createJob", tag: "jobs",
                summary: "Enqueue a job: agent_id plus the chat request (messages, tools, …). 201 with the job; a repeated idempotency_key answers 200 with the existing job, or 409 idempotency_conflict when the content differs.",
                access: .role(.inference),
                requestBody: .ref("JobCreate"),
                responses: [.init(201, "The new job.", .ref("Job")), .init(200, "The job this idempotency_key already created.", .ref("Job"))],
                errors: [409],
                handler: create),
            APIRoute(
                method: .post, path: "/api/jobs/batch", operationID: "createJobs", tag: "jobs",
                summary: "Enqueue up to 1,000 jobs in one INSERT statement: {\"jobs\": [JobCreate, …]}. All or nothing; answers in input order.",
                access: .role(.inference),
                requestBody: .ref("JobBatchCreate"),
                responses: [
                    .init(201, "At least one job was created.", .ref("JobBatch")),
                    .init(200, "Every job already existed (idempotency keys).", .ref("JobBatch")),
                ],
                errors: [409],
                handler: createBatch),
            APIRoute(
                method: .get, path: "/api/jobs", operationID: "listJobs", tag: "jobs",
                summary: "Jobs, newest first, paged with next_cursor. Request/result/error bodies only with include=result.",
                access: .role(.viewer),
                parameters: [
                    .query("status", .enumeration(JobRecord.statuses), "Only jobs in this status."),
                    .query("agent_id", .string(format: "uuid"), "Only this agent's jobs."),
                    .query("execution_id", .string(format: "uuid"), "Only this execution's jobs."),
                    .query("cursor", .string(), "next_cursor of the previous page."),
                    .query("limit", .integer(), "1–200, default 50; with include=result 1–20, default 20."),
                    .query("include", .enumeration(["result"]), "result: add request, result and error to each job."),
                ],
                responses: [.init(200, "One page.", .ref("JobList"))], errors: [400],
                handler: list),
            APIRoute(
                method: .get, path: "/api/jobs/{id}", operationID: "getJob", tag: "jobs",
                summary: "One job with its provider attempts. ?wait=SECONDS (at most 60) holds the request until the job is succeeded, failed or cancelled, then answers; at the deadline it answers the current state.",
                access: .role(.viewer, owns: .job),
                parameters: [Self.idParameter, .query("wait", .integer(), "Seconds to wait for a terminal status, 0–60 (larger values count as 60).")],
                responses: [.init(200, "The job.", .ref("Job"))], errors: [400, 404],
                handler: get),
            APIRoute(
                method: .post, path: "/api/jobs/{id}/cancel", operationID: "cancelJob", tag: "jobs",
                summary: "Cancel: a queued job is cancelled at once (200); a running job gets cancel_requested_at and its worker is told to stop (202); a finished job answers 409 with its status.",
                access: .role(.inference, owns: .job),
                parameters: [Self.idParameter],
                responses: [
                    .init(200, "Cancelled.", .ref("Job")),
                    .init(202, "Running: cancellation requested; the worker ends it as cancelled.", .ref("Job")),
                ],
                errors: [404, 409],
                handler: cancel),
        ]
    }

    // MARK: - Enqueue

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<JobBody> {
        let (document, _) = try await request.readJSON(schema: .ref("JobCreate"), context: context)
        let (input, issues) = JobInput.parse(document)
        guard let input, issues.isEmpty else { throw APIError.validation(issues, message: "the job is invalid") }
        switch try await enqueue(input.job, for: try context.requirePrincipal()) {
        case .created(let job):
            context.logger.info("registry.job.created", metadata: ["job.id": "\(job.id)", "agent.id": "\(job.agentID.jsonString)"])
            return JSONResponse(JobBody(job: job), status: .created)
        case .existing(let job):
            return JSONResponse(JobBody(job: job))
        }
    }

    func createBatch(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<JobBatchBody> {
        let (document, _) = try await request.readJSON(schema: .ref("JobBatchCreate"), context: context)
        guard case .array(let elements)? = document["jobs"] else { throw APIError.validation([.init(field: "jobs", message: "is required")]) }
        if elements.isEmpty || elements.count > Self.maximumBatch {
            throw APIError.validation([.init(field: "jobs", message: "must hold 1–\(Self.maximumBatch) jobs, not \(elements.count)")])
        }
        var jobs: [JobRepository.NewJob] = []
        var issues: [FieldIssue] = []
        var keys: [String: Int] = [:]
        for (index, element) in elements.enumerated() {
            let (input, found) = JobInput.parse(element, prefix: "jobs[\(index)].")
            issues += found
            guard let input else { continue }
            if let key = input.job.idempotencyKey {
                if let first = keys[key] {
                    issues.append(.init(field: "jobs[\(index)].idempotency_key", message: "repeats jobs[\(first)].idempotency_key"))
                }
                keys[key] = keys[key] ?? index
            }
            jobs.append(input.job)
        }
        if !issues.isEmpty { throw APIError.validation(issues, message: "\(Set(issues.map { $0.field.split(separator: ".").first ?? "" }).count) job(s) are invalid") }
        let principal = try context.requirePrincipal()
        try await intake.checkReferences(jobs, for: principal, prefix: { "jobs[\($0)]." })
        let outcomes = try await intake.insert(JobIntake.stamped(jobs, by: principal))
        let bodies = outcomes.map { outcome -> JobBody in
            switch outcome {
            case .created(let job): return JobBody(job: Self.withoutBodies(job), created: true)
            case .existing(let job): return JobBody(job: Self.withoutBodies(job), created: false)
            }
        }
        let created = bodies.filter { $0.created == true }.count
        context.logger.info("registry.jobs.batch_created", metadata: ["jobs.created": "\(created)", "jobs.count": "\(jobs.count)"])
        return JSONResponse(JobBatchBody(jobs: bodies, created: created, existing: bodies.count - created),
                           status: created > 0 ? .created : .ok)
    }

    /// `/v1` enqueues through here too (see `init(services:)`).
    func enqueue(_ job: JobRepository.NewJob, for principal: Principal, waiting: Bool = false) async throws -> JobRepository.InsertOutcome {
        try await intake.enqueue(job, for: principal, waiting: waiting)
    }

    static func withoutBodies(_ job: JobRecord) -> JobRecord {
        var copy = job
        copy.requestJSON = nil
        copy.resultJSON = nil
        copy.errorJSON = nil
        return copy
    }

    // MARK: - Reading

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<JobBody> {
        let id = try jobID(context)
        let wait = min(try request.queryInt("wait", range: 0...Int(Int32.max)) ?? 0, Self.maximumWaitSeconds)
        guard var job = try await jobs.find(id) else { throw Self.jobNotFound(id) }
        if wait > 0, !job.isTerminal {
            let current = try await waits.withWait(for: try context.requirePrincipal()) {
                try await completions.waitForCompletion(of: id, timeout: .seconds(wait))
            }
            guard let current else { throw Self.jobNotFound(id) }
            job = current
        }
        let attempts = try await jobs.attempts(jobID: id, since: job.createdAt)
        if try !context.requirePrincipal().mayReadBodies { job = Self.withoutBodies(job) }
        return JSONResponse(JobBody(job: job, attempts: attempts))
    }

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<JobListBody> {
        var filter = JobRepository.Filter()
        if let status = request.query("status") {
            guard JobRecord.statuses.contains(status) else {
                throw APIError.badParameter("status", "must be one of \(JobRecord.statuses.joined(separator: ", "))")
            }
            filter.status = status
        }
        filter.agentID = try uuidParameter(request, "agent_id")
        filter.executionID = try uuidParameter(request, "execution_id")
        if let cursor = request.query("cursor") {
            guard let before = Int64(cursor), before > 0 else { throw APIError.badParameter("cursor", "must be a next_cursor value") }
            filter.before = before
        }
        if let include = request.query("include") {
            guard include == "result" else { throw APIError.badParameter("include", "must be result") }
            guard try context.requirePrincipal().mayReadBodies else {
                throw APIError.forbidden(
                    "bodies_not_allowed", "this key may read job metadata only; include=result needs a key with read_bodies (or role inference or above)")
            }
            filter.includeBodies = true
        }
        // Bodies may be megabytes each (review finding P2-8): at most 20 jobs a page with them.
        let limit = try request.queryInt("limit", range: 1...200)
        if filter.includeBodies, let limit, limit > Self.maxLimitWithBodies {
            throw APIError.badParameter("limit", "must be between 1 and \(Self.maxLimitWithBodies) with include=result (each job's bodies may be megabytes)")
        }
        filter.limit = limit ?? (filter.includeBodies ? Self.maxLimitWithBodies : 50)
        filter.scope = context.scope
        let page = try await jobs.list(filter)
        return JSONResponse(JobListBody(
            jobs: page.jobs.map { JobBody(job: $0) }, count: page.jobs.count,
            nextCursor: page.hasMore ? page.jobs.last.map { String($0.id) } : nil))
    }

    /// The page size cap of `GET /api/jobs?include=result`.
    static let maxLimitWithBodies = 20

    // MARK: - Cancelling

    func cancel(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<JobBody> {
        let id = try jobID(context)
        switch try await jobs.cancel(id) {
        case .cancelled(let job):
            context.logger.info("registry.job.cancelled", metadata: ["job.id": "\(id)"])
            return JSONResponse(JobBody(job: job))
        case .cancelRequested(let job):
            context.logger.info("registry.job.cancel_requested", metadata: ["job.id": "\(id)"])
            return JSONResponse(JobBody(job: job), status: .accepted)
        case .alreadyFinished(let job):
            throw APIError(
                .conflict, code: "job_finished", message: "job \(id) is already \(job.status)",
                details: [.init(field: "status", message: job.status)])
        case .notFound:
            throw Self.jobNotFound(id)
        }
    }

    // MARK: - Helpers

    func jobID(_ context: RegistryContext) throws -> Int64 {
        let text = try context.pathParameter("id")
        guard let id = Int64(text), id > 0 else { throw APIError.notFound("no job with id '\(text)' (job ids are positive integers)") }
        return id
    }

    func uuidParameter(_ request: Request, _ name: String) throws -> UUID? {
        guard let text = request.query(name) else { return nil }
        guard let id = UUID(uuidString: text) else { throw APIError.badParameter(name, "must be a UUID") }
        return id
    }

    static func jobNotFound(_ id: Int64) -> APIError {
        APIError.notFound("job \(id) does not exist")
    }
}

extension JobRoutes {
    /// For the `/v1` facade, which holds the whole `RegistryServices` and enqueues through
    /// `enqueue(_:)` like `POST /api/jobs`.
    init(services: RegistryServices) {
        self.init(jobs: services.jobs, intake: services.intake, completions: services.completions, waits: services.waits)
    }
}
