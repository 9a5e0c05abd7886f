import Foundation

/// One value of a LiteLLM entry, decoded loosely: the map mixes numbers, strings, booleans and nested
/// objects, and one odd field must not make the whole file unreadable. Numbers are read as `Decimal`
/// straight from the JSON text (JSONDecoder parses the digits for `Decimal`), so prices stay exact.
enum LiteLLMValue: Decodable, Sendable {
    case bool(Bool)
    case integer(Int)
    case number(Decimal)
    case string(String)
    /// null, an object or an array: nothing the importer reads.
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .other
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .integer(value)
        } else if let value = try? container.decode(Decimal.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else {
            self = .other
        }
    }
}

/// One entry of the map: its fields, or `nil` fields when the value is not a JSON object.
struct LiteLLMEntry: Decodable, Sendable {
    var fields: [String: LiteLLMValue]?

    init(fields: [String: LiteLLMValue]?) {
        self.fields = fields
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        fields = try? container.decode([String: LiteLLMValue].self)
    }

    func string(_ key: String) -> String? {
        if case .string(let value)? = fields?[key] { return value }
        return nil
    }

    /// True only for a JSON `true` (LiteLLM omits flags that are false).
    func flag(_ key: String) -> Bool {
        if case .bool(true)? = fields?[key] { return true }
        return false
    }

    func isFalse(_ key: String) -> Bool {
        if case .bool(false)? = fields?[key] { return true }
        return false
    }

    /// A positive whole number (token limits); anything else reads as unknown.
    func positiveInt(_ key: String) -> Int? {
        switch fields?[key] {
        case .integer(let value)? where value > 0: return value
        case .number(let value)? where value > 0 && value == value.integerPart:
            return Int(exactly: NSDecimalNumber(decimal: value).int64Value)
        default: return nil
        }
    }

    /// A non-negative exact number (per-token prices); anything else (missing, text, negative) is unknown.
    func nonNegativeDecimal(_ key: String) -> Decimal? {
        switch fields?[key] {
        case .integer(let value)? where value >= 0: return Decimal(value)
        case .number(let value)? where value >= 0 && !value.isNaN: return value
        default: return nil
        }
    }
}

extension Decimal {
    /// The whole-number part of a non-negative value (exact, no Double), to test "is an integer".
    var integerPart: Decimal {
        var source = self
        var result = Decimal()
        NSDecimalRound(&result, &source, 0, .down)
        return result
    }
}
