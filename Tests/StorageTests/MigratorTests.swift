import Foundation
import Postgres
import Storage
import Testing
import TestSupport

@Suite struct MigratorTests {
    let migrations: [Migration]

    init() throws {
        migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
    }

    @Test func freshDatabaseGetsEveryMigrationThenNothing() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { pool.shutdown() }
            let migrator = Migrator(pool: pool, migrations: migrations)
            #expect(try await migrator.status().pending == migrations.map(\.version))

            let applied = try await migrator.migrate()
            #expect(applied == migrations.map(\.version))
            let status = try await migrator.status()
            #expect(status.applied == migrations.map(\.version))
            #expect(status.pending.isEmpty)

            let second = try await migrator.migrate()
            #expect(second.isEmpty)
            let recorded = try await pool.query("SELECT count(*) AS n FROM schema_migrations").rows[0].decode("n", as: Int.self)
            #expect(recorded == migrations.count)

            for table in ["agents", "llm_providers", "llm_models", "workflow_executions", "llm_jobs", "model_usage", "usage_daily"] {
                let exists = try await pool.query("SELECT to_regclass(\(table)) IS NOT NULL AS present").rows[0].decode("present", as: Bool.self)
                #expect(exists, "\(table) should exist")
            }
        }
    }

    @Test func fiveConcurrentMigratorsApplyEachFileOnce() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let appliedByEach = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<5 {
                    group.addTask {
                        let pool = PostgresPool(configuration: configuration, maxConnections: 1)
                        defer { pool.shutdown() }
                        return try await Migrator(pool: pool, migrations: migrations).migrate()
                    }
                }
                var all: [[String]] = []
                for try await applied in group { all.append(applied) }
                return all
            }
            // Exactly one migrator applied everything; the others found nothing to do.
            #expect(appliedByEach.flatMap { $0 }.sorted() == migrations.map(\.version))
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let providers = try await pool.query("SELECT count(*) AS n FROM llm_providers").rows[0].decode("n", as: Int.self)
            #expect(providers == 3)
        }
    }

    @Test func fiveConcurrentMigrateProcessesApplyEachFileOnce() async throws {
        let executable = TestDatabase.repositoryRoot.appendingPathComponent(".build/debug/model-registry")
        try #require(FileManager.default.isExecutableFile(atPath: executable.path), "build model-registry first")
        try await TestDatabase.withFreshDatabase { configuration in
            let processes = try (0..<5).map { _ in
                let process = Process()
                process.executableURL = executable
                process.arguments = ["migrate", "--migrations-dir", TestDatabase.migrationsDirectory.path]
                process.environment = ["DATABASE_URL": configuration.connectionString, "PATH": "/usr/bin:/bin"]
                process.standardOutput = FileHandle.nullDevice
                try process.run()
                return process
            }
            for process in processes { process.waitUntilExit() }
            #expect(processes.allSatisfy { $0.terminationStatus == 0 })
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let recorded = try await pool.query("SELECT count(*) AS n, count(DISTINCT version) AS d FROM schema_migrations").rows[0]
            #expect(try recorded.decode("n", as: Int.self) == migrations.count)
            #expect(try recorded.decode("d", as: Int.self) == migrations.count)
        }
    }

    @Test func editedAppliedMigrationIsRefused() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            try await Migrator(pool: pool, migrations: migrations).migrate()

            var edited = migrations
            edited[0].sql += "\n-- a harmless-looking edit\n"
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(pool: pool, migrations: edited).migrate()
            }
            let message = error.map { "\($0)" } ?? ""
            #expect(message.contains(migrations[0].version))
            #expect(message.contains("changed after it was applied"))
            await #expect(throws: MigrationError.self) { try await Migrator(pool: pool, migrations: edited).status() }
        }
    }

    @Test func failingMigrationRollsBackAndIsNotRecorded() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let broken = [
                Migration(version: "0001_ok", sql: "CREATE TABLE kept (id int);"),
                Migration(version: "0002_broken", sql: "CREATE TABLE half (id int); SELECT no_such_function();"),
            ]
            let error = await #expect(throws: MigrationError.self) { try await Migrator(pool: pool, migrations: broken).migrate() }
            #expect("\(error.map { "\($0)" } ?? "")".contains("0002_broken"))
            let half = try await pool.query("SELECT to_regclass('half') IS NULL AS gone").rows[0].decode("gone", as: Bool.self)
            #expect(half)
            let versions = try await pool.query("SELECT version FROM schema_migrations").rows.map { try $0.decode("version", as: String.self) }
            #expect(versions == ["0001_ok"])
        }
    }

    @Test func legacyAgentsAreBackfilled() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            let migrator = Migrator(pool: pool, migrations: migrations)
            try await migrator.migrate(upTo: "0001_agents")
            try await pool.execute("""
                INSERT INTO agents (name, agent_type, preferred_model, temperature, max_tokens) VALUES
                    ('writer', 'content', 'claude-3-sonnet-20240229', 0.5, 2000),
                    ('analyst', 'analysis', 'gpt-4', 0.2, NULL),
                    ('helper', 'support', NULL, NULL, NULL)
                """)
            try await migrator.migrate()

            struct Config: Codable, Sendable {
                var model_id: String
                var provider: String
                var temperature: Double
                var max_tokens: Int?
                var fallback_model_ids: [String]
            }
            let rows = try await pool.query("SELECT name, model_config FROM agents ORDER BY name").rows
            let configs = try Dictionary(uniqueKeysWithValues: rows.map {
                (try $0.decode("name", as: String.self), try $0.decodeJSON("model_config", as: Config.self))
            })
            #expect(configs["writer"]?.model_id == "claude-3-sonnet-20240229")
            #expect(configs["writer"]?.provider == "anthropic")
            #expect(configs["writer"]?.temperature == 0.5)
            #expect(configs["writer"]?.max_tokens == 2000)
            #expect(configs["analyst"]?.model_id == "gpt-4")
            #expect(configs["analyst"]?.provider == "openai")
            #expect(configs["analyst"]?.max_tokens == nil)
            #expect(configs["helper"]?.model_id == "gpt-4o-mini")
            #expect(configs["helper"]?.provider == "openai")
            #expect(configs["helper"]?.fallback_model_ids == [])
        }
    }

    @Test func seedCatalogMatchesTheLiteLLMMap() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { pool.shutdown() }
            try await Migrator(pool: pool, migrations: migrations).migrate()

            let providers = try await pool.query("SELECT name, api_key_env, base_url FROM llm_providers ORDER BY name").rows
            #expect(try providers.map { try $0.decode("name", as: String.self) } == ["anthropic", "huggingface", "openai"])
            #expect(try providers.map { try $0.decode("api_key_env", as: String.self) } == ["ANTHROPIC_API_KEY", "HF_TOKEN", "OPENAI_API_KEY"])

            let litellm = try JSONSerialization.jsonObject(with: Data(contentsOf: TestDatabase.sharedDataDirectory
                .appendingPathComponent("litellm/model_prices_and_context_window.json"))) as? [String: Any]
            let entry = try #require(litellm?["gpt-4o"] as? [String: Any])
            let gpt4o = try await pool.query("SELECT * FROM llm_models WHERE model_id = \("gpt-4o")").rows[0]
            // Per-token prices × 1000, exactly (2.5e-06 → 0.0025).
            let inputPerToken = try #require(entry["input_cost_per_token"] as? NSNumber)
            let expectedInput = try #require(Decimal(string: "\(inputPerToken.doubleValue)")) * 1000
            #expect(try gpt4o.decode("input_cost_per_1k", as: Decimal.self) == expectedInput)
            #expect(try gpt4o.decode("input_cost_per_1k", as: Decimal.self) == Decimal(string: "0.0025"))
            #expect(try gpt4o.decode("output_cost_per_1k", as: Decimal.self) == Decimal(string: "0.01"))
            #expect(try gpt4o.decode("context_window", as: Int.self) == (entry["max_input_tokens"] as? Int))
            #expect(try gpt4o.decode("max_output_tokens", as: Int.self) == (entry["max_output_tokens"] as? Int))
            #expect(try gpt4o.decode("supports_vision", as: Bool.self))

            // The stored status is what the seed's source said, never derived from the day the
            // migration ran: every dated row is stored active (it reads as deprecated once its
            // date has passed, judged when read; see LifecycleStatusTests).
            let dated = try await pool.query("""
                SELECT model_id, status FROM llm_models WHERE deprecation_date IS NOT NULL ORDER BY model_id
                """).rows
            #expect(dated.count > 10)
            for row in dated {
                let modelID = try row.decode("model_id", as: String.self)
                #expect(try row.decode("status", as: String.self) == "active", "\(modelID): no date-derived status is stored")
            }
            let legacy = try await pool.query("""
                SELECT model_id, status, successor_model_id FROM llm_models
                WHERE model_id IN ('gpt-4', 'gpt-3.5-turbo', 'claude-3-opus-20240229', 'claude-3-haiku-20240307') ORDER BY model_id
                """).rows
            #expect(legacy.count == 4)
            let opus = try #require(legacy.first { try $0.decode("model_id", as: String.self) == "claude-3-opus-20240229" })
            #expect(try opus.decode("status", as: String.self) == "retired")
            #expect(try opus.decode("successor_model_id", as: String?.self) == "claude-opus-4-5")
            // HuggingFace models have unknown prices: NULL, never 0.
            let llama = try await pool.query("SELECT input_cost_per_1k FROM llm_models WHERE model_id = \("meta-llama/Llama-3.1-8B-Instruct")").rows
            #expect(llama.count == 1)
            #expect(try llama.first?.decode("input_cost_per_1k", as: Decimal?.self) == nil)
        }
    }
}
