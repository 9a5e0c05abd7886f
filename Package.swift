// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // SHA-256 of API keys (already in the graph through Hummingbird's dependencies).
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // C libraries, found through pkg-config; installed by `make` (scripts/install-deps.sh).
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        .systemLibrary(
            name: "CCurl", pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),

        // Small helpers shared by every layer, with no dependencies: WakeSignal, Duration
        // conversions, ProcessLimits.
        .target(name: "Support"),

        // Infrastructure layers over the C libraries.
        .target(name: "Postgres", dependencies: [
            "CLibPQ", "Support",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .target(name: "CurlHTTP", dependencies: [
            "CCurl", "Support",
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // One JSON value type: ordered members, exact numbers, strict parser, byte writer.
        .target(name: "JSON"),

        // Pure domain: imports nothing of ours.
        .target(name: "Catalog"),

        // SQL repositories and the migrator.
        .target(name: "Storage", dependencies: [
            "Postgres", "Catalog", "Support",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The provider-neutral chat request and response and their one JSON codec (no libcurl):
        // what the jobs API accepts, the /v1 facade translates to and the worker runs.
        .target(name: "ChatModel", dependencies: ["JSON"]),

        // The OpenAI / Anthropic / OpenAI-compatible adapters and the libcurl-backed client.
        .target(name: "Providers", dependencies: ["ChatModel", "CurlHTTP", "Catalog", "JSON"]),

        // The fake OpenAI + Anthropic server used by tests, benchmarks and the offline demo.
        .target(name: "ProviderStub", dependencies: [
            "JSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ]),
        // `make bench-providers`: CPU per ProviderClient call against provider-stub.
        .executableTarget(name: "bench-providers", dependencies: ["Providers", "CurlHTTP", "Catalog"]),

        .executableTarget(name: "provider-stub", dependencies: [
            "ProviderStub", "Support",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The registry/config HTTP API (Hummingbird): controllers, DTOs, auth, errors, OpenAPI, metrics.
        .target(name: "RegistryAPI", dependencies: [
            "Storage", "Catalog", "Postgres", "ChatModel", "JSON", "Support",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], resources: [.copy("UI")]),  // the web UI's static files (served at /)

        .executableTarget(name: "model-registry", dependencies: [
            "RegistryAPI", "Storage", "Postgres", "Catalog",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // `make bench-native`: CPU per request/wakeup of CurlHTTP and per query of Postgres (release build, not a test).
        .executableTarget(name: "bench-native", dependencies: ["CurlHTTP", "Postgres", "Support"], path: "benchmarks/native/swift"),

        // The llm-gateway worker: claimer, runners, batch completer, heartbeat/rescuer, config cache,
        // metrics server. `llm-gateway` is its thin executable.
        .target(name: "Gateway", dependencies: [
            "Postgres", "Providers", "Catalog", "CurlHTTP", "Storage", "JSON", "Support",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        .executableTarget(name: "llm-gateway", dependencies: [
            "Gateway", "Postgres", "Support", "Catalog",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),

        // Shared test helpers: a fresh database per test, the repository's paths.
        .target(name: "TestSupport", dependencies: ["Postgres", "Catalog"], path: "Tests/TestSupport"),

        .testTarget(name: "CatalogTests", dependencies: ["Catalog", "TestSupport"]),
        .testTarget(name: "JSONTests", dependencies: ["JSON"]),
        .testTarget(name: "SupportTests", dependencies: ["Support"]),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "CurlHTTPTests", dependencies: [
            "CurlHTTP",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "ProvidersTests", dependencies: [
            "Providers", "ChatModel", "CurlHTTP", "Catalog", "ProviderStub", "JSON", "Support",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "Postgres", "Catalog", "TestSupport"]),
        .testTarget(name: "RegistryAPITests", dependencies: [
            "RegistryAPI", "ChatModel", "Storage", "Catalog", "Postgres", "TestSupport", "JSON",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "GatewayTests", dependencies: [
            "Gateway", "Storage", "Catalog", "Postgres", "Providers", "CurlHTTP", "ProviderStub", "TestSupport",
            "RegistryAPI", "JSON",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTesting", package: "hummingbird"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
