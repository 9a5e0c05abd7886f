import Foundation

/// Decimal numbers taken exactly or refused. `Decimal(string:)` returns nil for exponents outside
/// about ±127 and silently rounds past 38 significant digits; a price of `1e200` must never become
/// 0 (or anything else) on its way to the database, so such text is refused up front.
enum ExactDecimal {
    /// JSON number syntax, also accepted as a string for money fields.
    static let pattern = #"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$"#

    static let maximumSignificantDigits = 38
    static let maximumExponent = 100

    static func matchesPattern(_ text: String) -> Bool {
        text.range(of: pattern, options: .regularExpression) != nil
    }

    /// The exact value of a JSON number's text, or nil when Decimal cannot hold it exactly.
    static func parse(_ text: String) -> Decimal? {
        guard matchesPattern(text) else { return nil }
        var mantissa = Substring(text)
        var exponent = 0
        if let e = mantissa.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            guard let value = Int(mantissa[mantissa.index(after: e)...]), abs(value) <= 10_000 else { return nil }
            exponent = value
            mantissa = mantissa[..<e]
        }
        if mantissa.hasPrefix("-") { mantissa = mantissa.dropFirst() }
        let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
        let integerDigits = parts[0]
        let fractionDigits = parts.count > 1 ? parts[1] : ""
        var digits = Substring(integerDigits + fractionDigits)
        let scale = exponent - fractionDigits.count
        // Significant digits: strip leading zeros; trailing zeros only count as magnitude.
        while digits.first == "0" { digits = digits.dropFirst() }
        if digits.isEmpty { return Decimal(0) }
        var trailingZeros = 0
        while digits.last == "0" { digits = digits.dropLast(); trailingZeros += 1 }
        let magnitude = scale + trailingZeros
        guard digits.count <= maximumSignificantDigits,
            abs(magnitude) <= maximumExponent, abs(magnitude + digits.count) <= maximumExponent
        else { return nil }
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), value != 0 else { return nil }
        return value
    }
}
