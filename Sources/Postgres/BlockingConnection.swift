import CLibPQ
import Foundation
import Synchronization

/// Owns one libpq connection and makes blocking calls on it. Confined to one `ConnectionThread`
/// (hence `@unchecked Sendable`): it is only ever touched from the thread that runs its jobs,
/// except for `markCancelled` and `sendCancel`, which go through libpq's thread-safe `PGcancel` under a lock.
final class BlockingConnection: @unchecked Sendable {
    let handle: OpaquePointer
    let configuration: PostgresConfiguration
    /// libpq's cancel handle for this session: usable from any thread.
    private let cancelHandle: OpaquePointer?
    private let cancelState = Mutex(CancelState())
    /// Named prepared statements on this session, by statement text and parameter types.
    private var prepared: [PreparedKey: String] = [:]
    /// Names are never reused: a statement dropped from `prepared` after 0A000 may still exist on
    /// the server, and a name derived from `prepared.count` would collide with a live one (42P05),
    /// or, after 26000, point two cache entries at one server statement.
    private var preparedSerial = 0

    /// Statements are numbered per connection. A cancel names the statement it means, so one
    /// that arrives late can never hit the statement that follows.
    private struct CancelState {
        /// The statement running now, if any.
        var running: UInt64 = 0
        /// The highest statement number cancelled before it started.
        var cancelledBeforeStart: UInt64 = 0
        /// The statement a server-side cancel was sent for.
        var cancelSent: UInt64 = 0
    }

    private struct PreparedKey: Hashable {
        var text: String
        var types: [Oid]
    }

    /// More distinct statements than this on one session run unprepared (a guard against code
    /// that builds unbounded statement variety; ours has a few dozen).
    private static let preparedLimit = 512

    init(configuration: PostgresConfiguration) throws {
        self.configuration = configuration
        let given: [String: String]
        if configuration.isConnectionString {
            guard let options = configuration.parsedOptions() else {
                // libpq's own message would quote the string, password included.
                throw PostgresError(
                    kind: .connection,
                    message: "DATABASE_URL/conninfo does not parse (check quoting and percent-encoding)")
            }
            given = options
        } else {
            given = [:]
        }
        // Keywords before `dbname` are defaults: with expand_dbname = 1 libpq applies the array
        // in order and the expanded connection string (`dbname`) comes after them, so whatever
        // the string sets wins. `options` comes last and already carries the string's own
        // `options` after ours. TCP keepalives and tcp_user_timeout notice a silently dead server
        // (a half-open connection) within about a minute instead of the kernel's two hours.
        var keywords = [
            "application_name", "connect_timeout", "keepalives", "keepalives_idle", "keepalives_interval",
            "keepalives_count", "tcp_user_timeout", "dbname",
        ]
        var values = [
            configuration.applicationName, String(configuration.connectTimeoutSeconds), "1", "30", "10", "3", "30000",
            configuration.connectionString,
        ]
        keywords.append("options")
        values.append(configuration.startupOptions(given: given["options"] ?? ProcessInfo.processInfo.environment["PGOPTIONS"]))
        let connection = try withCStringArray(keywords) { keywordPointers in
            try withCStringArray(values) { valuePointers in
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
        cancelHandle = PQgetCancel(connection)
        // libpq prints notices and FATAL messages to stderr by default; errors reach callers as
        // PostgresError, and notices ("… already exists, skipping") are not worth a log line.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
    }

    deinit {
        if let cancelHandle { PQfreeCancel(cancelHandle) }
        if !isClosed { PQfinish(handle) }
    }

    private var isClosed = false

    /// Ends the session (PQfinish: a last message to the server, and the TLS shutdown under SSL)
    /// on the calling thread; the owner calls it on the connection's own thread, so this never
    /// runs on whichever thread happens to drop the last reference. Nothing may use the
    /// connection afterwards.
    func close() {
        guard !isClosed else { return }
        isClosed = true
        PQfinish(handle)
    }

    var isBroken: Bool { PQstatus(handle) != CONNECTION_OK }
    var isIdleOutsideTransaction: Bool { PQtransactionStatus(handle) == PQTRANS_IDLE }
    var isInFailedTransaction: Bool { PQtransactionStatus(handle) == PQTRANS_INERROR }

    /// Whether the server is still there. An idle connection outside LISTEN gets nothing unasked
    /// but a farewell: a terminated or restarted backend leaves its FATAL message or EOF on the
    /// socket, which a zero-timeout poll finds without a round trip. So any pending input means
    /// the session should be replaced. Never blocks: safe to call inline from the pool.
    func checkAlive() -> Bool {
        guard !isBroken else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    // MARK: - Cancellation

    /// Called from any thread, never blocks: stops statement `statement` from starting, or
    /// returns true when it is running now and needs a server-side cancel (`sendCancel`).
    func markCancelled(_ statement: UInt64) -> Bool {
        cancelState.withLock { state in
            if state.running == statement { return true }
            if statement > state.running {
                state.cancelledBeforeStart = max(state.cancelledBeforeStart, statement)
            }
            return false
        }
    }

    /// Sends a server-side cancel for statement `statement` if it is still running. Blocks for
    /// one short connection to the server, so never call it on the cooperative pool.
    func sendCancel(_ statement: UInt64) {
        cancelState.withLock { state in
            // Holding the lock while the cancel is sent keeps the next statement from starting
            // until it is out: a cancel can only ever reach this statement.
            guard state.running == statement, let cancelHandle else { return }
            state.cancelSent = statement
            var message = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancelHandle, &message, Int32(message.count))
        }
    }

    private func begin(_ statement: UInt64?) throws {
        guard let statement else { return }
        try cancelState.withLock { state in
            if state.cancelledBeforeStart >= statement { throw CancellationError() }
            state.running = statement
        }
    }

    /// Ends statement `statement`; true when a cancel was sent for it.
    private func end(_ statement: UInt64?) -> Bool {
        guard let statement else { return false }
        return cancelState.withLock { state in
            state.running = 0
            return state.cancelSent == statement
        }
    }

    // MARK: - Statements

    /// Runs one statement. Without binds it goes through the simple protocol, so a script of
    /// several statements (a migration file) runs as one call; with binds it runs as a named
    /// prepared statement, prepared once per session. `statement` is its number for
    /// cancellation (`nil`: cannot be cancelled, e.g. a ROLLBACK after an error).
    func execute(_ sql: SQL, statement: UInt64? = nil) throws -> PostgresQueryResult {
        try begin(statement)
        var cancelled = false
        do {
            let result = try run(sql)
            cancelled = end(statement)
            return result
        } catch let error as PostgresError {
            cancelled = end(statement)
            // The server reports our cancel as 57014 (query_canceled): the caller sees the
            // cancellation it asked for. A statement_timeout is also 57014 but was not ours.
            if cancelled, error.sqlState == "57014" { throw CancellationError() }
            throw error
        } catch {
            _ = end(statement)
            throw error
        }
    }

    private func run(_ sql: SQL, isRetry: Bool = false) throws -> PostgresQueryResult {
        let text = sql.text
        let result: OpaquePointer?
        if sql.binds.isEmpty {
            result = PQexec(handle, text)
        } else {
            let types = sql.binds.map { Oid($0.type.rawValue) }
            let name = try preparedName(text: text, types: types)
            result = try withOptionalCStringArray(sql.binds.map(\.text)) { valuePointers in
                if let name {
                    PQexecPrepared(handle, name, Int32(types.count), valuePointers, nil, nil, 0)
                } else {
                    PQexecParams(handle, text, Int32(types.count), types, valuePointers, nil, nil, 0)
                }
            }
        }
        guard let result else {
            throw connectionError()
        }
        defer { PQclear(result) }
        do {
            return try read(result)
        } catch let error as PostgresError {
            // A statement whose plan no longer fits the tables (0A000 after DDL), or that the
            // session lost (26000 after DISCARD), is prepared afresh; outside a transaction (where
            // nothing was aborted) it is run again at once, so callers never see the stale plan.
            if error.sqlState == "0A000" || error.sqlState == "26000", !sql.binds.isEmpty {
                prepared.removeValue(forKey: PreparedKey(text: text, types: sql.binds.map { Oid($0.type.rawValue) }))
                if !isRetry, PQtransactionStatus(handle) == PQTRANS_IDLE { return try run(sql, isRetry: true) }
            }
            throw error
        }
    }

    /// The name of this statement prepared on the session, preparing it on first use; `nil`
    /// when the session already holds `preparedLimit` statements.
    private func preparedName(text: String, types: [Oid]) throws -> String? {
        let key = PreparedKey(text: text, types: types)
        if let name = prepared[key] { return name }
        guard prepared.count < Self.preparedLimit else { return nil }
        preparedSerial += 1
        let name = "sb\(preparedSerial)"
        guard let result = PQprepare(handle, name, text, Int32(types.count), types) else { throw connectionError() }
        defer { PQclear(result) }
        _ = try read(result)
        prepared[key] = name
        return name
    }

    /// Runs statements in one round trip (libpq pipeline mode, one sync at the end). They form
    /// one implicit transaction unless they contain their own BEGIN/COMMIT: if one fails, none of
    /// them takes effect and its error is thrown.
    func executePipeline(_ statements: [SQL], statement: UInt64? = nil) throws -> [PostgresQueryResult] {
        guard !statements.isEmpty else { return [] }
        try begin(statement)
        do {
            let results = try runPipeline(statements)
            _ = end(statement)
            return results
        } catch let error as PostgresError {
            if end(statement), error.sqlState == "57014" { throw CancellationError() }
            throw error
        } catch {
            _ = end(statement)
            throw error
        }
    }

    private func runPipeline(_ statements: [SQL]) throws -> [PostgresQueryResult] {
        guard PQenterPipelineMode(handle) == 1 else { throw connectionError() }
        defer { PQexitPipelineMode(handle) }
        for sql in statements {
            let types = sql.binds.map { Oid($0.type.rawValue) }
            let sent = try withOptionalCStringArray(sql.binds.map(\.text)) { valuePointers in
                PQsendQueryParams(handle, sql.text, Int32(types.count), types, valuePointers, nil, nil, 0)
            }
            guard sent == 1 else { throw connectionError() }
        }
        guard PQpipelineSync(handle) == 1 else { throw connectionError() }
        var results: [PostgresQueryResult] = []
        var firstError: PostgresError?
        for _ in statements {
            // Each statement's results end with a NULL from PQgetResult.
            guard let result = PQgetResult(handle) else { throw connectionError() }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
            } else {
                do { results.append(try read(result)) } catch let error as PostgresError { firstError = firstError ?? error }
                PQclear(result)
            }
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        // Then the sync point, after which the connection is idle again.
        while let result = PQgetResult(handle) {
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { break }
        }
        if let firstError { throw firstError }
        if isBroken { throw connectionError() }
        return results
    }

    private func read(_ result: OpaquePointer) throws -> PostgresQueryResult {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return Self.readRows(result)
        case PGRES_FATAL_ERROR, PGRES_NONFATAL_ERROR, PGRES_BAD_RESPONSE:
            if isBroken, PQresultErrorField(result, diagnostic("C")) == nil { throw connectionError() }
            throw serverError(result)
        default:
            throw PostgresError(kind: .server, message: "unexpected result status \(String(cString: PQresStatus(PQresultStatus(result))))")
        }
    }

    private static func readRows(_ result: OpaquePointer) -> PostgresQueryResult {
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
    static func scrub(_ message: String, _ configuration: PostgresConfiguration) -> String {
        var text = message.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "\n", with: "; ")
        let options = configuration.parsedOptions() ?? [:]
        // A host holding `@` is the tail of a password whose `@` was not percent-encoded.
        if let host = options["host"], let at = host.lastIndex(of: "@") {
            text = text.replacingOccurrences(of: host, with: "***@" + host[host.index(after: at)...])
        }
        if let password = options["password"], !password.isEmpty {
            text = text.replacingOccurrences(of: password, with: "***")
        }
        // When the URL does not parse, libpq may quote it whole and we could not extract the
        // password above: mask anything shaped like `://user:secret@`.
        text = text.replacingOccurrences(of: #"://([^:/@\s]*):[^\s]*@"#, with: "://$1:***@", options: .regularExpression)
        return text
    }
}

private func diagnostic(_ code: Character) -> Int32 { Int32(code.asciiValue ?? 0) }

/// Calls `body` with a NULL-terminated array of C strings that live for the duration of the call.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R) throws -> R {
    try withOptionalCStringArray(strings.map(Optional.some)) { try body($0) }
}

/// Throws `.invalidValue` for a string holding NUL: PostgreSQL's text values cannot carry it,
/// and C strings would silently cut it there.
func withOptionalCStringArray<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>) throws -> R) throws -> R {
    for case let string? in strings where string.utf8.contains(0) {
        throw PostgresError(
            kind: .invalidValue, sqlState: SQLState.characterNotInRepertoire,
            message: "a text value contains a NUL byte (U+0000), which PostgreSQL cannot store")
    }
    let copies: [UnsafeMutablePointer<CChar>?] = strings.map { $0.map { strdup($0) } ?? nil }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return try pointers.withUnsafeBufferPointer { buffer in
        // A buffer of a non-empty array always has a base address.
        try body(buffer.baseAddress.unsafelyUnwrapped)
    }
}
