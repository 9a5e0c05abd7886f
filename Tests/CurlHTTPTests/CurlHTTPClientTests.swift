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
        // The request was sent, the answer is late: told apart from a connect timeout (F4).
        await #expect(throws: CurlHTTPError.timeoutAfterSend) {
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
        // Cancel once the server is serving it: the transfer is then really in flight.
        for _ in 0..<1000 where server.sleepers.peak < 1 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(server.sleepers.peak == 1)
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(ContinuousClock.now - started < .seconds(4))
        // The client keeps working afterwards.
        #expect(try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200")).status == 200)
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

    @Test func headersWithCRorLFAreRejected() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        for header in [("X-Custom", "a\r\nX-Injected: yes"), ("X-Custom", "line\nbreak"), ("X-Bad\r\nName", "v"), ("Bad Name", "v"), ("", "v")] {
            await #expect(throws: CurlHTTPError.invalidHeader(name: String(header.0.prefix(64)))) {
                try await client.send(CurlHTTPRequest(method: "POST", url: "\(server.baseURL)/echo", headers: [header], body: Data()))
            }
        }
        // Tabs and non-ASCII text in values are fine.
        let fine = try await client.send(CurlHTTPRequest(method: "POST", url: "\(server.baseURL)/echo", headers: [("X-Custom", "a\tb ünï")], body: Data()))
        #expect(fine.status == 200)
    }

    @Test func shutdownWithTransfersInFlightFailsThemAtOnce() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let requests = (0..<20).map { _ in
            Task { try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/sleep/30000", timeout: .seconds(60))) }
        }
        // Wait until the server holds them all, then shut down without blocking.
        for _ in 0..<1000 where server.sleepers.peak < 20 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(server.sleepers.peak == 20)
        client.shutdown()
        for request in requests {
            await #expect(throws: CurlHTTPError.shutdown) { try await request.value }
        }
        await client.shutdownGracefully()
    }

    @Test func asAServiceTheClientStopsOnGracefulShutdown() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        let service = Task { try await client.run() }
        #expect(try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200")).status == 200)
        // Cancelling run() (as a ServiceGroup does after the grace period) shuts the client down.
        service.cancel()
        try await service.value
        await #expect(throws: CurlHTTPError.shutdown) {
            try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200"))
        }
    }

    @Test func droppingTheClientWithoutShutdownDoesNotBlock() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        var client: CurlHTTPClient? = try CurlHTTPClient()
        #expect(try await client?.send(CurlHTTPRequest(url: "\(server.baseURL)/status/200")).status == 200)
        // deinit only asks the loop thread to stop; the thread cleans up on its own.
        client = nil
        let another = try CurlHTTPClient()
        defer { another.shutdown() }
        #expect(try await another.send(CurlHTTPRequest(url: "\(server.baseURL)/status/204")).status == 204)
    }

    /// Cancels racing completion: each request either completes or throws CancellationError,
    /// never anything else, and the client keeps working (handles go back to the pool intact).
    @Test func cancellationRacingCompletion() async throws {
        let server = try await TestHoldServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let outcomes = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<300 {
                let task = Task { try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/delay/1")).status }
                group.addTask {
                    try await Task.sleep(for: .microseconds(Int.random(in: 0...3_000)))
                    task.cancel()
                    do {
                        return try await task.value == 200 ? "completed" : "wrong status"
                    } catch is CancellationError {
                        return "cancelled"
                    }
                }
            }
            var outcomes: [String] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        #expect(outcomes.count == 300)
        #expect(outcomes.allSatisfy { $0 == "completed" || $0 == "cancelled" })
        for _ in 0..<20 {
            #expect(try await client.send(CurlHTTPRequest(url: "\(server.baseURL)/fast")).status == 200)
        }
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

    @Test("a streaming download hands over the body as it arrives")
    func streamingDownload() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let response = try await client.stream(CurlHTTPRequest(url: "\(server.baseURL)/drip/20"))
        #expect(response.status == 200)
        var pieces = 0
        var text = ""
        for try await piece in response.body {
            pieces += 1
            text += String(decoding: piece, as: UTF8.self)
        }
        #expect(text == (0..<20).map { "line \($0)\n" }.joined())
        // Lines written 10 ms apart cannot all come in one piece.
        #expect(pieces > 1)
        // An error status is a response too; its body still streams.
        let missing = try await client.stream(CurlHTTPRequest(url: "\(server.baseURL)/status/404"))
        #expect(missing.status == 404)
        var body = ""
        for try await piece in missing.body { body += String(decoding: piece, as: UTF8.self) }
        #expect(body == "status 404")
    }

    @Test("a streaming upload sends each write before the body is finished")
    func streamingUpload() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let upload = try client.upload(CurlHTTPRequest(method: "POST", url: "\(server.baseURL)/pieces"))
        var expected = ""
        for index in 0..<5 {
            let line = "event \(index)\n"
            expected += line
            #expect(upload.write(Array(line.utf8)))
            // The server has this line while the upload is still open (the transfer had paused
            // for want of data: the write resumed it).
            let deadline = ContinuousClock.now + .seconds(10)
            while server.received.text != expected, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(server.received.text == expected)
        }
        upload.finish()
        let response = try await upload.response()
        #expect(response.status == 200)
        #expect(response.bodyText == expected)
        #expect(response.header("x-chunked") == "chunked")
        #expect(upload.hasEnded)
        #expect(!upload.write(Array("late".utf8)))
    }

    @Test("a cancelled upload fails its response with CancellationError")
    func cancelledUpload() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = try CurlHTTPClient()
        defer { client.shutdown() }
        let upload = try client.upload(CurlHTTPRequest(method: "POST", url: "\(server.baseURL)/pieces"))
        upload.write(Array("partial\n".utf8))
        upload.cancel()
        await #expect(throws: CancellationError.self) { try await upload.response() }
    }
}
