import Catalog
import Foundation
import Logging

/// `LOG_FORMAT=json`: one JSON object per line — `ts`, `level`, `logger`, `msg`, then every
/// metadata key (dot notation kept as flat keys: `"llm.model": "gpt-4o"`). Log shippers parse it
/// without a grok pattern, and a value containing a newline cannot forge a second line.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    /// Writes each line to standard error in one call.
    public static func standardError(label: String) -> JSONLogHandler {
        JSONLogHandler(label: label) { line in FileHandle.standardError.write(Data(line.utf8)) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(
        level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?,
        source: String, file: String, function: String, line: UInt
    ) {
        var merged = metadata
        if let explicit { merged.merge(explicit) { _, new in new } }
        write(Self.line(date: Date(), level: level, label: label, message: message.description, metadata: merged))
    }

    static func line(date: Date, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata) -> String {
        var text = "{\"ts\":"
        appendString(Timestamp.string(from: date), to: &text)
        text += ",\"level\":"
        appendString(level.rawValue, to: &text)
        text += ",\"logger\":"
        appendString(label, to: &text)
        text += ",\"msg\":"
        appendString(message, to: &text)
        for key in metadata.keys.sorted() where !["ts", "level", "logger", "msg"].contains(key) {
            text += ","
            appendString(key, to: &text)
            text += ":"
            appendValue(metadata[key] ?? .string(""), to: &text)
        }
        text += "}\n"
        return text
    }

    private static func appendValue(_ value: Logger.MetadataValue, to text: inout String) {
        switch value {
        case .string(let string): appendString(string, to: &text)
        case .stringConvertible(let convertible): appendString(convertible.description, to: &text)
        case .array(let items):
            text += "["
            for (index, item) in items.enumerated() {
                if index > 0 { text += "," }
                appendValue(item, to: &text)
            }
            text += "]"
        case .dictionary(let members):
            text += "{"
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { text += "," }
                appendString(key, to: &text)
                text += ":"
                appendValue(members[key] ?? .string(""), to: &text)
            }
            text += "}"
        }
    }

    /// A JSON string literal (RFC 8259 escapes; control characters as \u00XX).
    static func appendString(_ string: String, to text: inout String) {
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20:
                text += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}
