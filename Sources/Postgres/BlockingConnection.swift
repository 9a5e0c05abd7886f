import CLibPQ
import Foundation

/// Owns one libpq connection and makes blocking calls on it. Confined to one `ConnectionThread`
/// (hence `@unchecked Sendable`): it is only ever touched from the thread that runs its jobs.
final class BlockingConnection: @unchecked Sendable {
    let handle: OpaquePointer
    let configuration: PostgresConfiguration

    init(configuration: PostgresConfiguration) throws {
        self.configuration = configuration
        // TCP keepalives notice a silently dead server (a half-open connection) within about a
        // minute instead of the kernel's two hours; the listener depends on it.
        let keywords = ["dbname", "application_name", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count"]
        let values = [configuration.connectionString, configuration.applicationName, String(configuration.connectTimeoutSeconds), "1", "30", "10", "3"]
        // expand_dbname = 1: `dbname` may be a whole URL or conninfo string; later keywords are
        // defaults that the string's own settings override.
        let connection = withCStringArray(keywords) { keywordPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keywordPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connection, message: "could not allocate a libpq connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let reason = Self.scrub(String(cString: PQerrorMessage(connection)), configuration)
            PQfinish(connection)
            let target = configuration.target
            throw PostgresError(
                kind: .connection,
                message: "could not connect to PostgreSQL at \(target.host):\(target.port) (database '\(target.database)', user '\(target.user)'): \(reason)"
            )
        }
        handle = connection
        // libpq prints notices and FATAL messages to stderr by default; errors reach callers as
        // PostgresError, and notices ("… already exists, skipping") are not worth a log line.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        // Timestamps come back in UTC and ISO style whatever the server's defaults are.
        _ = try? execute(.unsafeSQL("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'"))
    }

    deinit { PQfinish(handle) }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }
    var isIdleOutsideTransaction: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }
    var isInFailedTransaction: Bool { PQtransactionStatus(handle) == PQTRANS_INERROR }

    /// Whether the server is still there. An idle connection outside LISTEN gets nothing unasked
    /// but a farewell: a terminated or restarted backend leaves its FATAL message or EOF on the
    /// socket, which a zero-timeout poll finds without a round trip. So any pending input means
    /// the session should be replaced.
    func checkAlive() -> Bool {
        guard !isBroken else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// Runs one statement. Without binds it goes through the simple protocol, so a script of
    /// several statements (a migration file) runs as one call.
    func execute(_ sql: SQL) throws -> PostgresQueryResult {
        let result: OpaquePointer?
        if sql.binds.isEmpty {
            result = PQexec(handle, sql.text)
        } else {
            let types = sql.binds.map { Oid($0.type.rawValue) }
            let texts = sql.binds.map(\.text)
            result = withOptionalCStringArray(texts) { valuePointers in
                PQexecParams(handle, sql.text, Int32(types.count), types, valuePointers, nil, nil, 0)
            }
        }
        guard let result else {
            throw connectionError()
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.read(result)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            if isBroken, PQresultErrorField(result, diagnostic("C")) == nil { throw connectionError() }
            throw serverError(result)
        default:
            throw PostgresError(kind: .server, message: "unexpected result status \(String(cString: PQresStatus(PQresultStatus(result))))")
        }
    }

    private static func read(_ result: OpaquePointer) -> PostgresQueryResult {
        let rowCount = Int(PQntuples(result))
        let columnCount = Int(PQnfields(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var values: [[String?]] = []
        values.reserveCapacity(rowCount)
        for row in 0..<Int32(rowCount) {
            var rowValues: [String?] = []
            rowValues.reserveCapacity(columnCount)
            for column in 0..<Int32(columnCount) {
                if PQgetisnull(result, row, column) == 1 {
                    rowValues.append(nil)
                } else {
                    rowValues.append(String(cString: PQgetvalue(result, row, column)))
                }
            }
            values.append(rowValues)
        }
        let affected = Int(String(cString: PQcmdTuples(result))) ?? rowCount
        return PostgresQueryResult(columns: columns, values: values, affectedRows: affected)
    }

    private func serverError(_ result: OpaquePointer) -> PostgresError {
        func field(_ code: Character) -> String? {
            PQresultErrorField(result, diagnostic(code)).map { String(cString: $0) }
        }
        let sqlState = field("C")
        let isConnectionLoss = isBroken || sqlState?.hasPrefix("57P") == true || sqlState?.hasPrefix("08") == true
        return PostgresError(
            kind: isConnectionLoss ? .connectionLost : .server,
            sqlState: sqlState,
            message: field("M") ?? String(cString: PQresultErrorMessage(result)).trimmingCharacters(in: .whitespacesAndNewlines),
            detail: field("D"), hint: field("H"), constraint: field("n"), table: field("t"), column: field("c")
        )
    }

    func connectionError() -> PostgresError {
        let reason = Self.scrub(String(cString: PQerrorMessage(handle)), configuration)
        return PostgresError(kind: .connectionLost, message: "connection to PostgreSQL lost: \(reason)")
    }

    func escapeIdentifier(_ name: String) -> String? {
        guard let escaped = PQescapeIdentifier(handle, name, name.utf8.count) else { return nil }
        defer { PQfreemem(escaped) }
        return String(cString: escaped)
    }

    /// libpq's messages are one or more lines; the password never belongs in them.
    private static func scrub(_ message: String, _ configuration: PostgresConfiguration) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "; ")
        if let password = configuration.password, !password.isEmpty {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        // When the URL does not parse, libpq may quote it whole and we could not extract the
        // password above: mask anything shaped like `://user:secret@`.
        text = text.replacingOccurrences(of: #"://([^:/@\s]*):[^@\s]*@"#, with: "://$1:***@", options: .regularExpression)
        return text
    }
}

private func diagnostic(_ code: Character) -> Int32 { Int32(code.asciiValue ?? 0) }

/// Calls `body` with a NULL-terminated array of C strings that live for the duration of the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    withOptionalCStringArray(strings.map(Optional.some)) { body($0) }
}

func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { buffer in
        // A buffer of a non-empty array always has a base address.
        body(buffer.baseAddress.unsafelyUnwrapped)
    }
}
