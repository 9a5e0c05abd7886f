import Catalog
import Foundation
import Postgres

/// `llm_providers`: endpoints, wire style, the NAME of each credentials variable, timeouts.
/// No secret is stored here (the column CHECK rejects anything but a variable name).
public struct ProviderRepository: Sendable {
    public let pool: PostgresPool

    public init(pool: PostgresPool) {
        self.pool = pool
    }

    static let columns: SQL = """
        name, api_style, base_url, api_key_env, enabled, connect_timeout_seconds, request_timeout_seconds
        """

    public func all() async throws -> [Provider] {
        try await pool.query("SELECT \(Self.columns) FROM llm_providers ORDER BY name").rows.map(Self.provider(from:))
    }

    public func find(_ name: String) async throws -> Provider? {
        try await pool.query("SELECT \(Self.columns) FROM llm_providers WHERE name = \(name)").rows.first.map(Self.provider(from:))
    }

    /// Every provider, read on the caller's connection (inside its transaction).
    public func all(on connection: PostgresConnection) async throws -> [Provider] {
        try await connection.query("SELECT \(Self.columns) FROM llm_providers ORDER BY name").rows.map(Self.provider(from:))
    }

    /// Throws a unique violation when the name is taken.
    public func create(_ provider: Provider, actor: ChangeActor? = nil) async throws -> Provider {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            return try await insert(provider, on: connection)
        }
    }

    private func insert(_ provider: Provider, on connection: PostgresConnection) async throws -> Provider {
        let rows = try await connection.query("""
            INSERT INTO llm_providers (\(Self.columns))
            VALUES (\(provider.name), \(provider.apiStyle.rawValue), \(provider.baseURL), \(provider.apiKeyEnv),
                    \(provider.enabled), \(provider.connectTimeoutSeconds), \(provider.requestTimeoutSeconds))
            RETURNING \(Self.columns)
            """).rows
        guard let row = rows.first else { throw PostgresError(kind: .decoding, message: "INSERT … RETURNING returned no row") }
        return try Self.provider(from: row)
    }

    /// Read-modify-write of one provider under a row lock (`FOR UPDATE`), so concurrent PATCHes
    /// cannot lose each other's fields. `change` sees the current row and returns the new one (it may
    /// throw to roll back). Writes the editable settings (everything but the name). nil when the
    /// provider does not exist.
    public func update(
        _ name: String, actor: ChangeActor? = nil, _ change: (Provider) async throws -> Provider
    ) async throws -> (before: Provider, after: Provider)? {
        try await pool.withTransaction { connection in
            try await connection.announce(actor)
            guard let row = try await connection.query(
                "SELECT \(Self.columns) FROM llm_providers WHERE name = \(name) FOR UPDATE").rows.first
            else { return nil }
            let before = try Self.provider(from: row)
            var provider = try await change(before)
            provider.name = before.name
            guard let after = try await write(provider, on: connection) else { return nil }
            return (before, after)
        }
    }

    private func write(_ provider: Provider, on connection: PostgresConnection) async throws -> Provider? {
        try await connection.query("""
            UPDATE llm_providers
               SET api_style = \(provider.apiStyle.rawValue), base_url = \(provider.baseURL),
                   api_key_env = \(provider.apiKeyEnv), enabled = \(provider.enabled),
                   connect_timeout_seconds = \(provider.connectTimeoutSeconds),
                   request_timeout_seconds = \(provider.requestTimeoutSeconds), updated_at = now()
             WHERE name = \(provider.name)
            RETURNING \(Self.columns)
            """).rows.first.map(Self.provider(from:))
    }

    /// Number of catalog models per provider (providers without models are absent).
    public func modelCounts() async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for row in try await pool.query("SELECT provider, count(*) AS models FROM llm_models GROUP BY provider").rows {
            counts[try row.decode("provider")] = try row.decode("models", as: Int.self)
        }
        return counts
    }

    static func provider(from row: PostgresRow) throws -> Provider {
        let style = try row.decode("api_style", as: String.self)
        guard let apiStyle = APIStyle(rawValue: style) else {
            throw PostgresError(kind: .decoding, message: "llm_providers.api_style '\(style)' is not a known style")
        }
        return Provider(
            name: try row.decode("name"),
            apiStyle: apiStyle,
            baseURL: try row.decode("base_url"),
            apiKeyEnv: try row.decode("api_key_env"),
            enabled: try row.decode("enabled"),
            connectTimeoutSeconds: try row.decode("connect_timeout_seconds"),
            requestTimeoutSeconds: try row.decode("request_timeout_seconds")
        )
    }
}
