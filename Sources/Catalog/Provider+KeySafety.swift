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

    /// `SWITCHBOARD_ALLOWED_KEY_VARS`: exact names accepted as `api_key_env` besides the bound ones,
    /// for a variable whose binding lives only in the gateway's environment. Comma-separated.
    public static let allowedKeyVariablesEnvironmentVariable = "SWITCHBOARD_ALLOWED_KEY_VARS"

    public static func allowedKeyVariables(environment: [String: String]) -> Set<String> {
        Set((environment[allowedKeyVariablesEnvironmentVariable] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty })
    }

    /// Why a variable may not be a provider's key variable (`api_key_env`).
    public enum KeyVariableProblem: Sendable, Equatable, CustomStringConvertible {
        /// DATABASE_URL, PG*, SWITCHBOARD_*: Switchboard's own secrets.
        case reserved(variable: String)
        /// Bound to no host and not listed by the operator (SLACK_BOT_TOKEN, AWS_SECRET_ACCESS_KEY…).
        case notAllowed(variable: String)
        /// Bound to other hosts than the base URL's (HF_TOKEN on https://attacker.example).
        case boundElsewhere(variable: String, boundHosts: [String], host: String)

        public var description: String {
            switch self {
            case .reserved(let variable):
                return "\(variable) holds Switchboard's own secrets (DATABASE_URL, PG*, SWITCHBOARD_*) and cannot be a provider's key variable"
            case .notAllowed(let variable):
                return "\(variable) is not a provider key variable: name a variable bound to this host in "
                    + "\(KeyHostBindings.environmentVariable) (e.g. GROQ_API_KEY=api.groq.com), or list it in "
                    + "\(Provider.allowedKeyVariablesEnvironmentVariable)"
            case .boundElsewhere(let variable, let boundHosts, let host):
                return "\(variable) is bound to \(boundHosts.joined(separator: ", ")), not to '\(host)': the gateway would not send it; "
                    + "bind it with \(KeyHostBindings.environmentVariable)=\(variable)=\(host) (registry and gateway) or use another variable"
            }
        }
    }

    /// The one rule for `api_key_env`, shared by the registry's provider writes and the gateway's
    /// call-time check (a row edited by SQL meets the same rule): never a reserved name; a variable
    /// bound in `bindings` only for a `baseURL` on one of its hosts; otherwise only a name the
    /// operator listed (`operatorAllowed`, `SWITCHBOARD_ALLOWED_KEY_VARS`). No suffix rule: any
    /// secret of the worker's environment that nobody bound or listed (SLACK_BOT_TOKEN) is refused.
    /// nil when the variable is acceptable.
    public static func keyVariableProblem(
        _ variable: String, baseURL: String, bindings: KeyHostBindings, operatorAllowed: Set<String>
    ) -> KeyVariableProblem? {
        if isReservedKeyVariable(variable) { return .reserved(variable: variable) }
        if let bound = bindings.hosts[variable], !bound.isEmpty {
            let host = parseBaseURL(baseURL)?.host ?? ""
            return bound.contains(host) ? nil : .boundElsewhere(variable: variable, boundHosts: bound.sorted(), host: host)
        }
        return operatorAllowed.contains(variable) ? nil : .notAllowed(variable: variable)
    }
}
