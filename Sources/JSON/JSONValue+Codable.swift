import Foundation

// Codable bridges for the edges (Foundation encoders elsewhere in the package). The writer and the
// parser are the fast, order- and text-preserving way; decoding through `Decoder` cannot see
// number text or member order, so objects decoded this way come back sorted by key.

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: JSONKey.self) {
            var members: [(key: String, value: JSONValue)] = []
            for key in container.allKeys.sorted(by: { $0.stringValue < $1.stringValue }) {
                members.append((key.stringValue, try container.decode(JSONValue.self, forKey: key)))
            }
            self = .object(members)
            return
        }
        if var container = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !container.isAtEnd { items.append(try container.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else {
            self = .string(try container.decode(String.self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .null:
            var container = encoder.singleValueContainer()
            try container.encodeNil()
        case .bool(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .number(let text):
            var container = encoder.singleValueContainer()
            if Self.isInteger(text), let integer = Int(text) {
                try container.encode(integer)
            } else {
                try container.encode(try Self.decimal(text, codingPath: encoder.codingPath))
            }
        case .string(let value):
            var container = encoder.singleValueContainer()
            try container.encode(value)
        case .array(let items):
            var container = encoder.unkeyedContainer()
            for item in items { try container.encode(item) }
        case .object(let members):
            var container = encoder.container(keyedBy: JSONKey.self)
            for member in members { try container.encode(member.value, forKey: JSONKey(member.key)) }
        }
    }
}

extension JSONValue {
    /// The number as a `Decimal` for a Foundation encoder, or an error: `Decimal(string:)` gives nil
    /// past an exponent of about ±127 and 0 on underflow, and a number must never be written as 0
    /// (or dropped) because it did not fit. The writer (`encoded()`) keeps any number's text.
    static func decimal(_ text: String, codingPath: [any CodingKey]) throws -> Decimal {
        let mantissa = text.prefix { $0 != "e" && $0 != "E" }
        let isZero = !mantissa.contains { ("1"..."9").contains($0) }
        guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), value.isZero == isZero else {
            throw EncodingError.invalidValue(text, EncodingError.Context(
                codingPath: codingPath, debugDescription: "the JSON number \(text) cannot be held by Decimal"))
        }
        return value
    }
}

/// A coding key with any name, for documents whose keys are data.
public struct JSONKey: CodingKey {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ name: String) { stringValue = name }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { nil }
}

extension JSONValue {
    /// Compact UTF-8 bytes as `Data`, members in their order.
    public func encoded(sortingKeys: Bool = false) -> Data {
        Data(encodedBytes(sortingKeys: sortingKeys))
    }
}
