import Foundation

/// RFC 3339 / ISO 8601 timestamps, the one format the API, the stored JSON documents and the
/// providers' reset headers use.
public enum Timestamp {
    /// UTC with milliseconds (`2026-11-30T01:02:03.456Z`). Built from `gmtime_r` rather than a
    /// format style: the gateway writes several per job.
    public static func string(from date: Date) -> String { string(from: date, milliseconds: true) }

    /// `milliseconds: false` gives whole seconds (`2026-11-30T01:02:03Z`).
    public static func string(from date: Date, milliseconds: Bool) -> String {
        // Whole milliseconds first: (t - floor(t)) * 1000 of 0.123 is 122.99…, which truncates to 122.
        var totalMillis = Int64((date.timeIntervalSince1970 * 1000).rounded())
        // Without the fraction, seconds are truncated (toward the past), as ISO8601FormatStyle does.
        if !milliseconds { totalMillis = Int64(date.timeIntervalSince1970.rounded(.down)) * 1000 }
        var seconds = time_t(totalMillis.floorDivided(by: 1000))
        let millis = Int32(totalMillis - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))"
            + (milliseconds ? ".\(pad(millis, 3))Z" : "Z")
    }

    /// `2026-11-28T10:00:00Z`, with or without fractional seconds, `Z` or a `±hh:mm` offset.
    public static func date(from text: String) -> Date? {
        try? parser.parse(text)
    }

    /// Accepts whole seconds too (measured: the fractional style parses both).
    private static let parser = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
}

private extension Int64 {
    /// Division rounding toward negative infinity (dates before 1970 keep a positive millisecond part).
    func floorDivided(by divisor: Int64) -> Int64 {
        let quotient = self / divisor
        return (self % divisor != 0 && (self < 0) != (divisor < 0)) ? quotient - 1 : quotient
    }
}
