/// Maps the conversation's tool call ids to ids Anthropic accepts: only `[a-zA-Z0-9_-]`, unique
/// across the request. A result refers to the latest call with its id (two tool rounds from a
/// server that numbers calls `call_0` each time both answer correctly).
struct ToolIDMap {
    private var latest: [String: String] = [:]
    private var used: Set<String> = []
    private(set) var renamed = false

    mutating func assign(_ original: String) -> String {
        var id = Self.sanitized(original)
        if used.contains(id) {
            var suffix = 2
            while used.contains("\(id)_\(suffix)") { suffix += 1 }
            id = "\(id)_\(suffix)"
        }
        if id != original { renamed = true }
        used.insert(id)
        latest[original] = id
        return id
    }

    func resultID(for original: String) -> String {
        latest[original] ?? Self.sanitized(original)
    }

    static func sanitized(_ id: String) -> String {
        let allowed = id.unicodeScalars.map { scalar -> Character in
            let ok = scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "_" || scalar == "-")
            return ok ? Character(scalar) : "_"
        }
        return allowed.isEmpty ? "toolu_empty" : String(allowed)
    }
}
