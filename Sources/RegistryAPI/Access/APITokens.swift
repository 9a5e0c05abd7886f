import Foundation
import Storage

/// The credentials configured in the environment (the keys live in `api_keys`). With none set the
/// server runs in open mode: it listens on loopback and answers loopback Host names only.
public struct APITokens: Sendable {
    /// `SWITCHBOARD_ADMIN_TOKEN`: the bootstrap admin credential.
    public var admin: String?
    /// `SWITCHBOARD_API_TOKEN`: deprecated alias of the admin token (one release).
    public var write: String?
    /// `SWITCHBOARD_READ_TOKEN`: deprecated; a viewer of the default tenant (one release).
    public var read: String?

    public init(write: String?, read: String? = nil, admin: String? = nil) {
        self.admin = Self.nonEmpty(admin)
        self.write = Self.nonEmpty(write)
        self.read = Self.nonEmpty(read)
    }

    static func nonEmpty(_ value: String?) -> String? { value.flatMap { $0.isEmpty ? nil : $0 } }

    /// Some credential is configured: every `/api` and `/v1` request must then carry one.
    public var isEnabled: Bool { admin != nil || write != nil || read != nil }

    /// The configured tokens shorter than `minimumLength`, by variable name: refused on a
    /// non-loopback bind, where a short token can be guessed over the network.
    public func weakTokens(minimumLength: Int = 32) -> [String] {
        [("SWITCHBOARD_ADMIN_TOKEN", admin), ("SWITCHBOARD_API_TOKEN", write), ("SWITCHBOARD_READ_TOKEN", read)]
            .compactMap { name, value in value.map { $0.utf8.count < minimumLength ? name : nil } ?? nil }
    }

    /// The principal of an environment token, or nil. Every configured token is compared every
    /// time, in constant time, so timing does not say which one nearly matched.
    func principal(for presented: String) -> Principal? {
        let bytes = Array(presented.utf8)
        let candidates: [(String?, Principal)] = [(admin, Self.admin), (write, Self.write), (read, Self.read)]
        var found: Principal?
        for (token, principal) in candidates {
            let matches = token.map { Self.constantTimeEquals(bytes, Array($0.utf8)) } ?? false
            if matches, found == nil { found = principal }
        }
        return found
    }

    static let admin = Principal.environmentToken(.adminToken, role: .admin)
    static let write = Principal.environmentToken(.writeToken, role: .admin)
    static let read = Principal.environmentToken(.readToken, role: .viewer)

    /// Compares every byte whatever the first difference, so response time does not reveal how
    /// much of a guessed token was right. Only the length can leak, which a token of fixed length
    /// makes moot.
    static func constantTimeEquals(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: lhs.count ^ rhs.count)
        let count = max(lhs.count, rhs.count)
        for index in 0..<count {
            let a = index < lhs.count ? lhs[index] : 0
            let b = index < rhs.count ? rhs[index] : 0
            difference |= a ^ b
        }
        return difference == 0 && lhs.count == rhs.count
    }
}
