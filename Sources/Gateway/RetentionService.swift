import Foundation
import Logging
import Postgres
import ServiceLifecycle
import Support

/// Runs `Retention` every `policy.interval` beside the worker (`llm-gateway run`). Each round opens
/// one connection and closes it afterwards, so between rounds the gateway holds no extra
/// connection. The first round comes after a random part of the interval (at most a minute), so
/// gateways started together do not all try at once; the advisory lock settles the rest.
public struct RetentionService: Service {
    public let policy: RetentionPolicy
    private let database: PostgresConfiguration
    private let logger: Logger

    public init(policy: RetentionPolicy, database: PostgresConfiguration, logger: Logger) {
        self.policy = policy
        self.database = database
        self.logger = logger
    }

    public func run() async throws {
        guard policy.isEnabled, let interval = policy.interval else {
            // Nothing to do, but stay up: a service that returns would stop the service group.
            try? await gracefulShutdown()
            return
        }
        logger.info("gateway.retention.scheduled", metadata: [
            "retention.jobs": "\(RetentionPolicy.describe(policy.jobs))",
            "retention.usage": "\(RetentionPolicy.describe(policy.usage))",
            "retention.interval": "\(RetentionPolicy.describe(interval))",
        ])
        await cancelWhenGracefulShutdown {
            let firstDelay = Double.random(in: 0...min(interval.seconds, 60))
            try? await Task.sleep(for: .milliseconds(Int64(firstDelay * 1000)))
            while !Task.isCancelled {
                await runRound()
                try? await Task.sleep(for: interval)
            }
        }
    }

    private func runRound() async {
        let pool = PostgresPool(configuration: database, maxConnections: 1, logger: logger)
        defer { pool.shutdown() }
        do {
            let report = try await Retention(pool: pool, policy: policy, logger: logger).runOnce()
            if report.skipped {
                logger.debug("gateway.retention.skipped", metadata: ["reason": "another gateway is pruning"])
            } else if report.jobsDeleted > 0 || !report.partitionsDropped.isEmpty || report.defaultPartitionRowsDeleted > 0 {
                logger.info("gateway.retention.pruned", metadata: [
                    "jobs.deleted": "\(report.jobsDeleted)", "jobs.batches": "\(report.jobBatches)",
                    "partitions.dropped": "\(report.partitionsDropped.joined(separator: ","))",
                    "partitions.created": "\(report.partitionsCreated)",
                ])
            }
        } catch {
            if !Task.isCancelled {
                logger.warning("gateway.retention.failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
