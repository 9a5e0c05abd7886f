/// A JSON document held as a value, exactly as written: object members keep their order (OpenAI's
/// structured outputs generate fields in the schema's key order, so a schema must reach the
/// provider as written) and numbers keep their text (prices stay exact, `1.0` stays `1.0`).
///
/// One type for the whole package: request bodies the adapters build, provider responses, stored
/// tool arguments, the registry's request bodies and the stub's documents.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// The number's literal text, e.g. `0.0000025`, `1e-6` or `42`.
    case number(String)
    case string(String)
    case array([JSONValue])
    /// Members in document order. Parsed documents have unique keys; values built in code should too.
    case object([(key: String, value: JSONValue)])
}

// MARK: - Building

extension JSONValue {
    /// An integer number.
    @inlinable
    public static func int(_ value: Int) -> JSONValue { .number(String(value)) }

    /// A floating-point number in its shortest round-tripping form (`0.3`, not `0.299999…`);
    /// infinities and NaN, which JSON cannot express, become `null`.
    public static func double(_ value: Double) -> JSONValue {
        guard value.isFinite else { return .null }
        return .number(String(value))
    }

    /// An object from members, dropping those whose value is `nil`.
    public static func object(dropping members: [(String, JSONValue?)]) -> JSONValue {
        .object(members.compactMap { key, value in value.map { (key: key, value: $0) } })
    }
}

// MARK: - Reading

extension JSONValue {
    /// The first member named `key` of an object. Setting replaces that member in place, appends
    /// a new one at the end, or removes it when set to `nil`; setting on a non-object does nothing.
    public subscript(key: String) -> JSONValue? {
        get {
            guard case .object(let members) = self else { return nil }
            for member in members where member.key == key { return member.value }
            return nil
        }
        set {
            guard case .object(var members) = self else { return }
            self = .null  // drop the second reference so `members` is mutated in place
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append((key, newValue))
            }
            self = .object(members)
        }
    }

    public var objectValue: [(key: String, value: JSONValue)]? {
        if case .object(let members) = self { return members }
        return nil
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let items) = self { return items }
        return nil
    }

    public var stringValue: String? {
        if case .string(let text) = self { return text }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// Integers, and numbers written with a fraction or exponent that hold a whole value (some
    /// servers send `12.0` for counts).
    public var intValue: Int? {
        guard case .number(let text) = self else { return nil }
        if let value = Int(text) { return value }
        guard let value = Double(text), value.rounded() == value, abs(value) < 1e15 else { return nil }
        return Int(value)
    }

    public var doubleValue: Double? {
        guard case .number(let text) = self else { return nil }
        return Double(text)
    }

    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A scalar as text: error `code` fields are strings at OpenAI, numbers at vLLM.
    public var scalarText: String? {
        switch self {
        case .string(let value): return value
        case .number(let text): return text
        case .bool(let value): return value ? "true" : "false"
        default: return nil
        }
    }

    /// The JSON type name used in messages and schemas (`integer` for numbers without fraction or exponent).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .number(let text): return Self.isInteger(text) ? "integer" : "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Integer literal text: digits only, optional minus, no fraction or exponent.
    public static func isInteger(_ text: String) -> Bool {
        var utf8 = Substring(text).utf8[...]
        if utf8.first == UInt8(ascii: "-") { utf8 = utf8.dropFirst() }
        return !utf8.isEmpty && utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The same value with object members sorted by key, recursively: a canonical form for
    /// comparing or hashing documents whose member order does not matter.
    public var sortingKeys: JSONValue {
        switch self {
        case .array(let items): return .array(items.map(\.sortingKeys))
        case .object(let members):
            return .object(members.map { (key: $0.key, value: $0.value.sortingKeys) }.sorted { $0.key < $1.key })
        default: return self
        }
    }
}

// MARK: - Equality

extension JSONValue: Equatable, Hashable {
    /// JSON equality: object members compare as unordered sets; numbers by value (`1` == `1.0`).
    /// Use `==` on `encodedString()` when the order of members matters.
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.number(a), .number(b)):
            if a == b { return true }
            // Integers exactly (a Double would make 2^53 + 1 equal 2^53); otherwise by value.
            if let x = Int(a), let y = Int(b) { return x == y }
            guard let x = Double(a), let y = Double(b) else { return false }
            return x == y
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            guard a.count == b.count else { return false }
            for member in a {
                guard let other = b.first(where: { $0.key == member.key }), other.value == member.value else { return false }
            }
            return true
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let value): hasher.combine(value)
        case .number(let text): hasher.combine(Double(text) ?? 0)
        case .string(let text): hasher.combine(text)
        case .array(let items): hasher.combine(items)
        case .object(let members):
            // Order-independent, like equality.
            var combined = 0
            for member in members {
                var memberHasher = Hasher()
                memberHasher.combine(member.key)
                memberHasher.combine(member.value)
                combined ^= memberHasher.finalize()
            }
            hasher.combine(members.count)
            hasher.combine(combined)
        }
    }
}

// MARK: - Literals

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(String(value)) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// Members in the order written.
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(elements.map { (key: $0.0, value: $0.1) })
    }
    public init(nilLiteral: ()) { self = .null }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { encodedString() }
}
