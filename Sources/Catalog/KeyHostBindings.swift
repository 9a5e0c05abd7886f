import Foundation

/// Which hosts each provider key variable may be sent to: set by the operator in the gateway's
/// environment, outside the database, so that a provider row changed through the API or plain SQL
/// (a new `base_url`, another `api_key_env`) cannot carry a key anywhere else.
///
/// `SWITCHBOARD_KEY_HOSTS` is a comma-separated list of `VARIABLE=host` entries; a variable may be
/// listed more than once to reach several hosts:
///
///     SWITCHBOARD_KEY_HOSTS=GROQ_API_KEY=api.groq.com,OPENAI_API_KEY=my-proxy.internal
///
/// The keys of the seeded providers are always bound to their public hosts (`builtIn`); the
/// variable adds bindings. A host is a name or an address as it appears in a `base_url` (no scheme,
/// port or path), compared case-insensitively. A key variable bound to no host is never sent.
public struct KeyHostBindings: Sendable, Equatable {
    public static let environmentVariable = "SWITCHBOARD_KEY_HOSTS"

    /// The seeded providers' keys (migrations/0003) and the hosts they belong to.
    public static let builtIn: [String: Set<String>] = [
        "OPENAI_API_KEY": ["api.openai.com"],
        "ANTHROPIC_API_KEY": ["api.anthropic.com"],
        "HF_TOKEN": ["router.huggingface.co"],
    ]

    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var entry: String
        public var reason: String
        public var description: String {
            "\(KeyHostBindings.environmentVariable): entry '\(entry)' \(reason); expected VARIABLE=host, e.g. GROQ_API_KEY=api.groq.com"
        }
    }

    /// Variable → hosts (lowercased).
    public private(set) var hosts: [String: Set<String>]
    /// The hosts the operator bound (the built-in ones excluded): a host named here is trusted
    /// enough to receive a key, so the gateway also lets it resolve to a private or loopback
    /// address (the provider-stub on 127.0.0.1, a proxy on the internal network).
    public private(set) var operatorHosts: Set<String>

    public init(_ hosts: [String: Set<String>] = [:]) {
        var merged = Self.builtIn
        var operatorHosts: Set<String> = []
        for (variable, names) in hosts {
            let lowered = names.map { $0.lowercased() }
            merged[variable, default: []].formUnion(lowered)
            operatorHosts.formUnion(lowered)
        }
        self.hosts = merged
        self.operatorHosts = operatorHosts
    }

    /// The variable names bound to at least one host: the names a provider may use as `api_key_env`
    /// (with `SWITCHBOARD_ALLOWED_KEY_VARS`, see `Provider.keyVariableProblem`).
    public var variables: Set<String> { Set(hosts.keys) }

    /// Parses `SWITCHBOARD_KEY_HOSTS` from `environment`; unset or blank means the built-in bindings only.
    public init(environment: [String: String]) throws(ParseError) {
        try self.init(parsing: environment[Self.environmentVariable] ?? "")
    }

    public init(parsing text: String) throws(ParseError) {
        var parsed: [String: Set<String>] = [:]
        for rawEntry in text.split(separator: ",") {
            let entry = rawEntry.trimmingCharacters(in: .whitespaces)
            if entry.isEmpty { continue }
            guard let equals = entry.firstIndex(of: "=") else { throw ParseError(entry: entry, reason: "has no '='") }
            let variable = entry[..<equals].trimmingCharacters(in: .whitespaces)
            let host = entry[entry.index(after: equals)...].trimmingCharacters(in: .whitespaces).lowercased()
            guard !variable.isEmpty, variable.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) else {
                throw ParseError(entry: entry, reason: "does not start with an environment variable name")
            }
            guard !Provider.isReservedKeyVariable(variable) else {
                throw ParseError(entry: entry, reason: "names \(variable), which holds Switchboard's own secrets and is never sent to a provider")
            }
            guard !host.isEmpty, !host.contains(where: { "/:@?#* ".contains($0) }) else {
                throw ParseError(entry: entry, reason: "does not name a bare host (no scheme, port, path or wildcard)")
            }
            parsed[variable, default: []].insert(host)
        }
        self.init(parsed)
    }

    /// Why `variable` may not be sent to the host of `baseURL`, as a sentence; nil when it may.
    public func problem(sending variable: String, to baseURL: String) -> String? {
        guard let host = Provider.parseBaseURL(baseURL)?.host, !host.isEmpty else {
            return "base_url '\(baseURL)' names no host, so \(variable) is not sent"
        }
        let bound = hosts[variable] ?? []
        if bound.contains(host) { return nil }
        let allowed = bound.isEmpty ? "no host" : bound.sorted().joined(separator: ", ")
        return "\(variable) is bound to \(allowed), not to '\(host)', so it is not sent; "
            + "an operator can bind it with \(Self.environmentVariable)=\(variable)=\(host) in the gateway's environment"
    }
}
