import Foundation

/// Reads how long a provider asked us to wait before retrying.
public enum RetryAfter {
    /// `retry-after-ms` (OpenAI, fractional milliseconds) wins over `Retry-After`, which is either
    /// delta-seconds or an HTTP date. Dates in the past give zero; unreadable values give `nil`.
    public static func parse(headers: [(name: String, value: String)], now: Date = Date()) -> Duration? {
        func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?
                .value.trimmingCharacters(in: .whitespaces)
        }
        if let text = header("retry-after-ms"), let milliseconds = Double(text), milliseconds.isFinite, milliseconds >= 0 {
            return .milliseconds(Int64(milliseconds.rounded(.up)))
        }
        guard let text = header("retry-after") else { return nil }
        return parseRetryAfterValue(text, now: now)
    }

    /// One `Retry-After` value: `"120"`, `"1.5"` (not standard, but some gateways send it) or
    /// `"Wed, 21 Oct 2015 07:28:00 GMT"`.
    public static func parseRetryAfterValue(_ text: String, now: Date = Date()) -> Duration? {
        if let seconds = Double(text), seconds.isFinite {
            return .milliseconds(Int64(max(0, seconds) * 1000))
        }
        guard let date = parseHTTPDate(text) else { return nil }
        let seconds = max(0, date.timeIntervalSince(now))
        return .milliseconds(Int64(seconds * 1000))
    }

    /// RFC 9110 dates: IMF-fixdate, plus the obsolete RFC 850 and asctime forms it still requires
    /// recipients to accept.
    static func parseHTTPDate(_ text: String) -> Date? {
        let formats = [
            "EEE, dd MMM yyyy HH:mm:ss zzz",
            "EEEE, dd-MMM-yy HH:mm:ss zzz",
            "EEE MMM d HH:mm:ss yyyy",
        ]
        // asctime pads single-digit days with a second space ("Nov  6").
        let normalized = text.split(separator: " ").joined(separator: " ")
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        for format in formats {
            formatter.dateFormat = format
            if let date = formatter.date(from: normalized) { return date }
        }
        return nil
    }
}
