import Crypto
import Foundation

/// What a key may do (migrations/0019). Ordered: each role may do what the ones below it may, so
/// "at least operator" is one comparison. `admin` spans every tenant; the others act in their own.
public enum APIKeyRole: String, Sendable, CaseIterable, Comparable, Codable {
    /// Reads of its tenant's configuration, usage and job metadata (bodies only with `read_bodies`).
    case viewer
    /// `/v1`, job and execution submission, and its tenant's jobs with their bodies.
    case inference
    /// Its tenant's agents and their model configuration, and keys of its tenant below operator.
    case `operator`
    /// Providers, the catalog, tenants, and keys of any tenant.
    case admin

    var rank: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (lhs: APIKeyRole, rhs: APIKeyRole) -> Bool { lhs.rank < rhs.rank }
}

/// A row of `api_keys`, without its hash.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: UUID
    public var tenantID: UUID
    public var role: APIKeyRole
    public var name: String
    /// The key's first characters (`sb_` and 8 more), shown in lists to tell keys apart.
    public var prefix: String
    public var readBodies: Bool
    /// nil: every agent of the tenant.
    public var allowedAgents: [UUID]?
    /// nil: every model.
    public var allowedModels: [String]?
    public var expiresAt: Date?
    public var createdAt: Date
    public var lastUsedAt: Date?
    public var revokedAt: Date?

    /// Not revoked and not expired at `now`.
    public func isUsable(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}

/// The secret part of a key: generated here, shown once, stored only as its SHA-256.
public enum APIKeySecret {
    /// Every key starts with this, so a scanner (or a person) can tell a Switchboard key.
    public static let marker = "sb_"
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
    /// 43 characters of 62: about 256 bits.
    static let randomLength = 43
    static let prefixLength = marker.count + 8

    /// A new key from the system's cryptographic generator (getrandom on Linux).
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let random = (0..<randomLength).map { _ in alphabet[Int(generator.next(upperBound: UInt64(alphabet.count)))] }
        return marker + String(random)
    }

    public static func prefix(of key: String) -> String { String(key.prefix(prefixLength)) }

    /// What `api_keys.secret_hash` holds.
    public static func hash(_ key: String) -> Data { Data(SHA256.hash(data: Data(key.utf8))) }

    /// Shaped like a key we issue (lookups of anything else are skipped).
    public static func looksLikeKey(_ text: String) -> Bool {
        text.hasPrefix(marker) && text.utf8.count == marker.utf8.count + randomLength
    }
}
