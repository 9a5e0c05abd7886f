import JSON
import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing
@testable import RegistryAPI

/// Writes through the API reach gateways as `NOTIFY switchboard_config` (triggers of migration
/// 0010), with the payloads docs/registry-api.md documents.
@Suite struct ChangeNotificationTests {
    final class Received: Sendable {
        let payloads = Mutex<[String]>([])
    }

    @Test func apiWritesNotifyGateways() async throws {
        try await Registry.run { api in
            let listener = PostgresListener(configuration: api.pool.configuration, channels: ["switchboard_config"])
            defer { listener.stop() }
            var events = listener.events().makeAsyncIterator()
            #expect(await events.next() == .listening(isReconnect: false))
            let received = Received()
            let consumer = Task { [events] in
                var events = events
                while let event = await events.next() {
                    if case .notification(let notification) = event { received.payloads.withLock { $0.append(notification.payload) } }
                }
            }
            defer { consumer.cancel() }

            let id = try await api.createAgent(#"{"name": "N", "agent_type": "chat"}"#)
            #expect(try await api.put("/api/agents/\(id)/model-config", #"{"model_id": "gpt-4.1"}"#).status == .ok)
            #expect(try await api.patch("/api/models/gpt-4.1", #"{"output_cost_per_1k": 0.009}"#).status == .ok)
            #expect(try await api.patch("/api/providers/anthropic", #"{"enabled": false}"#).status == .ok)
            // Not configuration: renaming an agent or the gateway's counters do not notify.
            #expect(try await api.patch("/api/agents/\(id)", #"{"name": "Renamed"}"#).status == .ok)
            try await api.pool.execute("UPDATE agents SET model_usage_stats = '{\"x\": {\"requests\": 1}}'::jsonb")

            // NOTIFYs are delivered in commit order, so once a marker sent after every write above
            // arrives, anything those writes notified has arrived too: absence is proven, not hoped.
            try await api.pool.execute("SELECT pg_notify('switchboard_config', 'test-marker')")
            try await waitUntil { received.payloads.withLock { $0.contains("test-marker") } }
            let payloads = received.payloads.withLock { $0 }.filter { $0 != "test-marker" }
                .compactMap { try? JSONParser.parse(Array($0.utf8)) }
            #expect(payloads == [
                .object([("table", .string("agents")), ("op", .string("INSERT")), ("id", .string(id))]),
                .object([("table", .string("agents")), ("op", .string("UPDATE")), ("id", .string(id))]),
                .object([("table", .string("llm_models")), ("op", .string("UPDATE"))]),
                .object([("table", .string("llm_providers")), ("op", .string("UPDATE"))]),
            ])
        }
    }
}
