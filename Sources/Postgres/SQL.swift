/// A SQL statement whose interpolated values become bound parameters.
///
///     let sql: SQL = "SELECT * FROM agents WHERE id = \(id) AND name = \(name)"
///     // text: "SELECT * FROM agents WHERE id = $1 AND name = $2", two binds
///
/// Values never become part of the statement text. Interpolating another `SQL` splices its text
/// and renumbers its binds, so statements can be assembled from fragments. Raw text enters only
/// through `SQL.unsafeSQL(_:)`, which must never receive user input.
public struct SQL: Sendable, ExpressibleByStringInterpolation, CustomStringConvertible {
    public private(set) var text: String
    public private(set) var binds: [PostgresBind]

    public init(stringLiteral value: String) {
        text = value
        binds = []
    }

    public init(stringInterpolation: StringInterpolation) {
        text = stringInterpolation.text
        binds = stringInterpolation.binds
    }

    /// Statement text taken verbatim. For identifiers and fragments chosen by code, never input.
    public static func unsafeSQL(_ text: String) -> SQL {
        SQL(stringLiteral: text)
    }

    /// Appends another fragment, renumbering its binds after ours.
    public mutating func append(_ other: SQL) {
        var interpolation = StringInterpolation(literalCapacity: 0, interpolationCount: 0)
        interpolation.text = text
        interpolation.binds = binds
        interpolation.appendInterpolation(other)
        text = interpolation.text
        binds = interpolation.binds
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
        var text = ""
        var binds: [PostgresBind] = []

        public init(literalCapacity: Int, interpolationCount: Int) {
            text.reserveCapacity(literalCapacity + interpolationCount * 3)
        }

        public mutating func appendLiteral(_ literal: String) {
            text += literal
        }

        /// A value: becomes `$n`.
        public mutating func appendInterpolation(_ value: some PostgresEncodable) {
            binds.append(value.postgresBind)
            text += "$\(binds.count)"
        }

        /// A value that may be NULL.
        public mutating func appendInterpolation(_ value: (some PostgresEncodable)?) {
            if let value {
                appendInterpolation(value)
            } else {
                binds.append(PostgresBind(type: .unspecified, text: nil))
                text += "$\(binds.count)"
            }
        }

        /// A fragment: its text is spliced in with its `$n` placeholders renumbered.
        public mutating func appendInterpolation(_ fragment: SQL) {
            let offset = binds.count
            binds += fragment.binds
            text += offset == 0 ? fragment.text : Self.renumber(fragment.text, by: offset)
        }

        /// Shifts every `$n` placeholder outside quotes by `offset`.
        private static func renumber(_ sql: String, by offset: Int) -> String {
            var result = ""
            var characters = Array(sql)[...]
            var quote: Character?
            while let character = characters.popFirst() {
                if let open = quote {
                    result.append(character)
                    if character == open { quote = nil }
                    continue
                }
                if character == "'" || character == "\"" {
                    quote = character
                    result.append(character)
                } else if character == "$", let first = characters.first, first.isASCII, first.isNumber {
                    var digits = ""
                    while let digit = characters.first, digit.isASCII, digit.isNumber {
                        digits.append(digit)
                        characters.removeFirst()
                    }
                    result += "$\((Int(digits) ?? 0) + offset)"
                } else {
                    result.append(character)
                }
            }
            return result
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
