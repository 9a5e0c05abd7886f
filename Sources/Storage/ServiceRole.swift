import Foundation
import Postgres

/// The login role `model-registry serve` and `llm-gateway run` connect as, made by
/// `model-registry migrate --service-role NAME` (review finding P2-9): LOGIN, NOSUPERUSER,
/// NOCREATEDB, NOCREATEROLE, NOREPLICATION, NOBYPASSRLS, a member of the group role
/// `switchboard_service` that migrations/0025 grants DML on the tables and no more (config_changes
/// can only be read and appended to). Run by the schema owner (the migrating role), after the
/// migrations; idempotent (an existing role is updated, its password replaced when one is given).
public enum ServiceRole {
    /// The group role of migrations/0025.
    public static let groupRole = "switchboard_service"
    /// Where `migrate --service-role` reads the login role's password (unset: no password is set,
    /// for trust, peer or certificate authentication).
    public static let passwordVariable = "SWITCHBOARD_SERVICE_DB_PASSWORD"

    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public var message: String
        public var description: String { message }
    }

    /// Creates or updates `name`. Refuses the migrating role itself and an existing superuser
    /// (demoting either would lock the operator out), and a name that is not a plain identifier.
    public static func ensure(name: String, password: String?, pool: PostgresPool) async throws {
        guard isIdentifier(name) else {
            throw Refusal(message: "--service-role '\(name.prefix(64))' must be a lowercase identifier (letters, digits, _; at most 63)")
        }
        try await pool.withConnection { connection in
            let state = try await connection.query("""
                SELECT current_user::text AS me,
                       (SELECT rolsuper FROM pg_roles WHERE rolname = \(name)) AS existing_super,
                       EXISTS (SELECT 1 FROM pg_roles WHERE rolname = \(groupRole)) AS has_group
                """).rows[0]
            if try state.decode("me", as: String.self) == name {
                throw Refusal(message: "--service-role \(name) is the role running the migration (the schema owner); name another role")
            }
            if try state.decode("existing_super", as: Bool?.self) == true {
                throw Refusal(message: "--service-role \(name) is a superuser; refusing to use (or demote) it as the services' role")
            }
            guard try state.decode("has_group", as: Bool.self) else {
                throw Refusal(message: "role \(groupRole) does not exist: migrations/0025 creates it when the migrating role may create roles")
            }
            // Identifiers and the password are quoted by the server (format %I / %L), never by us.
            let exists = try state.decode("existing_super", as: Bool?.self) != nil
            if !exists {
                try await run(connection, "SELECT format('CREATE ROLE %I', \(name)::text) AS statement")
            }
            try await run(connection, """
                SELECT format('ALTER ROLE %I WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', \(name)::text) AS statement
                """)
            if let password, !password.isEmpty {
                try await run(connection, "SELECT format('ALTER ROLE %I WITH PASSWORD %L', \(name)::text, \(password)::text) AS statement")
            }
            try await run(connection, "SELECT format('GRANT %I TO %I', \(groupRole)::text, \(name)::text) AS statement")
        }
    }

    /// Builds a statement with the server's quoting and runs it.
    private static func run(_ connection: PostgresConnection, _ build: SQL) async throws {
        let statement = try await connection.query(build).rows[0].decode("statement", as: String.self)
        _ = try await connection.query(.unsafeSQL(statement))
    }

    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.utf8.count <= 63,
              ("a"..."z").contains(first) || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }
    }
}
