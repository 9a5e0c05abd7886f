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

/// Finds a provider's key in the environment.
public struct CredentialResolver: Sendable {
    private let environment: [String: String]

    /// `environment` defaults to the process environment; tests pass their own dictionary.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
    }

    /// The key for `provider`: `nil` when the provider needs none (no `apiKeyEnv`, e.g. a local
    /// Ollama); throws `missing_credentials` when the named variable is unset or blank.
    public func apiKey(for provider: Provider) throws(ProviderError) -> APIKey? {
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

    /// Whether a call to `provider` could be made now, without throwing: the gateway uses this to
    /// skip models whose provider has no credentials.
    public func hasCredentials(for provider: Provider) -> Bool {
        do {
            _ = try apiKey(for: provider)
            return true
        } catch {
            return false
        }
    }
}
