import Catalog
import Foundation

/// Reads how long a provider asked us to wait before retrying.
///
/// Every value is clamped to `maximum` before it becomes a `Duration`: a header is untrusted input
/// (a proxy or a CDN page may send `1e17`), and converting an out-of-range `Double` traps.
public enum RetryAfter {
    /// The longest wait we accept from a header: one day.
    public static let maximumSeconds: Double = 86_400

    /// In order: `retry-after-ms` (OpenAI, fractional milliseconds), `Retry-After` (delta-seconds
    /// or an HTTP date), then the reset time of an exhausted rate limit (Anthropic's RFC 3339
    /// `anthropic-ratelimit-*-reset`, OpenAI's `x-ratelimit-reset-*` such as `6m0s`; only for a
    /// limit whose `remaining` is 0, the latest of them). Dates in the past give zero; unreadable
    /// values give `nil`.
    public static func parse(headers: [(name: String, value: String)], now: Date = Date()) -> Duration? {
        func header(_ name: String) -> String? {
            headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?
                .value.trimmingCharacters(in: .whitespaces)
        }
        if let text = header("retry-after-ms"), let milliseconds = Double(text), !milliseconds.isNaN {
            return clamped(milliseconds: milliseconds)
        }
        if let text = header("retry-after"), let value = parseRetryAfterValue(text, now: now) {
            return value
        }
        return rateLimitReset(headers: headers, now: now)
    }

    /// One `Retry-After` value: `"120"`, `"1.5"` (not standard, but some gateways send it) or
    /// `"Wed, 21 Oct 2015 07:28:00 GMT"`.
    public static func parseRetryAfterValue(_ text: String, now: Date = Date()) -> Duration? {
        if let seconds = Double(text) {
            return seconds.isNaN ? nil : clamped(seconds: seconds)
        }
        guard let date = parseHTTPDate(text) else { return nil }
        return clamped(seconds: date.timeIntervalSince(now))
    }

    /// `seconds` limited to 0…`maximumSeconds`, rounded up to whole milliseconds.
    static func clamped(seconds: Double) -> Duration {
        clamped(milliseconds: seconds * 1000)
    }

    static func clamped(milliseconds: Double) -> Duration {
        let bounded = milliseconds.isNaN ? 0 : min(max(0, milliseconds), maximumSeconds * 1000)
        return .milliseconds(Int64(bounded.rounded(.up)))
    }

    // MARK: - Rate-limit reset headers

    /// The latest reset among exhausted limits. Anthropic: `anthropic-ratelimit-{requests,tokens,
    /// input-tokens,output-tokens}-{remaining,reset}`; OpenAI: `x-ratelimit-{remaining,reset}-{requests,tokens}`.
    static func rateLimitReset(headers: [(name: String, value: String)], now: Date) -> Duration? {
        var latest: Duration?
        for (name, value) in headers {
            let lower = name.lowercased()
            let remainingName: String
            let wait: Duration?
            if lower.hasPrefix("anthropic-ratelimit-"), lower.hasSuffix("-reset") {
                remainingName = String(lower.dropLast("-reset".count)) + "-remaining"
                wait = Timestamp.date(from: value.trimmingCharacters(in: .whitespaces)).map { clamped(seconds: $0.timeIntervalSince(now)) }
            } else if lower.hasPrefix("x-ratelimit-reset-") {
                remainingName = "x-ratelimit-remaining-" + lower.dropFirst("x-ratelimit-reset-".count)
                wait = parseGoDuration(value.trimmingCharacters(in: .whitespaces)).map { clamped(seconds: $0) }
            } else {
                continue
            }
            let remaining = headers.first { $0.name.lowercased() == remainingName }?.value.trimmingCharacters(in: .whitespaces)
            guard remaining == "0", let wait else { continue }
            if latest.map({ wait > $0 }) ?? true { latest = wait }
        }
        return latest
    }

    /// OpenAI's reset durations: `1s`, `6m0s`, `1h2m3.5s`, `20ms`, `0.5s`. Seconds, or nil.
    static func parseGoDuration(_ text: String) -> Double? {
        var total = 0.0
        var number = ""
        var index = text.startIndex
        var sawUnit = false
        while index < text.endIndex {
            let character = text[index]
            if character.isASCII, character.isNumber || character == "." {
                number.append(character)
                index = text.index(after: index)
                continue
            }
            guard let value = Double(number) else { return nil }
            number = ""
            let rest = text[index...]
            if rest.hasPrefix("ms") {
                total += value / 1000
                index = text.index(index, offsetBy: 2)
            } else {
                switch character {
                case "h": total += value * 3600
                case "m": total += value * 60
                case "s": total += value
                default: return nil
                }
                index = text.index(after: index)
            }
            sawUnit = true
        }
        guard number.isEmpty, sawUnit, total.isFinite else { return nil }
        return total
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
