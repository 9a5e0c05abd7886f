import JSON
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Postgres
@testable import RegistryAPI
import Storage
import TestSupport

/// A registry server on a fresh, migrated database, driven over HTTP (Hummingbird's router test
/// client: the full middleware chain and router, no socket).
struct Registry: Sendable {
    let client: any TestClientProtocol
    let pool: PostgresPool
    /// The long-poll hub the router uses.
    var completions: JobCompletionHub? = nil
    /// Sent as `Authorization: Bearer …` on every request unless a call overrides it.
    var token: String?

    static let migrations: [Migration] = (try? Migration.load(from: TestDatabase.migrationsDirectory)) ?? []

    /// The instant every API test runs at, whatever the machine's date: the shared test clock
    /// (`TestClock`, 2026-11-29 unless SWITCHBOARD_TEST_TODAY names another day). The catalog's
    /// deprecation dates are judged against it, and tests take their expectations from it too.
    static let fixedNow = TestClock.now

    static func run(
        token: String? = nil, readToken: String? = nil, adminToken: String? = nil, migrateUpTo version: String? = nil,
        now: Date = fixedNow, providerPolicy: ProviderPolicy = ProviderPolicy(), catalogCache: CatalogCache? = nil,
        access: AccessConfiguration = AccessConfiguration(), corsOrigins: Set<String> = [],
        _ body: @escaping @Sendable (Registry) async throws -> Void
    ) async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let pool = PostgresPool(configuration: configuration, maxConnections: 4)
            defer { pool.shutdown() }
            try await Migrator(pool: pool, migrations: migrations).migrate(upTo: version)
            let completions = JobCompletionHub(pool: pool, logger: Logger(label: "registry-tests"))
            defer { completions.shutdown() }
            var registryConfiguration = RegistryConfiguration(
                apiToken: token, readToken: readToken, providerPolicy: providerPolicy, migrations: migrations, clock: { now },
                adminToken: adminToken, access: access)
            registryConfiguration.corsOrigins = corsOrigins
            let router = buildRouter(
                configuration: registryConfiguration,
                pool: pool, logger: Logger(label: "registry-tests"), completions: completions,
                catalogCache: catalogCache ?? CatalogCache())
            // With a cache: its LISTEN connection runs beside the test, as under `serve`.
            let listening = catalogCache.map { cache in
                Task { try await CatalogCacheListener(cache: cache, configuration: configuration, logger: Logger(label: "registry-tests")).run() }
            }
            defer { listening?.cancel() }
            if let catalogCache {
                for _ in 0..<200 where !catalogCache.isListening { try await Task.sleep(for: .milliseconds(25)) }
            }
            let app = Application(router: router, logger: Logger(label: "registry-tests"))
            try await app.test(.router) { client in
                try await body(Registry(client: client, pool: pool, completions: completions, token: token ?? adminToken))
            }
        }
    }

    /// Sends a request; `json` is the raw body text (sent as is, so tests can send broken JSON).
    @discardableResult
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, bytes: [UInt8]? = nil,
        headers: HTTPFields = [:], authorization: String?? = nil
    ) async throws -> Reply {
        var headers = headers
        let auth: String? = authorization ?? token.map { "Bearer \($0)" }
        if let auth { headers[.authorization] = auth }
        var body: ByteBuffer?
        // A well-behaved client: JSON content type on every write (tests of the 415 pass their own).
        if headers[.contentType] == nil, json != nil || bytes != nil || [.post, .put, .patch].contains(method) {
            headers[.contentType] = "application/json"
        }
        if let json {
            body = ByteBuffer(string: json)
        } else if let bytes {
            body = ByteBuffer(bytes: bytes)
        }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body) { response in
            Reply(status: response.status, headers: response.headers, body: Array(response.body.readableBytesView))
        }
    }

    func get(_ uri: String) async throws -> Reply { try await send(.get, uri) }
    func post(_ uri: String, _ json: String) async throws -> Reply { try await send(.post, uri, json: json) }
    func patch(_ uri: String, _ json: String) async throws -> Reply { try await send(.patch, uri, json: json) }
    func put(_ uri: String, _ json: String) async throws -> Reply { try await send(.put, uri, json: json) }
    func delete(_ uri: String) async throws -> Reply { try await send(.delete, uri) }

    /// Creates an agent and returns its id.
    func createAgent(_ json: String) async throws -> String {
        let reply = try await post("/api/agents", json)
        guard reply.status == .created, let id = try reply.json()["id"]?.string else {
            throw HarnessError.unexpected("create agent: \(reply.status.code) \(reply.text)")
        }
        return id
    }
}

enum HarnessError: Error {
    case unexpected(String)
}

struct Reply: Sendable, CustomStringConvertible {
    var status: HTTPResponse.Status
    var headers: HTTPFields
    var body: [UInt8]

    var text: String { String(decoding: body, as: UTF8.self) }
    func json() throws -> JSONValue { try JSONParser.parse(body) }
    var description: String { "\(status.code) \(text.prefix(2000))" }

    /// `error.code` of an error reply.
    var errorCode: String? { (try? json())?["error"]?["code"]?.string }
    /// `(field, message)` of each `error.details` entry.
    var errorDetails: [(field: String, message: String)] {
        ((try? json())?["error"]?["details"]?.array ?? []).map { ($0["field"]?.string ?? "", $0["message"]?.string ?? "") }
    }
    var errorFields: [String] { errorDetails.map(\.field) }
}

extension JSONValue {
    var string: String? { if case .string(let value) = self { value } else { nil } }
    var bool: Bool? { if case .bool(let value) = self { value } else { nil } }
    var int: Int? { if case .number(let text) = self { Int(text) } else { nil } }
    var decimal: Decimal? { if case .number(let text) = self { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")) } else { nil } }
    var double: Double? { if case .number(let text) = self { Double(text) } else { nil } }
    var array: [JSONValue]? { if case .array(let items) = self { items } else { nil } }
    var keys: [String] { if case .object(let members) = self { members.map(\.key) } else { [] } }
    subscript(index: Int) -> JSONValue? {
        guard case .array(let items) = self, items.indices.contains(index) else { return nil }
        return items[index]
    }
}

/// LiteLLM's real cost map, beside the checkout.
enum LiteLLMFile {
    static var url: URL {
        TestDatabase.sharedDataDirectory.appendingPathComponent("litellm/model_prices_and_context_window.json")
    }
    static func bytes() throws -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw HarnessError.unexpected("cannot read \(url.path)")
        }
        return Array(data)
    }
}
