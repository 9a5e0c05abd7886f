import Foundation
import Postgres

/// `llm_job_streams`: where a streaming `/v1` job's worker pushes its deltas (issue 24). The
/// registry instance holding the client writes its row right after the job's and deletes it when
/// the client's stream ends; workers only read it.
public struct JobStreamRepository: Sendable {
    let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    /// Points the job's stream at this registry (a retry with the same Idempotency-Key that reaches
    /// another instance takes it over).
    public func register(jobID: Int64, callbackURL: String, secret: String) async throws {
        _ = try await pool.execute("""
            INSERT INTO llm_job_streams (job_id, callback_url, secret) VALUES (\(jobID), \(callbackURL), \(secret))
            ON CONFLICT (job_id) DO UPDATE SET callback_url = EXCLUDED.callback_url, secret = EXCLUDED.secret, created_at = now()
            """)
    }

    /// Removes the row this client registered (not one a later client put in its place).
    public func remove(jobID: Int64, secret: String) async throws {
        _ = try await pool.execute("DELETE FROM llm_job_streams WHERE job_id = \(jobID) AND secret = \(secret)")
    }

    public func channel(jobID: Int64) async throws -> (callbackURL: String, secret: String)? {
        guard let row = try await pool.query("SELECT callback_url, secret FROM llm_job_streams WHERE job_id = \(jobID)").rows.first else {
            return nil
        }
        return (try row.decode(at: 0), try row.decode(at: 1))
    }
}
