import CurlHTTP
import Foundation
import Testing

@Suite struct HTTPClientTests {
    @Test func statusesBodiesAndHeaders() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        for code in [200, 404, 500] {
            let response = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/\(code)"))
            #expect(response.status == code)
            #expect(response.bodyText == "status \(code)")
            #expect(response.header("x-test") == "yes")
            #expect(response.header("Content-Type") == "text/plain")
        }
    }

    @Test func requestBodiesAndMethodsArrive() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let json = Data(#"{"model":"gpt-4o","messages":[{"role":"user","content":"héllo 🚀"}]}"#.utf8)
        let posted = try await client.send(CurlHTTPRequest(
            method: "POST", url: "\(server.baseURL)/echo",
            headers: [("Content-Type", "application/json"), ("X-Custom", "abc")], body: json))
        #expect(posted.status == 200)
        #expect(posted.body == json)
        #expect(posted.header("x-method") == "POST")
        #expect(posted.header("content-type") == "application/json")
        #expect(posted.header("x-custom") == "abc")

        let binary = Data((0..<(2 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        let put = try await client.send(CurlHTTPRequest(method: "PUT", url: "\(server.baseURL)/echo", body: binary))
        #expect(put.header("x-method") == "PUT")
        #expect(put.body == binary)

        let deleted = try await client.send(CurlHTTPRequest(method: "DELETE", url: "\(server.baseURL)/echo", body: Data()))
        #expect(deleted.header("x-method") == "DELETE")
        #expect(deleted.body.isEmpty)

        let big = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/big"))
        #expect(big.body.count == 1 << 20)
    }

    @Test func slowResponseTimesOut() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let started = ContinuousClock.now
        await #expect(throws: CurlHTTPError.timeout) {
            try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/sleep/5000", timeout: .milliseconds(300)))
        }
        #expect(ContinuousClock.now - started < .seconds(4))
    }

    @Test func refusedConnectionIsTyped() async throws {
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        await #expect(throws: CurlHTTPError.connectionRefused) {
            try await client.send(CurlHTTPRequest(url: "http://127.0.0.1:1/", timeout: .seconds(5)))
        }
    }

    @Test func unresolvableHostIsTyped() async throws {
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        await #expect(throws: CurlHTTPError.nameResolution(host: "no-such-host.invalid")) {
            try await client.send(CurlHTTPRequest(url: "http://no-such-host.invalid/", timeout: .seconds(10)))
        }
    }

    @Test func tlsFailureIsTyped() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        // Speaking TLS to a plain-HTTP port fails the handshake.
        let error = await #expect(throws: CurlHTTPError.self) {
            try await client.send(CurlHTTPRequest(url: "https://127.0.0.1:\(server.port)/status/200", timeout: .seconds(5)))
        }
        guard case .tls = error else {
            Issue.record("expected a TLS error, got \(String(describing: error))")
            return
        }
    }

    @Test func onlyHTTPAndHTTPSAreAllowed() async throws {
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        await #expect(throws: CurlHTTPError.unsupportedScheme("file")) {
            try await client.send(CurlHTTPRequest(url: "file:///etc/passwd"))
        }
        await #expect(throws: CurlHTTPError.unsupportedScheme("ftp")) {
            try await client.send(CurlHTTPRequest(url: "ftp://127.0.0.1/x"))
        }
        await #expect(throws: CurlHTTPError.invalidURL("not a url")) {
            try await client.send(CurlHTTPRequest(url: "not a url"))
        }
    }

    @Test func connectionsAreReused() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        var ports: Set<String> = []
        for _ in 0..<10 {
            ports.insert(try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/peer")).bodyText)
        }
        #expect(ports.count == 1, "sequential requests should share one connection, saw client ports \(ports)")
    }

    @Test func cancellingTheTaskCancelsTheTransfer() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let started = ContinuousClock.now
        let task = Task { try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/sleep/5000")) }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(4))
        // The client keeps working afterwards.
        #expect(try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200")).status == 200)
    }

    @Test func fiveHundredConcurrentSlowRequestsTakeAboutOneSleep() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let started = ContinuousClock.now
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<500 {
                group.addTask { try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/sleep/200", timeout: .seconds(30))).status }
            }
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            return statuses
        }
        let elapsed = ContinuousClock.now - started
        #expect(statuses.count == 500)
        #expect(statuses.allSatisfy { $0 == 200 })
        // One at a time would take 100 s; concurrently it is about one sleep (plus load from
        // tests running in parallel, hence the generous bound).
        #expect(elapsed < .seconds(30), "500 concurrent 200 ms requests took \(elapsed)")
    }

    @Test func twoThousandRequestsAreInFlightTogether() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        // The server answers 200 only once all 2,000 have arrived, so the client must hold every
        // transfer open at once (one thread, no per-request threads or queueing).
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<2_000 {
                group.addTask { try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/gather/2000", timeout: .seconds(60))).status }
            }
            var statuses: [Int] = []
            for try await status in group { statuses.append(status) }
            return statuses
        }
        #expect(statuses.count == 2_000)
        #expect(statuses.allSatisfy { $0 == 200 })
    }

    @Test func shutdownFailsLaterRequests() async throws {
        let client = try CurlHTTPClient()
        client.shutdown()
        await #expect(throws: CurlHTTPError.shutdown) {
            try await client.send(CurlHTTPRequest(url: "http://127.0.0.1:1/"))
        }
    }
}

@Suite struct HTTPClientLimitTests {
    @Test func oversizedResponseBodyIsRefused() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        await #expect(throws: CurlHTTPError.responseTooLarge(limit: 1000)) {
            try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/big", maxResponseBytes: 1000))
        }
        // Within the limit the same body arrives whole.
        let whole = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/big", maxResponseBytes: 2 << 20))
        #expect(whole.body.count == 1 << 20)
    }

    @Test func absurdTimeoutsDoNotOverflow() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let response = try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200", timeout: .seconds(Int64.max / 2)))
        #expect(response.status == 200)
    }
}
