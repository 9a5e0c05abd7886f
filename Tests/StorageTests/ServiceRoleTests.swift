import Foundation
import Postgres
import Storage
import Testing
import TestSupport

/// Review finding P2-9: the services' database role (migrations/0025 and `migrate --service-role`)
/// is no superuser, has DML on the tables, keeps up the usage partitions through the definer
/// functions, and cannot rewrite the audit trail.
@Suite struct ServiceRoleTests {
    /// `configuration` logging in as `user` instead (the test cluster trusts local connections).
    static func connecting(_ configuration: PostgresConfiguration, as user: String) throws -> PostgresConfiguration {
        var copy = configuration
        var components = try #require(URLComponents(string: configuration.connectionString))
        components.user = user
        copy.connectionString = try #require(components.string)
        return copy
    }

    static func sqlState(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch let error as PostgresError {
            return error.sqlState ?? "?"
        } catch {
            return "\(error)"
        }
    }

    @Test("The service role writes the tables, appends to config_changes and cannot UPDATE, DELETE or TRUNCATE it")
    func serviceRoleCannotRewriteTheAuditTrail() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let owner = PostgresPool(configuration: configuration, maxConnections: 2)
            defer { owner.shutdown() }
            _ = try await Migrator(pool: owner, migrations: try Migration.load(from: TestDatabase.migrationsDirectory)).migrate()
            let role = "svc_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
            try await ServiceRole.ensure(name: role, password: "not-used-with-trust", pool: owner)
            // Idempotent: a second run (every `migrate` in compose) only updates it.
            try await ServiceRole.ensure(name: role, password: nil, pool: owner)
            defer { Task { _ = try? await owner.execute(.unsafeSQL("DROP ROLE IF EXISTS \(role)")) } }

            let flags = try await owner.query("""
                SELECT rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, pg_has_role(rolname, 'switchboard_service', 'MEMBER') AS member
                  FROM pg_roles WHERE rolname = \(role)
                """).rows[0]
            #expect(try flags.decode("rolsuper", as: Bool.self) == false)
            #expect(try flags.decode("rolcreaterole", as: Bool.self) == false)
            #expect(try flags.decode("rolcreatedb", as: Bool.self) == false)
            #expect(try flags.decode("rolcanlogin", as: Bool.self) == true)
            #expect(try flags.decode("member", as: Bool.self) == true)

            let service = PostgresPool(configuration: try Self.connecting(configuration, as: role), maxConnections: 1)
            defer { service.shutdown() }
            #expect(try await service.query("SELECT current_user::text AS u").rows[0].decode("u", as: String.self) == role)
            // DML works, and the audit trigger appends as the service role.
            #expect(try await service.execute("UPDATE llm_providers SET request_timeout_seconds = 99 WHERE name = 'openai'") == 1)
            let audited = try await service.query(
                "SELECT count(*) AS n FROM config_changes WHERE entity = 'provider' AND entity_id = 'openai'").rows[0].decode("n", as: Int.self)
            #expect(audited >= 1)
            // The trail cannot be rewritten or emptied.
            #expect(await Self.sqlState { _ = try await service.execute("UPDATE config_changes SET token_kind = 'forged'") } == "42501")
            #expect(await Self.sqlState { _ = try await service.execute("DELETE FROM config_changes") } == "42501")
            #expect(await Self.sqlState { _ = try await service.execute("TRUNCATE config_changes") } == "42501")
            #expect(await Self.sqlState { _ = try await service.execute("DELETE FROM schema_migrations") } == "42501")
            // No DDL, no superuser powers.
            #expect(await Self.sqlState { _ = try await service.execute("CREATE TABLE sneaky (id int)") } == "42501")
            #expect(await Self.sqlState { _ = try await service.execute("DROP TABLE llm_jobs") } == "42501")
            #expect(await Self.sqlState { _ = try await service.query("COPY (SELECT 1) TO PROGRAM 'true'") } == "42501")
            // The gateway's partition upkeep still works, through the definer functions only.
            _ = try await service.query("SELECT model_usage_ensure_partitions(9)")
            let dayAfter = try await service.query("""
                SELECT 'model_usage_' || to_char((now() AT TIME ZONE 'UTC')::date + 9, 'YYYYMMDD') AS name
                """).rows[0].decode("name", as: String.self)
            #expect(try await service.query("SELECT model_usage_drop_partition(\(dayAfter)) AS dropped").rows[0].decode("dropped", as: Bool.self))
            #expect(await Self.sqlState { _ = try await service.query("SELECT model_usage_drop_partition('llm_jobs')") } == "22023")
            // The owner still can (retention of the trail stays an operator's decision).
            #expect(try await owner.execute("DELETE FROM config_changes WHERE token_kind = 'nobody'") == 0)
        }
    }

    @Test("migrate --service-role refuses the migrating role itself and any superuser")
    func refusesTheOwnerAndSuperusers() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let owner = PostgresPool(configuration: configuration, maxConnections: 1)
            defer { owner.shutdown() }
            _ = try await Migrator(pool: owner, migrations: try Migration.load(from: TestDatabase.migrationsDirectory)).migrate()
            let me = try await owner.query("SELECT current_user::text AS u").rows[0].decode("u", as: String.self)
            await #expect(throws: ServiceRole.Refusal.self) { try await ServiceRole.ensure(name: me, password: nil, pool: owner) }
            await #expect(throws: ServiceRole.Refusal.self) { try await ServiceRole.ensure(name: "Bad-Name", password: nil, pool: owner) }
            let flags = try await owner.query("SELECT rolsuper FROM pg_roles WHERE rolname = \(me)").rows[0]
            #expect(try flags.decode("rolsuper", as: Bool.self), "the owner was not demoted")
        }
    }
}
