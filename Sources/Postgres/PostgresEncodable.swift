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

extension Array: PostgresEncodable where Element == String {
    /// Binds as `text[]`.
    public var postgresBind: PostgresBind { PostgresBind(type: .textArray, text: PostgresArrayLiteral.format(self)) }
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
