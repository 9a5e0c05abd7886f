import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import UnixSignals

/// Runs a `ProviderStub` over HTTP: in-process for tests (`start` / `stop`), or in the
/// foreground until SIGINT/SIGTERM for the `provider-stub` executable (`run`).
public actor ProviderStubServer {
    public nonisolated let stub: ProviderStub
    private let logger: Logger
    private var task: Task<Void, any Error>?
    private var serviceGroup: ServiceGroup?
    /// The bound port once started.
    public private(set) var port: Int?

    public init(configuration: ProviderStubConfiguration = ProviderStubConfiguration(), logger: Logger? = nil) {
        self.stub = ProviderStub(configuration: configuration)
        self.logger = logger ?? Self.defaultLogger()
    }

    /// `http://host:port`, the base URL to put in a provider row.
    public var baseURL: String? {
        port.map { "http://\(stub.configuration.host):\($0)" }
    }

    /// Starts listening in the background and returns the bound port (useful with port 0).
    /// Throws if the address cannot be bound.
    public func start() async throws -> Int {
        if let port { return port }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let application = makeApplication { port in
            continuation.yield(port)
            continuation.finish()
        }
        var groupConfiguration = ServiceGroupConfiguration(services: [application], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = .seconds(2)
        let group = ServiceGroup(configuration: groupConfiguration)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        self.task = task
        self.serviceGroup = group
        for await port in ports {
            self.port = port
            return port
        }
        // The server stopped before it was listening: report why.
        try await task.value
        throw ProviderStubServerError.didNotStart
    }

    /// Stops the server: hanging requests end at once, slow ones get up to two seconds to finish
    /// before they are cancelled.
    public func stop() async {
        guard let task else { return }
        await serviceGroup?.triggerGracefulShutdown()
        _ = await task.result
        self.task = nil
        serviceGroup = nil
        port = nil
    }

    /// Serves in the foreground until SIGINT or SIGTERM, then drains for up to
    /// `gracePeriod` before cancelling what is left (hanging requests would otherwise hold
    /// shutdown for their whole hang duration).
    public func run(gracePeriod: Duration = .seconds(5)) async throws {
        let logger = self.logger
        let configuration = stub.configuration
        let application = makeApplication { port in
            logger.info("provider-stub.listening", metadata: [
                "server.host": .string(configuration.host), "server.port": .stringConvertible(port),
            ])
        }
        var groupConfiguration = ServiceGroupConfiguration(
            services: [application],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = gracePeriod
        try await ServiceGroup(configuration: groupConfiguration).run()
    }

    private func makeApplication(onListening: @escaping @Sendable (Int) -> Void) -> some ApplicationProtocol {
        let configuration = stub.configuration
        return Application(
            router: stub.makeRouter(),
            configuration: ApplicationConfiguration(
                address: .hostname(configuration.host, port: configuration.port),
                serverName: "provider-stub",
                backlog: configuration.backlog),
            onServerRunning: { channel in
                onListening(channel.localAddress?.port ?? configuration.port)
            },
            logger: logger)
    }

    private static func defaultLogger() -> Logger {
        var logger = Logger(label: "provider-stub")
        logger.logLevel = .warning
        return logger
    }
}

public enum ProviderStubServerError: Error, CustomStringConvertible {
    case didNotStart

    public var description: String { "provider-stub stopped before it started listening" }
}
