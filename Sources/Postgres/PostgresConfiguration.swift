import CLibPQ
import Foundation
import Support

/// Where and how to connect: a libpq URL (`postgresql://user@host:5432/db`) or a conninfo string
/// (`host=… port=… dbname=…`); unset parts follow libpq's `PG*` environment variables.
///
/// Everything here is a default: a setting given in the connection string itself
/// (`?application_name=…&connect_timeout=…&options=-c%20statement_timeout%3D5s`) wins.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    public var connectionString: String
    public var applicationName: String
    /// Seconds libpq waits for a connection before giving up.
    public var connectTimeoutSeconds: Int
    /// A statement running longer is cancelled by the server (SQLSTATE 57014); `nil`: no limit.
    public var statementTimeout: Duration?
    /// Waiting longer for a lock fails the statement (SQLSTATE 55P03); `nil`: no limit.
    public var lockTimeout: Duration?
    /// A session idle inside an open transaction longer than this is closed by the server, so a
    /// stuck caller cannot hold row locks forever; `nil`: no limit.
    public var idleInTransactionSessionTimeout: Duration?

    public init(
        connectionString: String, applicationName: String = "switchboard", connectTimeoutSeconds: Int = 10,
        statementTimeout: Duration? = .seconds(60), lockTimeout: Duration? = .seconds(10),
        idleInTransactionSessionTimeout: Duration? = .seconds(60)
    ) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.statementTimeout = statementTimeout
        self.lockTimeout = lockTimeout
        self.idleInTransactionSessionTimeout = idleInTransactionSessionTimeout
    }

    /// Reads `DATABASE_URL` from the environment.
    public static func fromEnvironment(
        _ environment: [String: String], applicationName: String = "switchboard"
    ) throws -> PostgresConfiguration {
        guard let url = environment["DATABASE_URL"], !url.isEmpty else {
            throw PostgresError(kind: .connection, message: "DATABASE_URL is not set (e.g. postgresql://user@127.0.0.1:5432/switchboard)")
        }
        return PostgresConfiguration(connectionString: url, applicationName: applicationName)
    }

    /// The connection string's own settings; `nil` when it does not parse.
    func parsedOptions() -> [String: String]? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            // libpq's parse message may quote the string (and so the password): never used.
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return values
    }

    /// Whether libpq reads the string as a URL or `key=value` list (rather than a bare database name).
    var isConnectionString: Bool {
        connectionString.contains("=") || connectionString.hasPrefix("postgres://") || connectionString.hasPrefix("postgresql://")
    }

    /// Host, port, database and user as libpq will use them; the password is never part of this.
    public var target: (host: String, port: String, database: String, user: String) {
        let options = parsedOptions() ?? [:]
        var host = options["host"] ?? options["hostaddr"] ?? "localhost"
        // An unencoded `@` in a URL's password makes libpq read the password's tail as part of
        // the host (`…:s3cret@pw@127.0.0.1` → host `pw@127.0.0.1`): never show what precedes it.
        if let at = host.lastIndex(of: "@") { host = "***@" + host[host.index(after: at)...] }
        let user = options["user"] ?? ""
        let database = options["dbname"] ?? ""
        return (host, options["port"] ?? "5432", database.isEmpty ? user : database, user)
    }

    /// The password in the connection string, if any: only used to scrub it from messages.
    var password: String? { parsedOptions()?["password"] }

    /// Safe to log: host, port, database and user, never the password.
    public var description: String {
        let target = target
        return "postgresql://\(target.user)@\(target.host):\(target.port)/\(target.database)"
    }

    /// Server settings sent at connect time (`options=-c …`), so no extra round trip is needed.
    /// The string's own `options` (or `PGOPTIONS`) come after ours: PostgreSQL applies them in
    /// order, so anything they set wins.
    func startupOptions(given: String?) -> String {
        var settings = ["-c TimeZone=UTC", "-c DateStyle=ISO,YMD"]
        if let statementTimeout { settings.append("-c statement_timeout=\(statementTimeout.timeoutMilliseconds)") }
        if let lockTimeout { settings.append("-c lock_timeout=\(lockTimeout.timeoutMilliseconds)") }
        if let idleInTransactionSessionTimeout {
            settings.append("-c idle_in_transaction_session_timeout=\(idleInTransactionSessionTimeout.timeoutMilliseconds)")
        }
        if let given, !given.isEmpty { settings.append(given) }
        return settings.joined(separator: " ")
    }
}
