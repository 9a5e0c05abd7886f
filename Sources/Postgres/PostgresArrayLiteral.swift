/// PostgreSQL's text form of one-dimensional arrays: `{a,"b, c",NULL,"say \"hi\""}`.
enum PostgresArrayLiteral {
    /// Every element quoted (so any text, including `NULL` and `{`, stays literal); `nil` is NULL.
    /// Byte-level: `"` and `\` are the only bytes that need escaping, and both are ASCII.
    static func format(_ items: [String?]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + items.reduce(0) { $0 + ($1?.utf8.count ?? 4) + 3 })
        bytes.append(UInt8(ascii: "{"))
        for (index, item) in items.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let item else {
                bytes.append(contentsOf: "NULL".utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in item.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The items, `nil` for NULL; `nil` overall when the text is not an array literal.
    static func parse(_ text: String) -> [String?]? {
        // Unicode scalars, not Characters: a combining mark after `,` must not merge with it.
        var characters = Array(text.unicodeScalars)[...]
        guard characters.popFirst() == "{", characters.popLast() == "}" else { return nil }
        var items: [String?] = []
        if characters.isEmpty { return items }
        while true {
            var item = String.UnicodeScalarView()
            var wasQuoted = false
            if characters.first == "\"" {
                wasQuoted = true
                characters.removeFirst()
                var closed = false
                while let character = characters.popFirst() {
                    if character == "\\" {
                        guard let next = characters.popFirst() else { return nil }
                        item.append(next)
                    } else if character == "\"" {
                        closed = true
                        break
                    } else {
                        item.append(character)
                    }
                }
                guard closed else { return nil }
            } else {
                while let character = characters.first, character != "," {
                    item.append(character)
                    characters.removeFirst()
                }
            }
            let value = String(item)
            items.append(!wasQuoted && value == "NULL" ? nil : value)
            guard let separator = characters.popFirst() else { return items }
            guard separator == "," else { return nil }
        }
    }
}
