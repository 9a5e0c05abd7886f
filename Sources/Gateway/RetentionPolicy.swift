import Foundation

/// How long finished jobs and raw usage rows are kept, and how often the gateway prunes
/// (docs/gateway.md "Retention"). A nil age keeps that table forever; a nil interval turns pruning off.
public struct RetentionPolicy: Sendable, Equatable {
    /// Finished jobs (`succeeded`, `failed`, `cancelled`) older than this (by `finished_at`) are deleted.
    public var jobs: Duration?
    /// Daily `model_usage_YYYYMMDD` partitions whose whole day is older than this are dropped.
    public var usage: Duration?
    /// Time between pruning runs (each worker tries; one at a time prunes).
    public var interval: Duration?
    /// Job ids visited per delete transaction (a window of the primary key).
    public var batchSize: Int

    public static let defaultJobs: Duration = .seconds(7 * 86_400)
    public static let defaultUsage: Duration = .seconds(30 * 86_400)
    public static let defaultInterval: Duration = .seconds(3600)

    public init(
        jobs: Duration? = RetentionPolicy.defaultJobs, usage: Duration? = RetentionPolicy.defaultUsage,
        interval: Duration? = RetentionPolicy.defaultInterval, batchSize: Int = 5000
    ) {
        self.jobs = jobs.flatMap { $0 > .zero ? $0 : nil }
        self.usage = usage.flatMap { $0 > .zero ? $0 : nil }
        self.interval = interval.flatMap { $0 > .zero ? $0 : nil }
        self.batchSize = max(1, batchSize)
    }

    /// Whether the gateway runs the pruning schedule at all.
    public var isEnabled: Bool { interval != nil && (jobs != nil || usage != nil) }

    /// Parses `0` or `off` (nil: off), `<n>s`, `<n>m`, `<n>h`, `<n>d` or a bare number of seconds.
    public static func parseDuration(_ text: String) throws -> Duration? {
        let trimmed = text.trimmingCharacters(in: .whitespaces).lowercased()
        if trimmed == "off" { return nil }
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        var digits = Substring(trimmed)
        var unit: Int64 = 1
        if let last = trimmed.last, let factor = units[last] {
            unit = factor
            digits = digits.dropLast()
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(digits),
              value <= Int64.max / unit / 1000
        else { throw InvalidDuration(text: text) }
        return value == 0 ? nil : .seconds(value * unit)
    }

    public struct InvalidDuration: Error, CustomStringConvertible {
        public var text: String
        public var description: String { "'\(text)' is not a duration: use 0 (off), or a number with s, m, h or d (e.g. 7d)" }
    }

    /// `7d`, `36h`, `off`: the form the flags take, for logs.
    public static func describe(_ duration: Duration?) -> String {
        guard let duration else { return "off" }
        let seconds = duration.components.seconds
        if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
