import Foundation
import Postgres

/// A job this worker holds: a row returned by the claim statement.
struct ClaimedJob: Sendable {
    var id: Int64
    var agentID: UUID
    var executionID: UUID?
    var step: String?
    /// The `request` column as JSON text (decoded by the runner, off the claim path).
    var requestJSON: String
    /// `llm_jobs.attempt` after the claim: the lease guard, and usage rows' `attempt`.
    var attempt: Int
    var maxAttempts: Int
    /// The history so far (`error` column) carried across requeues, as JSON text.
    var errorJSON: String?
    var cancelRequested: Bool

    init(row: PostgresRow) throws {
        id = try row.decode(at: 0)
        agentID = try row.decode(at: 1)
        executionID = try row.decode(at: 2)
        step = try row.decode(at: 3)
        requestJSON = try row.decode(at: 4)
        attempt = try row.decode(at: 5)
        maxAttempts = try row.decode(at: 6)
        errorJSON = try row.decode(at: 7)
        cancelRequested = try row.decode(at: 8)
    }
}
