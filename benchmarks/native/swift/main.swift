// `make bench-native`: CPU cost of the native layers, measured with getrusage of this process
// (the HTTP server and PostgreSQL are other processes). Not a test: figures depend on the box.
//
// Environment: BENCH_HTTP_PORT (hold_server.py), DATABASE_URL, BENCH_PQ_BASELINE_US (pq_baseline.c).
import CurlHTTP
import Foundation
import Postgres
import Support

ProcessLimits.prepareForManyConnections()

func cpuMicroseconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    let user = Double(usage.ru_utime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec)
    let system = Double(usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_stime.tv_usec)
    return user + system
}

func format(_ value: Double) -> String { String(format: "%.1f", value) }

let environment = ProcessInfo.processInfo.environment

// MARK: - curl

struct CurlRow {
    var inFlight: Int
    var idleWakeupMicros: Double
    var idleRequestMicros: Double
    var loadedRequestMicros: Double
    var loadedWakeupMicros: Double
    var wakeupsPerRequest: Double
}

func benchCurl(port: Int) async throws -> [CurlRow] {
    let client = try CurlHTTPClient()
    defer { client.shutdown() }
    let base = "http://127.0.0.1:\(port)"
    // BENCH_HOLD_HOST=localhost holds the idle transfers on another curl host bundle than the
    // measured requests (to show where the per-host cost comes from).
    let holdBase = "http://\(environment["BENCH_HOLD_HOST"] ?? "127.0.0.1"):\(port)"
    let fast = CurlHTTPRequest(url: base + "/fast", timeout: .seconds(30))
    for _ in 0..<500 { _ = try await client.send(fast) }
    var rows: [CurlRow] = []
    let levels = environment["BENCH_CURL_LEVELS"].map { $0.split(separator: ",").compactMap { Int($0) } } ?? [10, 100, 1_000, 2_000]
    for inFlight in levels {
        // 1. `inFlight` transfers held open by the server, plus one request at a time beside
        //    them: what one wakeup costs while that many transfers sit in the multi handle.
        let holders = (0..<inFlight).map { _ in
            Task { _ = try? await client.send(CurlHTTPRequest(url: holdBase + "/hold", timeout: .seconds(600))) }
        }
        try await Task.sleep(for: .milliseconds(500 + inFlight))
        for _ in 0..<200 { _ = try await client.send(fast) }
        let idleCount = 3_000
        let cpu0 = cpuMicroseconds(), wake0 = client.eventLoopWakeups
        for _ in 0..<idleCount { _ = try await client.send(fast) }
        let idleCPU = cpuMicroseconds() - cpu0, idleWakeups = Double(client.eventLoopWakeups - wake0)
        for holder in holders { holder.cancel() }
        for holder in holders { await holder.value }

        // 2. `inFlight` requests always outstanding, each held ~inFlight/2 ms by the server, so
        //    about 2,000 requests/s at every level.
        let delay = max(1, inFlight / 2)
        let total = max(4_000, inFlight * 3)
        let remaining = Countdown(total)
        let cpu1 = cpuMicroseconds(), wake1 = client.eventLoopWakeups
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<inFlight {
                group.addTask {
                    let request = CurlHTTPRequest(url: base + "/delay/\(delay)", timeout: .seconds(60))
                    while remaining.subtract(1) >= 0 { _ = try await client.send(request) }
                }
            }
            try await group.waitForAll()
        }
        let loadedCPU = cpuMicroseconds() - cpu1, loadedWakeups = Double(client.eventLoopWakeups - wake1)
        rows.append(CurlRow(
            inFlight: inFlight,
            idleWakeupMicros: idleCPU / idleWakeups, idleRequestMicros: idleCPU / Double(idleCount),
            loadedRequestMicros: loadedCPU / Double(total), loadedWakeupMicros: loadedCPU / loadedWakeups,
            wakeupsPerRequest: loadedWakeups / Double(total)))
    }
    return rows
}

/// A counter shared by the worker tasks.
final class Countdown: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int
    init(_ value: Int) { self.value = value }
    /// Subtracts and returns the new value.
    func subtract(_ amount: Int) -> Int {
        lock.lock()
        defer { lock.unlock() }
        value -= amount
        return value
    }
}

// MARK: - Postgres

func benchPostgres(url: String) async throws -> (pool: Double, connection: Double) {
    let configuration = PostgresConfiguration(connectionString: url, applicationName: "bench-native")
    let pool = PostgresPool(configuration: configuration, maxConnections: 1)
    defer { pool.shutdown() }
    let count = 20_000
    var total = 0
    for i in 0..<2_000 { total += try await pool.query("SELECT \(i)::int8 + 1 AS n").rows[0].decode("n", as: Int.self) }
    let cpu0 = cpuMicroseconds()
    for i in 0..<count { total += try await pool.query("SELECT \(i)::int8 + 1 AS n").rows[0].decode("n", as: Int.self) }
    let poolMicros = (cpuMicroseconds() - cpu0) / Double(count)

    let connection = try await PostgresConnection.connect(configuration)
    for i in 0..<2_000 { total += try await connection.query("SELECT \(i)::int8 + 1 AS n").rows[0].decode("n", as: Int.self) }
    let cpu1 = cpuMicroseconds()
    for i in 0..<count { total += try await connection.query("SELECT \(i)::int8 + 1 AS n").rows[0].decode("n", as: Int.self) }
    let connectionMicros = (cpuMicroseconds() - cpu1) / Double(count)
    precondition(total > 0)
    return (poolMicros, connectionMicros)
}

// MARK: - Report

if let port = environment["BENCH_HTTP_PORT"].flatMap(Int.init) {
    let rows = try await benchCurl(port: port)
    print("### curl client (CPU of this process per request and per event-loop wakeup, µs)\n")
    print("| in flight | per wakeup, N idle in flight | per request, N idle in flight | per request, N busy | per wakeup, N busy | wakeups/request, N busy |")
    print("|---:|---:|---:|---:|---:|---:|")
    for row in rows {
        print("| \(row.inFlight) | \(format(row.idleWakeupMicros)) | \(format(row.idleRequestMicros)) | \(format(row.loadedRequestMicros)) | \(format(row.loadedWakeupMicros)) | \(String(format: "%.2f", row.wakeupsPerRequest)) |")
    }
    if let first = rows.first, let last = rows.last {
        print("\nper wakeup with \(last.inFlight) idle in flight / with \(first.inFlight): \(String(format: "%.2f", last.idleWakeupMicros / first.idleWakeupMicros))× (target ≤ 2×)\n")
    }
}

if let url = environment["DATABASE_URL"] {
    let (poolMicros, connectionMicros) = try await benchPostgres(url: url)
    print("### Postgres (CPU of this process per `SELECT $1::int8 + 1`, one at a time, µs)\n")
    print("| path | µs/query |")
    print("|---|---:|")
    print("| `pool.query` (acquire, liveness check, query, decode, release) | \(format(poolMicros)) |")
    print("| `connection.query` | \(format(connectionMicros)) |")
    if let baseline = environment["BENCH_PQ_BASELINE_US"].flatMap(Double.init) {
        print("| libpq from C (`PQexecPrepared`, same statement) | \(format(baseline)) |")
        print("\nadded by our layer over libpq: pool \(format(poolMicros - baseline)) µs (\(String(format: "%.2f", poolMicros / baseline))×), connection \(format(connectionMicros - baseline)) µs (\(String(format: "%.2f", connectionMicros / baseline))×); target ≤ 20 µs")
    }
}
