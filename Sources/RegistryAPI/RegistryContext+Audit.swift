import Storage

extension RegistryContext {
    /// Who is writing, for the `config_changes` audit trail: the credential's kind, the key and its
    /// tenant, the server's request id and the client's.
    var actor: ChangeActor {
        ChangeActor(
            tokenKind: (principal?.credential ?? .unauthenticated).rawValue, requestID: requestID.isEmpty ? nil : requestID,
            keyID: principal?.keyID, tenantID: principal?.tenantID, clientRequestID: clientRequestID)
    }

    /// The caller's principal; routes in `/api` and `/v1` always have one (their group's middleware
    /// sets it), so a missing one is a 401 rather than a crash.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthorized }
        return principal
    }

    /// The tenants the caller may see.
    var scope: TenantScope { principal?.scope ?? .tenant(TenantRecord.defaultID) }
}
