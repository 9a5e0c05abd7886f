import Foundation

/// A Swift value that can be bound as a query parameter (sent in PostgreSQL's text format).
public protocol PostgresEncodable: Sendable {
    var postgresBind: PostgresBind { get }
}

extension String: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .text, text: self) }
}

extension Int: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .int8, text: String(self)) }
}

extension Int64: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .int8, text: String(self)) }
}

extension Int32: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .int4, text: String(self)) }
}

extension Bool: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .bool, text: self ? "t" : "f") }
}

extension Double: PostgresEncodable {
    public var postgresBind: PostgresBind {
        let text: String
        if isNaN { text = "NaN" } else if self == .infinity { text = "Infinity" } else if self == -.infinity { text = "-Infinity" } else { text = "\(self)" }
        return PostgresBind(type: .float8, text: text)
    }
}

extension Decimal: PostgresEncodable {
    /// Exact: Decimal's description is its full decimal expansion, which NUMERIC parses as is.
    public var postgresBind: PostgresBind { PostgresBind(type: .numeric, text: self.description) }
}

extension UUID: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .uuid, text: uuidString.lowercased()) }
}

extension Date: PostgresEncodable {
    public var postgresBind: PostgresBind { PostgresBind(type: .timestamptz, text: PostgresTimestamp.format(self)) }
}

extension Data: PostgresEncodable {
    /// `\\x` followed by two hex digits per byte, written straight into one buffer.
    public var postgresBind: PostgresBind {
        let digits: StaticString = "0123456789abcdef"
        let text = String(unsafeUninitializedCapacity: 2 + count * 2) { buffer in
            buffer[0] = UInt8(ascii: "\\")
            buffer[1] = UInt8(ascii: "x")
            var index = 2
            digits.withUTF8Buffer { hex in
                for byte in self {
                    buffer[index] = hex[Int(byte >> 4)]
                    buffer[index + 1] = hex[Int(byte & 0x0f)]
                    index += 2
                }
            }
            return index
        }
        return PostgresBind(type: .bytea, text: text)
    }
}

/// A value that can be an element of a bound array (`[UUID]` → `uuid[]`, `[Int?]` → `int8[]`
/// with NULLs), e.g. for `WHERE id = ANY(\(ids))` or `unnest(\(a), \(b))` over a batch.
public protocol PostgresArrayElement: Sendable {
    /// The array type this element makes (`uuid[]` for `UUID`).
    static var postgresArrayType: PostgresDataType { get }
    /// The element's text form; `nil` is NULL.
    var postgresArrayElementText: String? { get }
}

extension PostgresArrayElement where Self: PostgresEncodable {
    public var postgresArrayElementText: String? { postgresBind.text }
}

extension Optional: PostgresArrayElement where Wrapped: PostgresArrayElement {
    public static var postgresArrayType: PostgresDataType { Wrapped.postgresArrayType }
    public var postgresArrayElementText: String? { self?.postgresArrayElementText ?? nil }
}

extension String: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .textArray } }
extension Int: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .int8Array } }
extension Int64: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .int8Array } }
extension Int32: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .int4Array } }
extension Bool: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .boolArray } }
extension Double: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .float8Array } }
extension Decimal: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .numericArray } }
extension UUID: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .uuidArray } }
extension Date: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .timestamptzArray } }
extension PostgresJSONText: PostgresArrayElement { public static var postgresArrayType: PostgresDataType { .jsonbArray } }

extension Array: PostgresEncodable where Element: PostgresArrayElement {
    /// Binds as a one-dimensional array of the element's type; `nil` elements are NULL.
    public var postgresBind: PostgresBind {
        PostgresBind(type: Element.postgresArrayType, text: PostgresArrayLiteral.format(map(\.postgresArrayElementText)))
    }
}

/// A `jsonb` value: any `Codable` value, encoded when it is created (keys exactly as the type's
/// `CodingKeys` say, sorted). Creating one throws when the value cannot be encoded (a `Double.nan`
/// inside, an encoder error), so a bad value is never stored as JSON `null`.
public struct PostgresJSON<Value: Codable & Sendable>: PostgresEncodable, PostgresDecodable, Sendable {
    public let value: Value
    /// The encoded document, as sent to or received from the server.
    public let jsonText: String

    public init(_ value: Value) throws {
        do {
            jsonText = String(decoding: try PostgresJSONCoders.encoder.encode(value), as: UTF8.self)
        } catch {
            throw PostgresError(kind: .invalidValue, message: "cannot encode \(Value.self) as JSON: \(error)")
        }
        self.value = value
    }

    public var postgresBind: PostgresBind { PostgresBind(type: .jsonb, text: jsonText) }

    public init(postgresText text: String) throws {
        do {
            value = try PostgresJSONCoders.decoder.decode(Value.self, from: Data(text.utf8))
        } catch {
            throw PostgresError(kind: .decoding, message: "jsonb value does not decode as \(Value.self): \(error)")
        }
        jsonText = text
    }
}

/// One encoder and one decoder for every value: creating them per value cost more than the
/// decoding itself. Both are only configured here, never mutated later, so sharing is safe.
enum PostgresJSONCoders {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return encoder
    }()
    static let decoder = JSONDecoder()
}

/// Raw JSON text bound as `jsonb`, for documents assembled elsewhere.
public struct PostgresJSONText: PostgresEncodable, PostgresDecodable, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(postgresText text: String) throws { self.text = text }
    public var postgresBind: PostgresBind { PostgresBind(type: .jsonb, text: text) }
}
