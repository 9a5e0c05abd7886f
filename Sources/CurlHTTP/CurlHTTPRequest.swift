import CCurl
import Foundation

/// One outgoing HTTP request. Only `http` and `https` URLs are accepted.
public struct CurlHTTPRequest: Sendable {
    public var method: String
    public var url: String
    /// Header lines in order; names are sent as given.
    public var headers: [(name: String, value: String)]
    public var body: Data?
    /// Whole-transfer limit: connect, send, wait and receive.
    public var timeout: Duration
    /// Connect-phase limit; `nil` means the whole-transfer `timeout` applies alone.
    public var connectTimeout: Duration?
    /// A response body larger than this fails with `.responseTooLarge` instead of filling memory.
    public var maxResponseBytes: Int
    /// PEM file of CA certificates trusted for this https request instead of the system's (and
    /// of the client's `caBundlePath`); `nil`: the client's choice.
    public var caBundlePath: String?
    /// Refuse to connect to a non-public address: loopback, private (10/8, 172.16/12, 192.168/16,
    /// fc00::/7), link-local (169.254/16, fe80::/10), unspecified, multicast and other reserved
    /// ranges, checked on the address each connection actually uses, after DNS resolution (so a
    /// name that resolves to 127.0.0.1 is caught). The transfer then fails with `.addressNotAllowed`.
    /// A proxy from the environment (`https_proxy`…) is what gets checked when one is set.
    public var publicAddressesOnly: Bool

    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: Data? = nil,
        timeout: Duration = .seconds(30),
        connectTimeout: Duration? = nil,
        maxResponseBytes: Int = 64 << 20,
        caBundlePath: String? = nil,
        publicAddressesOnly: Bool = false
    ) {
        self.caBundlePath = caBundlePath
        self.publicAddressesOnly = publicAddressesOnly
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.connectTimeout = connectTimeout
        self.maxResponseBytes = maxResponseBytes
    }
}

extension CurlHTTPRequest {
    /// Whether `address` (an IPv4 or IPv6 literal) is one `publicAddressesOnly` lets a transfer
    /// connect to; nil when it is not an address. The same C check the transfer runs.
    public static func isPublicAddress(_ address: String) -> Bool? {
        let addressClass = sb_address_text_class(address)
        return addressClass < 0 ? nil : addressClass == 0
    }
}

/// A complete HTTP response (status, headers as received, whole body).
public struct CurlHTTPResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: Data
    /// 2 for HTTP/2 (negotiated through ALPN), 1 for HTTP/1.x.
    public var httpVersion: Int

    public init(status: Int, headers: [(name: String, value: String)], body: Data, httpVersion: Int = 1) {
        self.status = status
        self.headers = headers
        self.body = body
        self.httpVersion = httpVersion
    }

    /// The first header with this name, compared case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    public var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Why a transfer failed before a complete HTTP response arrived.
public enum CurlHTTPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The URL does not parse; userinfo and query are not repeated here.
    case invalidURL(String)
    /// A header name that is not an HTTP token, or a value with CR, LF or another control character.
    case invalidHeader(name: String)
    case unsupportedScheme(String)
    /// Timed out before the request was sent (connecting): the server cannot have acted on it.
    case timeout
    /// Timed out after the request was sent, before the whole answer arrived: the server may
    /// finish and bill the work anyway (a non-streaming generation usually does).
    case timeoutAfterSend
    case connectionRefused
    case nameResolution(host: String)
    case tls(String)
    case connection(String)
    case shutdown
    case responseTooLarge(limit: Int)
    /// `publicAddressesOnly` and the host resolved to (or is) a non-public address; nothing was sent.
    case addressNotAllowed(host: String, address: String)
    case transfer(code: Int, message: String)

    public var description: String {
        switch self {
        case .invalidURL(let url): return "invalid URL: \(url)"
        case .invalidHeader(let name): return "invalid request header '\(name)': names must be HTTP tokens, values must not contain CR, LF or control characters"
        case .unsupportedScheme(let scheme): return "unsupported URL scheme '\(scheme)': only http and https"
        case .timeout: return "request timed out"
        case .timeoutAfterSend: return "request timed out after it was sent"
        case .connectionRefused: return "connection refused"
        case .nameResolution(let host): return "could not resolve host '\(host)'"
        case .tls(let message): return "TLS error: \(message)"
        case .connection(let message): return "connection error: \(message)"
        case .shutdown: return "HTTP client was shut down"
        case .responseTooLarge(let limit): return "response body exceeds \(limit) bytes"
        case .addressNotAllowed(let host, let address):
            return "refused to connect to '\(host)' at \(address): a loopback, private, link-local or reserved address "
                + "(list the host in SWITCHBOARD_ALLOWED_PRIVATE_HOSTS to allow it)"
        case .transfer(let code, let message): return "transfer failed (curl \(code)): \(message)"
        }
    }
}
