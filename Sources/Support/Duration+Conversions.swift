// Duration to plain numbers, in one place: the gateway, libcurl and PostgreSQL each had their
// own conversion, two of them a `milliseconds` property that shadowed `.milliseconds(_:)`.

extension Duration {
    /// Seconds with the fraction, for `Date` arithmetic, SQL intervals and log fields.
    public var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }

    /// Whole milliseconds, rounded to the nearest: latencies and delays as reported (a
    /// sub-millisecond duration is 0).
    public var roundedMilliseconds: Int { Int((seconds * 1000).rounded()) }

    /// For timeouts of C libraries that read 0 as "no limit" (libcurl's `*_MS` options,
    /// PostgreSQL's `statement_timeout` and `lock_timeout`): whole milliseconds, at least 1, at
    /// most a day so that no duration can overflow the conversion.
    public var timeoutMilliseconds: Int {
        let (seconds, attoseconds) = components
        guard seconds < 86_400 else { return 86_400_000 }
        return max(1, Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}
