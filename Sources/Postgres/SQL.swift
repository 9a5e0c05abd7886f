/// A SQL statement whose interpolated values become bound parameters.
///
///     let sql: SQL = "SELECT * FROM agents WHERE id = \(id) AND name = \(name)"
///     // text: "SELECT * FROM agents WHERE id = $1 AND name = $2", two binds
///
/// Values never become part of the statement text. A statement is kept as segments (literal text
/// and bind slots) and its `$n` placeholders are numbered once, when the text is rendered, so
/// interpolating another `SQL` splices its segments without ever rescanning text: comments,
/// `E'…'` strings and `$$…$$` bodies in a fragment stay exactly as written. Raw text enters only
/// through `SQL.unsafeSQL(_:)`, which must never receive user input.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    enum Segment: Sendable {
        case text(String)
        /// The next bind, in order: segments hold exactly one `.bind` per element of `binds`.
        case bind
    }

    private(set) var segments: [Segment]
    public private(set) var binds: [PostgresBind]

    public init(stringLiteral value: String) {
        segments = value.isEmpty ? [] : [.text(value)]
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        segments = stringInterpolation.segments
        binds = stringInterpolation.binds
    }

    /// Statement text taken verbatim. For identifiers and fragments chosen by code, never input.
    public static func unsafeSQL(_ text: String) -> SQL {
        SQL(stringLiteral: text)
    }

    /// The statement text with placeholders numbered `$1…$n` in bind order.
    public var text: String {
        if binds.isEmpty, segments.count == 1, case .text(let only) = segments[0] { return only }
        var result = ""
        var number = 0
        for segment in segments {
            switch segment {
            case .text(let text): result += text
            case .bind:
                number += 1
                result += "$"
                result += String(number)
            }
        }
        return result
    }

    /// Appends another fragment; its binds follow ours.
    public mutating func append(_ other: SQL) {
        segments += other.segments
        binds += other.binds
    }

    /// Joins fragments with a separator (e.g. `" AND "`).
    public static func joined(_ parts: [SQL], separator: String) -> SQL {
        var result: SQL = ""
        for (index, part) in parts.enumerated() {
            if index > 0 { result.append(.unsafeSQL(separator)) }
            result.append(part)
        }
        return result
    }

    public var description: String { text }

    public struct StringInterpolation: StringInterpolationProtocol {
        var segments: [Segment] = []
        var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            segments.reserveCapacity(interpolationCount * 2 + 1)
        }

        public mutating func appendLiteral(_ literal: String) {
            guard !literal.isEmpty else { return }
            segments.append(.text(literal))
        }

        /// A value: becomes `$n`.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresBind)
            segments.append(.bind)
        }

        /// A value that may be NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            if let value {
                appendInterpolation(value)
            } else {
                binds.append(PostgresBind(type: .unspecified, text: nil))
                segments.append(.bind)
            }
        }

        /// A fragment: its segments are spliced in; its binds are numbered after ours at render.
        public mutating func appendInterpolation(_ fragment: SQL) {
            segments += fragment.segments
            binds += fragment.binds
        }
    }
}

/// One bound parameter: its type and its text-format value (`nil` is SQL NULL).
public struct PostgresBind: Sendable {
    public var type: PostgresDataType
    public var text: String?

    public init(type: PostgresDataType, text: String?) {
        self.type = type
        self.text = text
    }
}
