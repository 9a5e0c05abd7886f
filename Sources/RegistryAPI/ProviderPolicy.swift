import Catalog
import Foundation

/// What the operator allows for provider endpoints and key variables, beyond the built-in rules
/// (https, or http to loopback; key variables bound to the base URL's host).
public struct ProviderPolicy: Sendable {
    /// `SWITCHBOARD_ALLOWED_HTTP_HOSTS`: hosts (comma-separated) a key may reach over plain http.
    public var allowedHTTPHosts: Set<String>
    /// `SWITCHBOARD_ALLOWED_KEY_VARS`: exact variable names allowed as `api_key_env` besides the
    /// bound ones (for a binding that lives only in the gateway's environment).
    public var allowedKeyVariables: Set<String>
    /// `SWITCHBOARD_KEY_HOSTS`, the same value the gateway reads: a bound variable may be named only
    /// by a provider whose `base_url` is on one of its hosts (`Provider.keyVariableProblem`).
    public var keyHosts: KeyHostBindings

    public init(allowedHTTPHosts: Set<String> = [], allowedKeyVariables: Set<String> = [], keyHosts: KeyHostBindings = KeyHostBindings()) {
        self.allowedHTTPHosts = Set(allowedHTTPHosts.map { $0.lowercased() })
        self.allowedKeyVariables = allowedKeyVariables
        self.keyHosts = keyHosts
    }

    /// Throws when `SWITCHBOARD_KEY_HOSTS` is malformed (the registry then refuses to start, as the gateway does).
    public init(environment: [String: String]) throws(KeyHostBindings.ParseError) {
        self.init(
            allowedHTTPHosts: Provider.allowedHTTPHosts(environment: environment),
            allowedKeyVariables: Provider.allowedKeyVariables(environment: environment),
            keyHosts: try KeyHostBindings(environment: environment))
    }
}

/// Where `model-registry serve` listens, decided from the flags and whether a token is set: safe
/// by default. Without a token the API is open, so it listens on 127.0.0.1 only; serving it
/// unauthenticated on any other address needs `--allow-unauthenticated`.
public enum ListenPolicy {
    public struct Refusal: Error, CustomStringConvertible, Equatable {
        public var host: String
        /// Set when the refusal is about tokens too short for a non-loopback address.
        public var weakTokens: [String] = []
        public var description: String {
            if !weakTokens.isEmpty {
                return "refusing to listen on \(host) with \(weakTokens.joined(separator: ", ")) shorter than 32 characters: "
                    + "use a long random token (e.g. openssl rand -hex 32) or listen on 127.0.0.1"
            }
            return
            "refusing to serve the API without a token on \(host): set SWITCHBOARD_ADMIN_TOKEN, listen on 127.0.0.1, "
                + "or pass --allow-unauthenticated to serve it open on purpose"
        }
    }

    /// The host to bind. `requestedHost` nil: 0.0.0.0 with a token, 127.0.0.1 without.
    public static func host(requestedHost: String?, tokens: APITokens, allowUnauthenticated: Bool) throws(Refusal) -> String {
        if tokens.isEnabled {
            let host = requestedHost ?? "0.0.0.0"
            // A short token can be guessed over the network; on loopback only local users can try.
            let weak = tokens.weakTokens()
            if !weak.isEmpty, !Provider.isLoopbackHost(host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) {
                throw Refusal(host: host, weakTokens: weak)
            }
            return host
        }
        guard let requestedHost else { return "127.0.0.1" }
        if Provider.isLoopbackHost(requestedHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))) || allowUnauthenticated {
            return requestedHost
        }
        throw Refusal(host: requestedHost)
    }
}
