import CurlHTTP

// Small text helpers for the per-call path, where Foundation's bridged string methods
// (`caseInsensitiveCompare`, `trimmingCharacters`) cost more than the work they do.

extension String {
    /// Without leading and trailing spaces, tabs, CR and LF.
    var trimmedWhitespace: String {
        let utf8 = self.utf8
        guard let first = utf8.firstIndex(where: { !Self.isSpace($0) }) else { return "" }
        guard let last = utf8.lastIndex(where: { !Self.isSpace($0) }) else { return "" }
        if first == utf8.startIndex, last == utf8.index(before: utf8.endIndex) { return self }
        return String(self[first...last])
    }

    /// ASCII case-insensitive equality (header names).
    func equalsIgnoringASCIICase(_ other: String) -> Bool {
        let a = self.utf8
        let b = other.utf8
        guard a.count == b.count else { return false }
        return zip(a, b).allSatisfy { x, y in x == y || Self.lower(x) == Self.lower(y) }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}

extension CurlHTTPResponse {
    /// The first header with this name, compared ASCII case-insensitively.
    func headerValue(_ name: String) -> String? {
        headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    /// The provider's request id: `x-request-id` (OpenAI) or `request-id` (Anthropic).
    var providerRequestID: String? {
        headerValue("x-request-id") ?? headerValue("request-id")
    }
}
