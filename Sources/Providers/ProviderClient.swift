import Catalog
import CurlHTTP
import Foundation

/// Calls providers: resolves the key, lets the provider's adapter build the request, sends it
/// through the transport and returns the neutral response or a classified `ProviderError`.
public struct ProviderClient: Sendable {
    let transport: any HTTPTransport
    public let credentials: CredentialResolver
    /// Which hosts may resolve to loopback or private addresses (`SWITCHBOARD_ALLOWED_PRIVATE_HOSTS`
    /// and the operator's key bindings); every other host must resolve to a public address.
    public let addresses: PrivateAddressPolicy

    /// - Parameters:
    ///   - transport: usually the process's shared `CurlHTTPClient`.
    ///   - environment: where key variables are looked up; defaults to the process environment.
    public init(transport: any HTTPTransport, environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.transport = transport
        self.credentials = CredentialResolver(environment: environment)
        self.addresses = PrivateAddressPolicy(environment: environment, keyHosts: credentials.keyHosts)
    }

    /// One attempt: no retries here (the gateway owns retry and fallback policy).
    ///
    /// Missing credentials and requests the provider's API cannot express fail before anything
    /// is sent. The returned response carries the adapter's translation warnings.
    public func complete(
        _ request: ChatRequest,
        model: String,
        provider: Provider,
        options: ChatCallOptions = ChatCallOptions()
    ) async throws(ProviderError) -> ChatResponse {
        let apiKey = try credentials.apiKey(for: provider)
        let adapter = ChatAdapters.adapter(for: provider)
        var prepared = try adapter.prepare(request, model: model, apiKey: apiKey, options: options)
        prepared.httpRequest.publicAddressesOnly = !addresses.allowsNonPublicAddresses(url: prepared.httpRequest.url)

        let httpResponse: CurlHTTPResponse
        do {
            httpResponse = try await transport.send(prepared.httpRequest)
        } catch {
            // A cancelled task is cancellation, whatever error the transport surfaced for it (an
            // aborted transfer can look like a connection error): never a retryable failure.
            if Task.isCancelled || error is CancellationError {
                throw ProviderError(.cancelled, message: "the call was cancelled")
            }
            if let error = error as? CurlHTTPError {
                var classified = ProviderErrorClassifier.classify(transportError: error)
                classified.message = APIKey.redact(classified.message, key: apiKey)
                throw classified
            }
            throw ProviderError(.connection, message: "transport failed: \(type(of: error))")
        }

        var response = try adapter.parse(httpResponse, apiKey: apiKey)
        response.warnings = prepared.warnings + response.warnings
        return response
    }
}
