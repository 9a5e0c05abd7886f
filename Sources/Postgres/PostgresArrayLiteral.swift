/// PostgreSQL's text form of one-dimensional arrays: `{a,"b, c",NULL,"say \"hi\""}`.
enum PostgresArrayLiteral {
    static func format(_ items: [String]) -> String {
        let quoted = items.map { item -> String in
            var escaped = ""
            for character in item {
                if character == "\"" || character == "\\" { escaped.append("\\") }
                escaped.append(character)
            }
            return "\"\(escaped)\""
        }
        return "{" + quoted.joined(separator: ",") + "}"
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
