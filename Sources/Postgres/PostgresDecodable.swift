import Foundation

/// A Swift type a column value can be decoded into from PostgreSQL's text format.
public protocol PostgresDecodable {
    init(postgresText text: String) throws
    /// What a SQL NULL decodes to; throws for non-optional types.
    static func decodeNull() throws -> Self
}

extension PostgresDecodable {
    public static func decodeNull() throws -> Self {
        throw PostgresError(kind: .decoding, message: "unexpected NULL for non-optional \(Self.self)")
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    public init(postgresText text: String) throws { self = .some(try Wrapped(postgresText: text)) }
    public static func decodeNull() throws -> Self { nil }
}

/// NUMERIC text always uses `.`; one locale for every value (creating one per value was costly).
private let posixLocale = Locale(identifier: "en_US_POSIX")

private func decodingError<T>(_ text: String, _ type: T.Type) -> PostgresError {
    PostgresError(kind: .decoding, message: "cannot decode '\(text.prefix(64))' as \(type)")
}

extension String: PostgresDecodable {
    public init(postgresText text: String) throws { self = text }
}

extension Int: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = Int(text) else { throw decodingError(text, Int.self) }
        self = value
    }
}

extension Int64: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = Int64(text) else { throw decodingError(text, Int64.self) }
        self = value
    }
}

extension Int32: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = Int32(text) else { throw decodingError(text, Int32.self) }
        self = value
    }
}

extension Bool: PostgresDecodable {
    public init(postgresText text: String) throws {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw decodingError(text, Bool.self)
        }
    }
}

extension Double: PostgresDecodable {
    public init(postgresText text: String) throws {
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { throw decodingError(text, Double.self) }
            self = value
        }
    }
}

extension Decimal: PostgresDecodable {
    /// Exact: NUMERIC's text form is parsed digit by digit, never through Double.
    public init(postgresText text: String) throws {
        guard let value = Decimal(string: text, locale: posixLocale) else {
            throw decodingError(text, Decimal.self)
        }
        self = value
    }
}

extension UUID: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = UUID(uuidString: text) else { throw decodingError(text, UUID.self) }
        self = value
    }
}

extension Date: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard let value = PostgresTimestamp.parse(text) else { throw decodingError(text, Date.self) }
        self = value
    }
}

extension Data: PostgresDecodable {
    public init(postgresText text: String) throws {
        guard text.hasPrefix("\\x") else { throw decodingError(text, Data.self) }
        var bytes = [UInt8]()
        bytes.reserveCapacity((text.utf8.count - 2) / 2)
        var high: UInt8?
        for character in text.utf8.dropFirst(2) {
            guard let nibble = hexValue(character) else { throw decodingError(text, Data.self) }
            if let h = high { bytes.append(h << 4 | nibble); high = nil } else { high = nibble }
        }
        self = Data(bytes)
    }
}

private func hexValue(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    /// Decodes a one-dimensional array literal such as `{a,"b c",NULL}`.
    public init(postgresText text: String) throws {
        guard let items = PostgresArrayLiteral.parse(text) else { throw decodingError(text, [Element].self) }
        self = try items.map { item in
            if let item { try Element(postgresText: item) } else { try Element.decodeNull() }
        }
    }
}
