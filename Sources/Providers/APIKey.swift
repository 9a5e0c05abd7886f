import Catalog
import Foundation

/// A provider API key. Its descriptions never show the value, so interpolating one into a log
/// line or error by mistake prints a placeholder instead of the secret.
public struct APIKey: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The secret itself; read it only to build an auth header.
    public let value: String

    public init(_ value: String) {
        self.value = value
    }

    public var description: String { "APIKey(redacted)" }
    public var debugDescription: String { description }

    /// `text` with every occurrence of the key replaced: provider error messages sometimes echo
    /// the key they rejected.
    static func redact(_ text: String, key: APIKey?) -> String {
        guard let key, key.value.count >= 4 else { return text }
        return text.replacingOccurrences(of: key.value, with: "[redacted]")
    }
}

/// Finds a provider's key in the environment, and hands it out only for a provider whose
/// `base_url` points at a host the key is bound to (`KeyHostBindings`): the one place every key
/// passes through before a call, so a provider row edited by API or SQL cannot redirect it.
public struct CredentialResolver: Sendable {
    private let environment: [String: String]
    public let keyHosts: KeyHostBindings
    /// `SWITCHBOARD_ALLOWED_KEY_VARS` of the same environment: with the bound names, the only
    /// variables the resolver reads at all (`Provider.keyVariableProblem`, shared with the registry).
    public let allowedKeyVariables: Set<String>

    /// `environment` defaults to the process environment; tests pass their own dictionary. The key
    /// bindings come from its `SWITCHBOARD_KEY_HOSTS`; a malformed value binds nothing beyond the
    /// built-in bindings (the gateway refuses to start with it, see `KeyHostBindings(environment:)`).
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        self.keyHosts = (try? KeyHostBindings(environment: environment)) ?? KeyHostBindings()
        self.allowedKeyVariables = Provider.allowedKeyVariables(environment: environment)
    }

    /// The key for `provider`: `nil` when the provider needs none (no `apiKeyEnv`, e.g. a local
    /// Ollama); throws `missing_credentials` when the named variable is unset or blank, and
    /// `provider_misconfigured` when the variable is not bound to the host of the provider's `base_url`.
    public func apiKey(for provider: Provider) throws(ProviderError) -> APIKey? {
        // Where the key would go first: a variable that may not go there is not even read.
        if let problem = keyHostProblem(for: provider) {
            throw ProviderError(.providerMisconfigured, message: "provider '\(provider.name)': \(problem)", detectedLocally: true)
        }
        return try storedKey(for: provider)
    }

    /// The value of the provider's key variable, without asking where it would go.
    private func storedKey(for provider: Provider) throws(ProviderError) -> APIKey? {
        guard let variable = provider.apiKeyEnv?.trimmedWhitespace, !variable.isEmpty else {
            return nil
        }
        // Defence in depth: the API refuses these names, but the table can be edited with SQL.
        guard !Provider.isReservedKeyVariable(variable) else {
            throw ProviderError(
                .missingCredentials,
                message: "provider '\(provider.name)' names \(variable) as its key variable, which holds Switchboard's own secrets and is never sent to a provider",
                detectedLocally: true
            )
        }
        // The registry's rule for api_key_env, applied again to a row that may have been edited by
        // SQL: a variable neither bound nor listed by the operator (SLACK_BOT_TOKEN) is never read,
        // so not even whether it is set can leak.
        // (A bound variable on another host is `keyHostProblem`'s to report, naming the binding to add.)
        if let problem = Provider.keyVariableProblem(
            variable, baseURL: provider.baseURL, bindings: keyHosts, operatorAllowed: allowedKeyVariables),
            case .notAllowed = problem
        {
            throw ProviderError(.providerMisconfigured, message: "provider '\(provider.name)': \(problem)", detectedLocally: true)
        }
        let value = environment[variable]?.trimmedWhitespace ?? ""
        guard !value.isEmpty else {
            throw ProviderError(
                .missingCredentials,
                message: "environment variable \(variable) for provider '\(provider.name)' is not set",
                detectedLocally: true
            )
        }
        return APIKey(value)
    }

    /// Why `provider`'s key may not be sent to its `base_url` (nil when it may, or when it has no
    /// key): the gateway skips such a model before calling, naming the reason.
    public func keyHostProblem(for provider: Provider) -> String? {
        guard let variable = provider.apiKeyEnv?.trimmedWhitespace, !variable.isEmpty else { return nil }
        // Switchboard's own secrets are refused as missing_credentials by `storedKey`, as always.
        if Provider.isReservedKeyVariable(variable) { return nil }
        return keyHosts.problem(sending: variable, to: provider.baseURL)
    }

    /// Whether the provider's key is there (or it needs none), without throwing: the gateway uses
    /// this to skip models whose provider has no credentials. Where the key may go is
    /// `keyHostProblem(for:)`'s question.
    public func hasCredentials(for provider: Provider) -> Bool {
        do {
            _ = try storedKey(for: provider)
            return true
        } catch {
            return false
        }
    }
}
