import Foundation

/// Writes JSON text straight into a byte buffer: the completer builds one document per batch (job
/// states, usage rows, counter deltas) and binds it as a single `jsonb` parameter, expanded in SQL
/// with `jsonb_to_recordset`. No intermediate tree, no `JSONEncoder` (measured too slow for the
/// hot path, see DESIGN.md).
struct JSONWriter {
    private(set) var bytes: [UInt8] = []
    /// Whether the next member/element needs a comma before it, per open container.
    private var needsComma: [Bool] = []

    init(capacity: Int = 1024) {
        bytes.reserveCapacity(capacity)
    }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    /// Starts a member: writes `"key":`; the value written next belongs to it.
    mutating func key(_ key: String) {
        separate()
        writeString(key)
        bytes.append(UInt8(ascii: ":"))
        // The value that follows must not get a comma of its own.
        if !needsComma.isEmpty { needsComma[needsComma.count - 1] = false }
        pendingValueAfterKey = true
    }

    private var pendingValueAfterKey = false

    private mutating func separate() {
        if pendingValueAfterKey {
            pendingValueAfterKey = false
            if !needsComma.isEmpty { needsComma[needsComma.count - 1] = true }
            return
        }
        guard !needsComma.isEmpty else { return }
        if needsComma[needsComma.count - 1] { bytes.append(UInt8(ascii: ",")) }
        needsComma[needsComma.count - 1] = true
    }

    mutating func value(_ text: String?) {
        separate()
        guard let text else { return appendLiteral("null") }
        writeString(text)
    }

    mutating func value(_ number: Int?) {
        separate()
        guard let number else { return appendLiteral("null") }
        appendLiteral(String(number))
    }

    mutating func value(_ flag: Bool) {
        separate()
        appendLiteral(flag ? "true" : "false")
    }

    /// An exact decimal number (`Decimal.description` is its full expansion).
    mutating func value(_ number: Decimal?) {
        separate()
        guard let number else { return appendLiteral("null") }
        appendLiteral(number.description)
    }

    mutating func null() {
        separate()
        appendLiteral("null")
    }

    /// A value that is already JSON text (a stored document being carried over).
    mutating func raw(_ json: String) {
        separate()
        bytes.append(contentsOf: json.utf8)
    }

    mutating func member(_ name: String, _ text: String?) { key(name); value(text) }
    mutating func member(_ name: String, _ number: Int?) { key(name); value(number) }
    mutating func member(_ name: String, _ number: Decimal?) { key(name); value(number) }
    mutating func member(_ name: String, _ flag: Bool) { key(name); value(flag) }

    private mutating func appendLiteral(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    private mutating func writeString(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "\\"))
            case UInt8(ascii: "\n"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case UInt8(ascii: "\r"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case UInt8(ascii: "\t"): bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0x00..<0x20:
                // PostgreSQL's jsonb refuses \u0000; a NUL in provider text becomes U+FFFD.
                if byte == 0 {
                    bytes.append(contentsOf: Array("\\ufffd".utf8))
                } else {
                    bytes.append(contentsOf: Array("\\u00".utf8))
                    bytes.append(Self.hex[Int(byte >> 4)])
                    bytes.append(Self.hex[Int(byte & 0xF)])
                }
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
