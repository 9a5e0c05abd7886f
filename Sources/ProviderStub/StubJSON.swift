import JSON

/// The stub reads and writes documents with the package's JSON type (strict parser, ordered
/// members). Its validation and reply code is its own: it shares no translation code with the
/// `Providers` adapters it is used to test.
typealias StubJSON = JSONValue

extension JSONValue {
    var string: String? { stringValue }
    var int: Int? { intValue }
    var double: Double? { doubleValue }
    var bool: Bool? { boolValue }
    var array: [JSONValue]? { arrayValue }
    var object: [(key: String, value: JSONValue)]? { objectValue }
}

/// FNV-1a: a stable hash for deterministic ids (Swift's `Hasher` is seeded per process).
func stableHash<Bytes: Sequence>(_ bytes: Bytes, seed: UInt64 = 0xcbf2_9ce4_8422_2325) -> UInt64 where Bytes.Element == UInt8 {
    var hash = seed
    for byte in bytes {
        hash ^= UInt64(byte)
        hash = hash &* 0x0000_0100_0000_01b3
    }
    return hash
}

/// Token estimate used for every count the stub reports: about four characters per token, and at
/// least one, which is close enough to real tokenizers for budgeting and cost tests.
func estimatedTokens(_ text: String) -> Int {
    text.isEmpty ? 0 : max(1, (text.utf8.count + 3) / 4)
}
