import NIOCore

extension RegistryConfiguration {
    /// `idleTimeout` as the HTTP/1 server takes it (review finding P2-5): a connection that sends
    /// no complete request part for that long, while no response is pending, is closed.
    var idleTimeAmount: TimeAmount { TimeAmount(idleTimeout) }
}
