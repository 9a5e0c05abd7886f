/// Writes JSON straight into a byte buffer: no intermediate strings, no Foundation.
///
/// Used two ways: `JSONValue.encoded()` writes a whole value; hot paths (provider request bodies,
/// the stub's replies) call the methods directly and never build a value tree. The writer does not
/// check structure: callers pair `beginObject`/`endObject` themselves; commas are inserted for them.
public struct JSONWriter {
    public private(set) var bytes: [UInt8]
    /// Whether the next value or key at the current level needs a comma first.
    private var needsComma = false
    /// Write NUL in strings as U+FFFD instead of `\u0000`: PostgreSQL's jsonb refuses `\u0000`,
    /// so documents bound as jsonb (the gateway's results, errors and batches) replace it.
    private let replacingNUL: Bool

    public init(capacity: Int = 512, replacingNUL: Bool = false) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.replacingNUL = replacingNUL
    }

    /// A writer for documents PostgreSQL stores as jsonb (NUL written as U+FFFD).
    public static func forJSONB(capacity: Int = 512) -> JSONWriter {
        JSONWriter(capacity: capacity, replacingNUL: true)
    }

    // MARK: - Structure

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A member name; the value written next belongs to it.
    public mutating func key(_ name: String) {
        separate()
        writeString(name)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A member name known to need no escaping (an ASCII literal in code).
    public mutating func key(_ name: StaticString) {
        separate()
        bytes.append(UInt8(ascii: "\""))
        name.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: - Scalars

    public mutating func string(_ text: String) {
        separate()
        writeString(text)
        needsComma = true
    }

    public mutating func int(_ value: Int) {
        separate()
        if value >= 0, value < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(value))
        } else {
            bytes.append(contentsOf: String(value).utf8)
        }
        needsComma = true
    }

    /// Shortest round-tripping form; non-finite values (not JSON) are written as `null`.
    public mutating func double(_ value: Double) {
        separate()
        if value.isFinite {
            bytes.append(contentsOf: String(value).utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: value ? "true".utf8 : "false".utf8)
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: "null".utf8)
        needsComma = true
    }

    /// Number text already in JSON form (from a parsed document).
    public mutating func number(_ text: String) {
        separate()
        bytes.append(contentsOf: text.utf8)
        needsComma = true
    }

    /// Bytes that are already one complete JSON value (a pre-encoded fragment).
    public mutating func raw(_ fragment: [UInt8]) {
        separate()
        bytes.append(contentsOf: fragment)
        needsComma = true
    }

    /// A whole value, members in their order (or sorted by key when asked, for canonical text).
    public mutating func value(_ value: JSONValue, sortingKeys: Bool = false) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let text): number(text)
        case .string(let text): string(text)
        case .array(let items):
            beginArray()
            for item in items { self.value(item, sortingKeys: sortingKeys) }
            endArray()
        case .object(let members):
            beginObject()
            if sortingKeys {
                for member in members.sorted(by: { $0.key < $1.key }) {
                    key(member.key)
                    self.value(member.value, sortingKeys: true)
                }
            } else {
                for member in members {
                    key(member.key)
                    self.value(member.value)
                }
            }
            endObject()
        }
    }

    // MARK: - Internals

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Escapes `"`, `\` and control characters; everything else (including non-ASCII) is copied
    /// as UTF-8, and `/` is not escaped.
    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var runStart = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if index > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                bytes.append(UInt8(ascii: "\\"))
                switch byte {
                case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\"))
                case 0x0A: bytes.append(UInt8(ascii: "n"))
                case 0x0D: bytes.append(UInt8(ascii: "r"))
                case 0x09: bytes.append(UInt8(ascii: "t"))
                case 0x08: bytes.append(UInt8(ascii: "b"))
                case 0x0C: bytes.append(UInt8(ascii: "f"))
                case 0x00 where replacingNUL:
                    bytes.append(contentsOf: "ufffd".utf8)
                default:
                    bytes.append(contentsOf: "u00".utf8)
                    bytes.append(Self.hexDigits[Int(byte >> 4)])
                    bytes.append(Self.hexDigits[Int(byte & 0x0F)])
                }
            }
            if utf8.count > runStart { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count])) }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

extension JSONValue {
    /// Compact UTF-8 bytes, members in their order.
    public func encodedBytes(sortingKeys: Bool = false) -> [UInt8] {
        var writer = JSONWriter()
        writer.value(self, sortingKeys: sortingKeys)
        return writer.bytes
    }

    /// Compact text, members in their order.
    public func encodedString(sortingKeys: Bool = false) -> String {
        String(decoding: encodedBytes(sortingKeys: sortingKeys), as: UTF8.self)
    }
}
