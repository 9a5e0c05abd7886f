import Foundation

/// One value of a LiteLLM entry that the importer reads. Numbers are read as `Decimal` straight from
/// the JSON text (JSONDecoder parses the digits for `Decimal`), so prices stay exact.
enum LiteLLMValue: Sendable, Equatable {
    case bool(Bool)
    case integer(Int)
    case number(Decimal)
    case string(String)
}

/// One entry of the map, reduced to the fields the importer reads; `fields` is nil when the entry is
/// not a JSON object.
///
/// Only known keys are decoded, each as the type LiteLLM uses for it: the map has ~5,000 entries with
/// dozens of fields each, and probing every value for every type costs a thrown error per miss
/// (seconds for the whole file). A value of an unexpected type is probed further, and ignored when
/// nothing fits, so one odd field never makes the file unreadable.
struct LiteLLMEntry: Decodable, Sendable {
    var fields: [String: LiteLLMValue]?

    enum Kind { case text, flag, count, price }

    static let knownKeys: [(key: String, kind: Kind)] = [
        ("litellm_provider", .text), ("mode", .text), ("deprecation_date", .text), ("successor_model", .text),
        ("max_input_tokens", .count), ("max_tokens", .count), ("max_output_tokens", .count),
        ("input_cost_per_token", .price), ("output_cost_per_token", .price), ("cache_read_input_token_cost", .price),
        ("cache_creation_input_token_cost", .price),
        ("supports_none_reasoning_effort", .flag), ("supports_sampling_params", .flag),
    ] + LiteLLMCatalog.capabilityFlags.map { ("supports_" + $0, Kind.flag) }

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    init(fields: [String: LiteLLMValue]?) {
        self.fields = fields
    }

    init(from decoder: any Decoder) throws {
        guard let container = try? decoder.container(keyedBy: Key.self) else {
            fields = nil
            return
        }
        var fields: [String: LiteLLMValue] = [:]
        for (name, kind) in Self.knownKeys {
            let key = Key(name)
            guard container.contains(key), (try? container.decodeNil(forKey: key)) == false else { continue }
            if let value = Self.decode(container, key, preferring: kind) { fields[name] = value }
        }
        self.fields = fields
    }

    /// The expected type first (the common case, no error thrown), then the others.
    private static func decode(_ c: KeyedDecodingContainer<Key>, _ key: Key, preferring kind: Kind) -> LiteLLMValue? {
        let probes: [Kind]
        switch kind {
        case .text: probes = [.text, .count, .price, .flag]
        case .flag: probes = [.flag, .text, .count, .price]
        case .count: probes = [.count, .price, .text, .flag]
        case .price: probes = [.price, .text, .flag]
        }
        for probe in probes {
            switch probe {
            case .text: if let v = try? c.decode(String.self, forKey: key) { return .string(v) }
            case .flag: if let v = try? c.decode(Bool.self, forKey: key) { return .bool(v) }
            case .count: if let v = try? c.decode(Int.self, forKey: key) { return .integer(v) }
            case .price: if let v = try? c.decode(Decimal.self, forKey: key) { return .number(v) }
            }
        }
        return nil
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
