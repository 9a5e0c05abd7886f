import ArgumentParser
import Catalog
import Foundation
import Logging
import Postgres
import Storage

/// `model-registry tenants …`: the teams that own agents, keys, jobs and executions.
struct TenantsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tenants", abstract: "Create and list tenants.",
        subcommands: [Create.self, List.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a tenant; prints its id on stdout.",
            discussion: "Example: model-registry tenants create team-a")

        @Argument(help: "Lower-case letters, digits, '.', '_' and '-' (1–63 characters).")
        var name: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            if let problem = TenantRecord.nameProblem(name) { throw ValidationError("tenant name \(problem)") }
            try await withPool(database) { pool in
                guard let tenant = try await TenantRepository(pool: pool).create(name: name, actor: .cli) else {
                    throw ValidationError("tenant '\(name)' already exists")
                }
                print(tenant.id.uuidString.lowercased())
                FileHandle.standardError.write(Data("created tenant \(tenant.name)\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants (id and name).")

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await withPool(database) { pool in
                for tenant in try await TenantRepository(pool: pool).list(.all) {
                    print("\(tenant.id.uuidString.lowercased())  \(tenant.name)")
                }
            }
        }
    }
}

/// `model-registry keys …`: API keys. `create` prints the key alone on stdout, so
/// `KEY=$(model-registry keys create --tenant team-a --role inference)` works.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Create, list and revoke API keys.",
        subcommands: [Create.self, List.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a key: the key alone on stdout (shown this once), its details on stderr.",
            discussion: "Example: KEY=$(model-registry keys create --tenant team-a --role inference --name ci --expires 30d)")

        @Option(help: "The key's tenant, by name (default: default).")
        var tenant = TenantRecord.defaultName

        @Option(help: "admin, operator, inference or viewer.")
        var role: String

        @Option(help: "A name to tell the key apart.")
        var name = ""

        @Option(help: "Only these agents (comma-separated ids).")
        var agents: String?

        @Option(help: "Only these catalog models in direct /v1 calls (comma-separated).")
        var models: String?

        @Option(help: "When the key stops working: 30d, 12h, or an ISO 8601 date-time.")
        var expires: String?

        @Flag(help: "viewer keys: may read prompts and answers too.")
        var readBodies = false

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let role = APIKeyRole(rawValue: role) else {
                throw ValidationError("--role must be one of \(APIKeyRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let expiry = try expires.map { try Self.expiry($0, now: Date()) }
            let agentIDs = try agents.map { list in
                try list.split(separator: ",").map { text -> UUID in
                    guard let id = UUID(uuidString: text.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--agents: '\(text)' is not an agent id")
                    }
                    return id
                }
            }
            let modelIDs = models.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
            try await withPool(database) { pool in
                guard let owner = try await TenantRepository(pool: pool).find(named: tenant) else {
                    throw ValidationError("no tenant named '\(tenant)' (model-registry tenants create \(tenant))")
                }
                if let agentIDs {
                    let found = Set(try await AgentRepository(pool: pool).page(.init(limit: 10_000, scope: .tenant(owner.id))).agents.map(\.id))
                    if let stranger = agentIDs.first(where: { !found.contains($0) }) {
                        throw ValidationError("--agents: \(stranger.uuidString.lowercased()) is not an agent of tenant \(tenant)")
                    }
                }
                let (record, secret) = try await APIKeyRepository(pool: pool).create(
                    .init(
                        tenantID: owner.id, role: role, name: name, readBodies: readBodies, allowedAgents: agentIDs,
                        allowedModels: modelIDs, expiresAt: expiry),
                    actor: .cli)
                print(secret)
                FileHandle.standardError.write(Data(
                    "created \(role.rawValue) key \(record.prefix)… (id \(record.id.uuidString.lowercased())) for tenant \(tenant)\(expiry.map { ", expires \(Timestamp.string(from: $0))" } ?? ""); it is shown only this once\n".utf8))
            }
        }

        /// `30d`, `12h`, `45m`, or an ISO 8601 date-time; must lie in the future.
        static func expiry(_ text: String, now: Date) throws -> Date {
            let units: [Character: Double] = ["d": 86_400, "h": 3_600, "m": 60]
            if let unit = text.last, let seconds = units[unit], let count = Double(text.dropLast()), count > 0 {
                return now.addingTimeInterval(count * seconds)
            }
            guard let date = Timestamp.date(from: text) else {
                throw ValidationError("--expires must be like 30d, 12h, 45m or an ISO 8601 date-time, not '\(text)'")
            }
            guard date > now else { throw ValidationError("--expires \(text) is in the past") }
            return date
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never the keys themselves).")

        @Option(help: "Only this tenant's keys (by name).")
        var tenant: String?

        @Flag(help: "Also list revoked keys.")
        var includeRevoked = false

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await withPool(database) { pool in
                let tenants = try await TenantRepository(pool: pool).list(.all)
                var scope = TenantScope.all
                if let tenant {
                    guard let found = tenants.first(where: { $0.name == tenant }) else { throw ValidationError("no tenant named '\(tenant)'") }
                    scope = .tenant(found.id)
                }
                let names = Dictionary(uniqueKeysWithValues: tenants.map { ($0.id, $0.name) })
                for key in try await APIKeyRepository(pool: pool).list(scope, includeRevoked: includeRevoked) {
                    let state = key.revokedAt != nil ? "revoked" : (key.isUsable(at: Date()) ? "active" : "expired")
                    print([key.id.uuidString.lowercased(), key.prefix, key.role.rawValue, names[key.tenantID] ?? "?", state, key.name]
                        .joined(separator: "  "))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key (refused by every registry within a second).")

        @Argument(help: "The key's id.")
        var id: String

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let uuid = UUID(uuidString: id) else { throw ValidationError("'\(id)' is not a key id") }
            try await withPool(database) { pool in
                guard let key = try await APIKeyRepository(pool: pool).revoke(uuid, actor: .cli) else {
                    throw ValidationError("no key with id \(id)")
                }
                FileHandle.standardError.write(Data("revoked key \(key.prefix)…\n".utf8))
            }
        }
    }
}

/// One connection for a command's few statements, closed after.
func withPool(_ database: DatabaseOptions, _ body: (PostgresPool) async throws -> Void) async throws {
    var logger = Logger(label: "model-registry")
    logger.logLevel = .warning
    let pool = PostgresPool(configuration: try database.configuration(), maxConnections: 1, logger: logger)
    defer { pool.shutdown() }
    try await body(pool)
}
