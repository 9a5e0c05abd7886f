import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct ListenerTests {
    /// Waits for the next event, failing after a generous bound instead of hanging.
    private func next(
        _ iterator: inout AsyncStream<PostgresListener.Event>.Iterator, within seconds: Double = 10
    ) async throws -> PostgresListener.Event? {
        let deadline = Date().addingTimeInterval(seconds)
        return await withTaskGroup(of: Void.self) { group -> PostgresListener.Event? in
            group.addTask {
                while Date() < deadline, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(50)) }
            }
            defer { group.cancelAll() }
            return await iterator.next()
        }
    }

    @Test func notificationsArriveAndSurviveAReconnect() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let listenerConfiguration = PostgresConfiguration(connectionString: configuration.connectionString, applicationName: "listener-test")
            let listener = PostgresListener(configuration: listenerConfiguration, channels: ["config_changed", "Jobs Ready"])
            defer { listener.stop() }
            var events = listener.events().makeAsyncIterator()
            #expect(try await next(&events) == .listening(isReconnect: false))

            let sender = try await PostgresConnection.connect(configuration)
            try await sender.query("SELECT pg_notify('config_changed', \("agent:42"))")
            guard case .notification(let first)? = try await next(&events) else {
                Issue.record("no notification arrived")
                return
            }
            #expect(first.channel == "config_changed")
            #expect(first.payload == "agent:42")

            // Quoted channel names work too.
            try await sender.query("SELECT pg_notify('Jobs Ready', '')")
            guard case .notification(let second)? = try await next(&events) else {
                Issue.record("no notification on the quoted channel")
                return
            }
            #expect(second.channel == "Jobs Ready")

            // Kill the listener's session: it reconnects and LISTENs again.
            try await sender.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'listener-test'")
            #expect(try await next(&events) == .listening(isReconnect: true))
            try await sender.query("SELECT pg_notify('config_changed', 'after-reconnect')")
            guard case .notification(let third)? = try await next(&events) else {
                Issue.record("no notification after reconnect")
                return
            }
            #expect(third.payload == "after-reconnect")
        }
    }
}
