import Foundation
import Postgres
import Testing
import TestSupport

/// What waiting for the next listener event gave.
enum Next: Equatable {
    case event(PostgresListener.Event)
    case ended
    case timedOut
}

/// Waits for the stream's next event, racing it against a deadline: a missing event fails the
/// test after `seconds` instead of hanging it. (Cancelling the waiting child ends the stream,
/// which is fine: a test that timed out is over.)
func next(_ stream: AsyncStream<PostgresListener.Event>, within seconds: Double = 10) async -> Next {
    await withTaskGroup(of: Next.self) { group in
        group.addTask {
            var iterator = stream.makeAsyncIterator()
            return await iterator.next().map(Next.event) ?? .ended
        }
        group.addTask {
            try? await Task.sleep(for: .seconds(seconds))
            return .timedOut
        }
        let first = await group.next() ?? .timedOut
        group.cancelAll()
        return first
    }
}

@Suite struct ListenerTests {
    @Test func notificationsArriveAndSurviveAReconnect() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let listenerConfiguration = PostgresConfiguration(connectionString: configuration.connectionString, applicationName: "listener-test")
            let listener = PostgresListener(configuration: listenerConfiguration, channels: ["config_changed", "Jobs Ready"])
            defer { listener.stop() }
            let events = listener.events()
            #expect(await next(events) == .event(.listening(isReconnect: false)))

            let sender = try await PostgresConnection.connect(configuration)
            try await sender.query("SELECT pg_notify('config_changed', \("agent:42"))")
            guard case .event(.notification(let first)) = await next(events) else {
                Issue.record("no notification arrived")
                return
            }
            #expect(first.channel == "config_changed")
            #expect(first.payload == "agent:42")

            // Quoted channel names work too.
            try await sender.query("SELECT pg_notify('Jobs Ready', '')")
            guard case .event(.notification(let second)) = await next(events) else {
                Issue.record("no notification on the quoted channel")
                return
            }
            #expect(second.channel == "Jobs Ready")

            // Kill the listener's session: it reconnects and LISTENs again.
            try await sender.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'listener-test'")
            #expect(await next(events) == .event(.listening(isReconnect: true)))
            try await sender.query("SELECT pg_notify('config_changed', 'after-reconnect')")
            guard case .event(.notification(let third)) = await next(events) else {
                Issue.record("no notification after reconnect")
                return
            }
            #expect(third.payload == "after-reconnect")
        }
    }

    @Test func theWaitHelperTimesOutWhenNothingArrives() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let listener = PostgresListener(configuration: configuration, channels: ["quiet"])
            defer { listener.stop() }
            let events = listener.events()
            #expect(await next(events) == .event(.listening(isReconnect: false)))
            #expect(await next(events, within: 0.5) == .timedOut)
        }
    }

    @Test func stopEndsTheStream() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let listener = PostgresListener(configuration: configuration, channels: ["c"])
            let events = listener.events()
            #expect(await next(events) == .event(.listening(isReconnect: false)))
            listener.stop()
            #expect(await next(events) == .ended)
        }
    }

    @Test func aLaggingConsumerIsToldToResync() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let listener = PostgresListener(configuration: configuration, channels: ["burst"], bufferLimit: 5)
            defer { listener.stop() }
            let events = listener.events()
            let sender = try await PostgresConnection.connect(configuration)
            #expect(await next(events) == .event(.listening(isReconnect: false)))
            // Nobody reads while 50 notifications arrive: the buffer of 5 events overflows.
            try await sender.query("SELECT pg_notify('burst', g::text) FROM generate_series(1, 50) AS g")
            try await Task.sleep(for: .seconds(1))
            var payloads: [String] = []
            var sawResync = false
            while !sawResync {
                switch await next(events) {
                case .event(.notification(let notification)): payloads.append(notification.payload)
                case .event(.resync): sawResync = true
                case let other:
                    Issue.record("unexpected \(other)")
                    return
                }
            }
            // What fitted arrived in order; the rest was replaced by one resync.
            #expect(payloads == ["1", "2", "3", "4", "5"])
            // After the resync, delivery carries on normally.
            try await sender.query("SELECT pg_notify('burst', 'later')")
            guard case .event(.notification(let later)) = await next(events) else {
                Issue.record("no notification after the resync")
                return
            }
            #expect(later.payload == "later")
        }
    }
}
