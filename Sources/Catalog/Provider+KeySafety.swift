/// Rules that keep a provider's API key from being sent somewhere it should not go. The registry
/// enforces them when a provider is written; the gateway can call `keyMaySendTo` before each call,
/// so a row edited behind the API's back (plain SQL) still cannot leak a key.
extension Provider {
    /// Why a `base_url` is refused, as a sentence for the API's error details.
    public enum BaseURLProblem: Sendable, Equatable, CustomStringConvertible {
        case notHTTP
        case noHost
        case userinfo
        case queryOrFragment
        case whitespace
        /// http:// to a host that is neither loopback nor listed by the operator, with a key configured.
        case plainHTTPWithKey(host: String)

        public var description: String {
            switch self {
            case .notHTTP: return "base_url must start with https:// (or http:// to a loopback or operator-listed host)"
            case .noHost: return "base_url must name a host, e.g. https://api.openai.com"
            case .userinfo: return "base_url must not carry user or password (user@host); keys come only from api_key_env"
            case .queryOrFragment: return "base_url must not carry a query (?…) or fragment (#…)"
            case .whitespace: return "base_url must not contain whitespace"
            case .plainHTTPWithKey(let host):
                return "the key in api_key_env would travel unencrypted to '\(host)': use https://, a loopback host, "
                    + "or list the host in SWITCHBOARD_ALLOWED_HTTP_HOSTS"
            }
        }
    }

    /// The parts of a base URL this check needs. Parsed by hand (Catalog imports nothing): scheme,
    /// then the authority up to the first `/`, `?` or `#`.
    public struct BaseURLParts: Sendable, Equatable {
        public var scheme: String
        public var host: String
        public var hasUserinfo: Bool
        public var hasQueryOrFragment: Bool
    }

    public static func parseBaseURL(_ text: String) -> BaseURLParts? {
        let lower = text.lowercased()
        let scheme: String
        if lower.hasPrefix("https://") { scheme = "https" } else if lower.hasPrefix("http://") { scheme = "http" } else { return nil }
        let rest = text.dropFirst(scheme.count + 3)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        let hasUserinfo = authority.contains("@")
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        // Host without port; IPv6 literals keep their brackets off.
        var host: Substring
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
        } else {
            host = authority
        }
        while host.hasSuffix(".") { host = host.dropLast() }
        return BaseURLParts(
            scheme: scheme, host: host.lowercased(), hasUserinfo: hasUserinfo,
            hasQueryOrFragment: text.contains("?") || text.contains("#"))
    }

    /// Loopback names and addresses: `localhost`, 127.0.0.0/8, `::1`.
    public static func isLoopbackHost(_ host: String) -> Bool {
        let host = host.lowercased()
        if host == "localhost" || host.hasSuffix(".localhost") || host == "::1" || host == "0:0:0:0:0:0:0:1" { return true }
        let octets = host.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4, octets[0] == "127" else { return false }
        return octets.allSatisfy { part in UInt8(part) != nil }
    }

    /// May the key be sent to `url`? https always; http only to loopback or to a host the operator
    /// listed (`allowedHTTPHosts`, compared case-insensitively); never with userinfo or a query.
    /// The hosts an operator lets keys reach over plain http: `SWITCHBOARD_ALLOWED_HTTP_HOSTS`,
    /// comma-separated, lowercased. Read the same way by the registry and the gateway.
    public static func allowedHTTPHosts(environment: [String: String]) -> Set<String> {
        Set((environment["SWITCHBOARD_ALLOWED_HTTP_HOSTS"] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty })
    }

    public static func keyMaySendTo(url: String, allowedHTTPHosts: Set<String>) -> Bool {
        guard let parts = parseBaseURL(url), !parts.host.isEmpty, !parts.hasUserinfo, !parts.hasQueryOrFragment else { return false }
        if parts.scheme == "https" { return true }
        return isLoopbackHost(parts.host) || allowedHTTPHosts.contains { $0.lowercased() == parts.host }
    }

    /// Every problem with `baseURL` for this provider (its key variable decides whether plain http is allowed).
    public func baseURLProblems(allowedHTTPHosts: Set<String>) -> [BaseURLProblem] {
        guard let parts = Self.parseBaseURL(baseURL) else { return [.notHTTP] }
        var problems: [BaseURLProblem] = []
        if baseURL.contains(where: \.isWhitespace) { problems.append(.whitespace) }
        if parts.host.isEmpty { problems.append(.noHost) }
        if parts.hasUserinfo { problems.append(.userinfo) }
        if parts.hasQueryOrFragment { problems.append(.queryOrFragment) }
        if problems.isEmpty, apiKeyEnv != nil, !Self.keyMaySendTo(url: baseURL, allowedHTTPHosts: allowedHTTPHosts) {
            problems.append(.plainHTTPWithKey(host: parts.host))
        }
        return problems
    }

    /// Suffixes a provider key variable may have without the operator listing it.
    public static let keyVariableSuffixes = ["_API_KEY", "_TOKEN"]

    /// Prefixes of well-known secrets that are not LLM keys, refused even when they match a suffix
    /// (AWS_SESSION_TOKEN, GITHUB_TOKEN…), unless the operator lists the exact name.
    public static let foreignSecretPrefixes = ["AWS_", "AZURE_CLIENT", "GITHUB_", "GH_", "GITLAB_", "NPM_", "CI_", "DOCKER_", "VAULT_", "KUBE"]

    /// Is `name` acceptable as a key variable? Never one of Switchboard's own secrets; otherwise
    /// an operator-listed name, or a name ending in `_API_KEY` / `_TOKEN` that is not a known foreign secret.
    public static func isAllowedKeyVariable(_ name: String, operatorAllowed: Set<String>) -> Bool {
        if isReservedKeyVariable(name) { return false }
        if operatorAllowed.contains(name) { return true }
        let upper = name.uppercased()
        guard name == upper, keyVariableSuffixes.contains(where: { upper.hasSuffix($0) && upper.count > $0.count }) else { return false }
        return !foreignSecretPrefixes.contains { upper.hasPrefix($0) }
    }
}
