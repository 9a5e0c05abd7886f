import Catalog
import Foundation

/// Which provider hosts may resolve to a non-public address (SSRF, docs/security.md). The gateway
/// connects to loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
/// fe80::/10), unspecified and reserved addresses only for a host the operator named: listed in
/// `SWITCHBOARD_ALLOWED_PRIVATE_HOSTS`, or bound to a key in `SWITCHBOARD_KEY_HOSTS` (a host
/// trusted with a key is trusted with its address; the provider-stub's `…=127.0.0.1` in demo mode).
/// The check runs on the address each connection uses, after DNS resolution (`CurlHTTPRequest.publicAddressesOnly`).
public struct PrivateAddressPolicy: Sendable, Equatable {
    public static let environmentVariable = "SWITCHBOARD_ALLOWED_PRIVATE_HOSTS"

    /// Hosts (lowercased, as in a `base_url`: no scheme, port or path) that may resolve anywhere.
    public let allowedHosts: Set<String>

    public init(allowedHosts: Set<String>) {
        self.allowedHosts = Set(allowedHosts.map { $0.lowercased() })
    }

    public init(environment: [String: String], keyHosts: KeyHostBindings) {
        let listed = (environment[Self.environmentVariable] ?? "").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }.filter { !$0.isEmpty }
        self.init(allowedHosts: Set(listed).union(keyHosts.operatorHosts))
    }

    /// Whether a call to `url` may connect to a non-public address.
    public func allowsNonPublicAddresses(url: String) -> Bool {
        guard let host = Provider.parseBaseURL(url)?.host, !host.isEmpty else { return false }
        return allowedHosts.contains(host)
    }
}
