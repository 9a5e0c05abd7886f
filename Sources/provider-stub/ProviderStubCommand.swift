import ArgumentParser
import Foundation
import Logging
import ProviderStub
import Support

/// `provider-stub --port N`: a local fake of the OpenAI and Anthropic chat APIs.
@main
struct ProviderStubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provider-stub",
        abstract: "A local fake of the OpenAI Chat Completions and Anthropic Messages APIs.",
        discussion: """
            Per-request behaviour comes from the model name (directives combine): \
            stub-latency-500ms, stub-error-429, stub-error-500-rate-30, stub-error-429-after-5, \
            stub-error-quota, stub-error-context, stub-error-filter, stub-hang, stub-malformed, \
            stub-no-usage, stub-cache, stub-reasoning, stub-refusal, stub-tool, stub-gather-N.

            GET /stats reports requests per model and outcome; POST /stats/reset clears it.
            """)

    @Option(help: "Port to listen on (default: $PORT, else 8090; 0 picks a free port).")
    var port: Int?

    @Option(help: "Interface to listen on.")
    var host = "127.0.0.1"

    @Option(name: .customLong("latency-ms"), help: "Latency added to every request, in milliseconds.")
    var latencyMilliseconds = 0

    @Option(help: "Percentage (0-100) of requests answered with --error-status.")
    var errorRate = 0.0

    @Option(help: "HTTP status of the errors --error-rate injects.")
    var errorStatus = 500

    @Option(help: "Seed for the error-rate generator, to repeat a run exactly.")
    var seed: UInt64 = 42

    @Option(help: "Seconds a stub-hang request waits before a 504.")
    var hangSeconds = 600

    @Option(name: .customLong("token-delay-ms"), help: "Streamed replies: milliseconds between two tokens (model directives such as stub-pace-20ms add to it).")
    var tokenDelayMilliseconds = 0

    @Option(name: .customLong("api-key-env"), help: "Name of an environment variable holding the key requests must present.")
    var apiKeyEnvironmentVariable: String?

    func validate() throws {
        guard (0...100).contains(errorRate) else { throw ValidationError("--error-rate must be between 0 and 100") }
        guard (400...599).contains(errorStatus) else { throw ValidationError("--error-status must be a 4xx or 5xx status") }
        guard latencyMilliseconds >= 0, hangSeconds >= 0, tokenDelayMilliseconds >= 0 else { throw ValidationError("durations must not be negative") }
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let resolvedPort = port ?? environment["PORT"].flatMap(Int.init) ?? 8090
        guard (0...65_535).contains(resolvedPort) else { throw ValidationError("port must be 0-65535") }
        var expectedKey: String?
        if let variable = apiKeyEnvironmentVariable {
            guard let value = environment[variable], !value.isEmpty else {
                throw ValidationError("environment variable \(variable) is not set")
            }
            expectedKey = value
        }

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "provider-stub")
        logger.logLevel = environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info

        ProcessLimits.prepareForManyConnections()
        let server = ProviderStubServer(
            configuration: ProviderStubConfiguration(
                host: host,
                port: resolvedPort,
                latency: .milliseconds(latencyMilliseconds),
                errorRatePercent: errorRate,
                errorStatus: errorStatus,
                seed: seed,
                hangDuration: .seconds(hangSeconds),
                expectedAPIKey: expectedKey,
                tokenDelay: .milliseconds(tokenDelayMilliseconds)),
            logger: logger)
        try await server.run()
    }
}
