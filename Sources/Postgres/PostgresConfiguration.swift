import CLibPQ

/// Where and how to connect: a libpq URL (`postgresql://user@host:5432/db`) or a conninfo string
/// (`host=… port=… dbname=…`); unset parts follow libpq's `PG*` environment variables.
public struct PostgresConfiguration: Sendable, CustomStringConvertible {
    public var connectionString: String
    public var applicationName: String
    /// Seconds libpq waits for a connection before giving up.
    public var connectTimeoutSeconds: Int

    public init(connectionString: String, applicationName: String = "switchboard", connectTimeoutSeconds: Int = 10) {
        self.connectionString = connectionString
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
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

    /// Host, port, database and user as libpq will use them; the password is never part of this.
    public var target: (host: String, port: String, database: String, user: String) {
        var host = "localhost", port = "5432", database = "", user = ""
        var errorMessage: UnsafeMutablePointer<CChar>?
        if let options = PQconninfoParse(connectionString, &errorMessage) {
            defer { PQconninfoFree(options) }
            var option = options
            while let keyword = option.pointee.keyword {
                if let value = option.pointee.val {
                    switch String(cString: keyword) {
                    case "host", "hostaddr": host = String(cString: value)
                    case "port": port = String(cString: value)
                    case "dbname": database = String(cString: value)
                    case "user": user = String(cString: value)
                    default: break
                    }
                }
                option += 1
            }
        }
        if let errorMessage { PQfreemem(errorMessage) }
        return (host, port, database.isEmpty ? user : database, user)
    }

    /// The password in the connection string, if any: only used to scrub it from messages.
    var password: String? {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(connectionString, &errorMessage) else {
            if let errorMessage { PQfreemem(errorMessage) }
            return nil
        }
        defer { PQconninfoFree(options) }
        var option = options
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "password", let value = option.pointee.val { return String(cString: value) }
            option += 1
        }
        return nil
    }

    /// Safe to log: host, port, database and user, never the password.
    public var description: String {
        let target = target
        return "postgresql://\(target.user)@\(target.host):\(target.port)/\(target.database)"
    }
}
