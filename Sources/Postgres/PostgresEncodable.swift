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
    public var postgresBind: PostgresBind {
        PostgresBind(type: .bytea, text: "\\x" + map { String(format: "%02x", $0) }.joined())
    }
}

extension Array: PostgresEncodable where Element == String {
    /// Binds as `text[]`.
    public var postgresBind: PostgresBind { PostgresBind(type: .textArray, text: PostgresArrayLiteral.format(self)) }
}

/// A `jsonb` value: any `Codable` value, encoded with the given encoder (snake_case by default
/// nowhere: keys are written exactly as the type's `CodingKeys` say).
public struct PostgresJSON<Value: Codable & Sendable>: PostgresEncodable, PostgresDecodable, Sendable {
    public var value: Value

    public init(_ value: Value) { self.value = value }

    public var postgresBind: PostgresBind {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) }
        return PostgresBind(type: .jsonb, text: text ?? "null")
    }

    public init(postgresText text: String) throws {
        do {
            value = try JSONDecoder().decode(Value.self, from: Data(text.utf8))
        } catch {
            throw PostgresError(kind: .decoding, message: "jsonb value does not decode as \(Value.self): \(error)")
        }
    }
}

/// Raw JSON text bound as `jsonb`, for documents assembled elsewhere.
public struct PostgresJSONText: PostgresEncodable, PostgresDecodable, Sendable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(postgresText text: String) throws { self.text = text }
    public var postgresBind: PostgresBind { PostgresBind(type: .jsonb, text: text) }
}
