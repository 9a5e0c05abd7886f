import Foundation
import Hummingbird
import JSON
import HummingbirdTesting
import Logging
import Postgres
import Storage
import Testing
import TestSupport
@testable import RegistryAPI

/// Review finding P2-9: the registry serves as the services' NOSUPERUSER role (migrations/0025,
/// `migrate --service-role`): configuration writes are audited, jobs enqueued, readiness ready.
@Suite struct ServiceRoleRegistryTests {
    @Test("The registry's writes, audit trail, jobs and readiness work as the service role")
    func registryAsServiceRole() async throws {
        try await TestDatabase.withFreshDatabase { database in
            let owner = PostgresPool(configuration: database, maxConnections: 2)
            defer { owner.shutdown() }
            let migrations = try Migration.load(from: TestDatabase.migrationsDirectory)
            _ = try await Migrator(pool: owner, migrations: migrations).migrate()
            let role = "svc_reg_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(10).lowercased()
            try await ServiceRole.ensure(name: role, password: nil, pool: owner)
            var service = database
            var components = try #require(URLComponents(string: database.connectionString))
            components.user = role
            service.connectionString = try #require(components.string)
            let pool = PostgresPool(configuration: service, maxConnections: 4)
            defer { pool.shutdown() }
            let completions = JobCompletionHub(pool: pool, logger: Logger(label: "service-role"))
            defer { completions.shutdown() }
            let router = buildRouter(
                configuration: RegistryConfiguration(migrations: migrations), pool: pool,
                logger: Logger(label: "service-role"), completions: completions)
            let app = Application(router: router, logger: Logger(label: "service-role"))
            try await app.test(.router) { client in
                func call(_ method: HTTPRequest.Method, _ uri: String, _ json: String? = nil) async throws -> (HTTPResponse.Status, String) {
                    var headers = HTTPFields()
                    headers[.contentType] = "application/json"
                    return try await client.execute(
                        uri: uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }
                    ) { ($0.status, String(buffer: $0.body)) }
                }
                #expect(try await call(.get, "/readyz").0 == .ok)
                let (created, agentBody) = try await call(.post, "/api/agents", #"{"name": "svc", "agent_type": "chat", "model_config": {"model_id": "gpt-4o"}}"#)
                #expect(created == .created, "\(agentBody)")
                let agentID = try #require(try JSONParser.parse(Array(agentBody.utf8))["id"]?.string)
                #expect(try await call(.put, "/api/agents/\(agentID)/model-config", #"{"model_id": "gpt-4.1"}"#).0 == .ok)
                #expect(try await call(.patch, "/api/providers/openai", #"{"request_timeout_seconds": 90}"#).0 == .ok)
                #expect(try await call(.post, "/api/jobs", #"{"agent_id": "\#(agentID)", "messages": [{"role": "user", "content": "hi"}]}"#).0 == .created)
                let (changes, changesBody) = try await call(.get, "/api/changes?entity=provider")
                #expect(changes == .ok && changesBody.contains("request_timeout_seconds"), "\(changesBody)")
            }
            let user = try await pool.query("SELECT current_user::text AS u").rows[0].decode("u", as: String.self)
            #expect(user == role)
            _ = try? await owner.execute(.unsafeSQL("DROP ROLE IF EXISTS \(role)"))
        }
    }
}
