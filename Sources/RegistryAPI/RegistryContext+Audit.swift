import Storage

extension RegistryContext {
    /// Who is writing, for the `config_changes` audit trail.
    var actor: ChangeActor { ChangeActor(tokenKind: access.rawValue, requestID: requestID.isEmpty ? nil : requestID) }
}
