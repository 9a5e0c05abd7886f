import Catalog
import Foundation
@testable import Gateway
import Logging
import Postgres
import ProviderStub
import Storage
import TestSupport
import Testing

/// A migrated database, an in-process provider-stub over HTTP with the `openai` and `anthropic`
/// provider rows pointed at it, and helpers to add models and agents, enqueue jobs by plain SQL
/// and run workers.
struct GatewayHarness: Sendable {
    let database: PostgresConfiguration
    let pool: PostgresPool
    let stub: ProviderStubServer
    let stubURL: String

    static let migrations: [Migration] = (try? Migration.load(from: TestDatabase.migrationsDirectory)) ?? []
    /// The stub's key, bound to the stub's host as an operator binds real keys (SWITCHBOARD_KEY_HOSTS).
    static let keyEnvironment = ["STUB_KEY": "sk-stub-test", KeyHostBindings.environmentVariable: "STUB_KEY=127.0.0.1"]

    static func run(_ body: @Sendable (GatewayHarness) async throws -> Void) async throws {
        try await TestDatabase.withFreshDatabase { database in
            let pool = PostgresPool(configuration: database, maxConnections: 4)
            defer { pool.shutdown() }
            try await Migrator(pool: pool, migrations: migrations).migrate()
            let stub = ProviderStubServer()
            let port = try await stub.start()
            let url = "http://127.0.0.1:\(port)"
            let harness = GatewayHarness(database: database, pool: pool, stub: stub, stubURL: url)
            do {
                try await pool.execute("""
                    UPDATE llm_providers SET base_url = \(url), api_key_env = 'STUB_KEY'
                     WHERE name IN ('openai', 'anthropic')
                    """)
                try await body(harness)
                await stub.stop()
            } catch {
                await stub.stop()
                throw error
            }
        }
    }

    /// A catalog model at `provider` with exact prices per 1K tokens.
    func addModel(
        _ modelID: String, provider: String = "openai", contextWindow: Int? = 128_000,
        input: String? = "0.0025", output: String? = "0.01", cached: String? = nil, maxOutput: Int? = 4096,
        minTemperature: Double = 0, maxTemperature: Double = 2, status: String = "active"
    ) async throws {
        try await pool.execute("""
            INSERT INTO llm_models (provider, model_id, display_name, context_window, max_output_tokens,
                                    input_cost_per_1k, output_cost_per_1k, cached_input_cost_per_1k,
                                    min_temperature, max_temperature, status)
            VALUES (\(provider), \(modelID), \(modelID), \(contextWindow), \(maxOutput),
                    \(input)::numeric, \(output)::numeric, \(cached)::numeric,
                    \(minTemperature), \(maxTemperature), \(status))
            """)
    }

    /// An agent whose model_config is the primary model plus fallbacks; returns its id.
    @discardableResult
    func addAgent(
        _ name: String, model: String, fallbacks: [String] = [], temperature: Double? = nil, maxTokens: Int? = nil
    ) async throws -> UUID {
        let id = UUID()
        let config = ModelConfigJSON(model: model, fallbacks: fallbacks, temperature: temperature, maxTokens: maxTokens).text
        try await pool.execute("""
            INSERT INTO agents (id, name, agent_type, model_config)
            VALUES (\(id), \(name), 'test', \(PostgresJSONText(config)))
            """)
        return id
    }

    /// Sets an agent's model_config the way the API does (an UPDATE firing 0010's trigger).
    func setAgentModel(_ agent: UUID, model: String, fallbacks: [String] = []) async throws {
        let config = ModelConfigJSON(model: model, fallbacks: fallbacks, temperature: nil, maxTokens: nil).text
        try await pool.execute("UPDATE agents SET model_config = \(PostgresJSONText(config)), updated_at = now() WHERE id = \(agent)")
    }

    func addExecution(_ name: String = "run") async throws -> UUID {
        try await pool.query("INSERT INTO workflow_executions (name) VALUES (\(name)) RETURNING id").rows[0].decode(at: 0)
    }

    /// Enqueues a job by plain SQL; returns its id.
    @discardableResult
    func enqueue(
        agent: UUID, text: String = "hello", execution: UUID? = nil, step: String? = nil, priority: Int = 0,
        maxAttempts: Int = 3, runAt: String? = nil
    ) async throws -> Int64 {
        let request = "{\"messages\":[{\"role\":\"user\",\"content\":\"" + escape(text) + "\"}]}"
        return try await pool.query("""
            INSERT INTO llm_jobs (agent_id, execution_id, step, request, priority, max_attempts, run_at)
            VALUES (\(agent), \(execution), \(step), \(PostgresJSONText(request)), \(priority), \(maxAttempts),
                    coalesce(\(runAt)::timestamptz, now()))
            RETURNING id
            """).rows[0].decode(at: 0)
    }

    func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }

    /// Waits (bounded, so a broken worker fails the test instead of hanging it) until no job is
    /// queued or running, or until `done` says so.
    func waitUntil(
        seconds: Double = 60, _ what: String = "all jobs finished", _ done: @Sendable () async throws -> Bool
    ) async throws {
        try await TestSupport.waitUntil(seconds: seconds, what, done)
    }

    func waitForAllJobs(seconds: Double = 60) async throws {
        try await waitUntil(seconds: seconds) {
            try await self.count("SELECT count(*) FROM llm_jobs WHERE status IN ('queued', 'running')") == 0
        }
    }

    func count(_ sql: SQL) async throws -> Int {
        try await pool.query(sql).rows[0].decode(at: 0)
    }

    func job(_ id: Int64) async throws -> JobRow {
        let row = try await pool.query("""
            SELECT status, attempt, result::text, error::text, run_at > now() AS in_future FROM llm_jobs WHERE id = \(id)
            """).rows[0]
        return JobRow(
            status: try row.decode(at: 0), attempt: try row.decode(at: 1),
            result: try row.decode(at: 2, as: String?.self).flatMap(JSONDoc.parse),
            error: try row.decode(at: 3, as: String?.self).flatMap(JSONDoc.parse))
    }

    func stats() -> ProviderStubStats { stub.stub.stats }

    func configuration(workerID: String = "w-\(UUID().uuidString.prefix(8))", concurrency: Int = 64) -> GatewayConfiguration {
        GatewayConfiguration(
            workerID: workerID, concurrency: concurrency, batchSize: 32, leaseDuration: .seconds(30),
            pollInterval: .milliseconds(200), gracePeriod: .seconds(5), retryBaseDelay: .milliseconds(20),
            requeueBaseDelay: .milliseconds(100), cooldownThreshold: 3, cooldownDuration: .seconds(60),
            environment: Self.keyEnvironment)
    }

    /// Runs an in-process worker around `body`, then shuts it down gracefully.
    func withWorker<T: Sendable>(
        _ configuration: GatewayConfiguration? = nil, _ body: @Sendable (Worker) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "gateway-tests")
        logger.logLevel = .warning
        let worker = try Worker(configuration: configuration ?? self.configuration(), database: database, logger: logger)
        let task = Task { try await worker.run() }
        do {
            try await waitUntil(seconds: 30, "worker ready") { worker.isReady }
            let value = try await body(worker)
            worker.shutdown()
            try await task.value
            return value
        } catch {
            worker.shutdown()
            _ = await task.result
            throw error
        }
    }
}

struct JobRow: Sendable {
    var status: String
    var attempt: Int
    var result: JSONDoc?
    var error: JSONDoc?
}

/// A parsed JSON document (Foundation's parser: tests are not a hot path).
struct JSONDoc: @unchecked Sendable {
    let value: Any

    static func parse(_ text: String) -> JSONDoc? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])).map(JSONDoc.init)
    }

    subscript(_ key: String) -> JSONDoc? {
        (value as? [String: Any])?[key].map(JSONDoc.init)
    }

    subscript(_ index: Int) -> JSONDoc? {
        guard let array = value as? [Any], array.indices.contains(index) else { return nil }
        return JSONDoc(value: array[index])
    }

    var string: String? { value as? String }
    var int: Int? { (value as? NSNumber)?.intValue }
    var array: [JSONDoc] { (value as? [Any])?.map(JSONDoc.init) ?? [] }
    var isNull: Bool { value is NSNull }
    /// The exact decimal text of a number.
    var decimal: Decimal? { (value as? NSNumber).flatMap { Decimal(string: $0.stringValue) } }
}

struct ModelConfigJSON {
    var model: String
    var fallbacks: [String]
    var temperature: Double?
    var maxTokens: Int?

    var text: String {
        let chain = fallbacks.map { "\"\($0)\"" }.joined(separator: ",")
        let temperatureText = temperature.map { "\($0)" } ?? "null"
        let maxTokensText = maxTokens.map { "\($0)" } ?? "null"
        return #"{"model_id":"\#(model)","provider":null,"temperature":\#(temperatureText),"max_tokens":\#(maxTokensText),"top_p":null,"frequency_penalty":null,"presence_penalty":null,"fallback_model_ids":[\#(chain)]}"#
    }
}

enum HarnessError: Error {
    case timeout(String)
    case missing(String)
}
