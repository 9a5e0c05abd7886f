import Foundation

/// A client that opens a TCP connection to 127.0.0.1:`port`, sends `bytes` (e.g. a header block
/// without its final blank line) and then nothing: how long until the server closes it?
/// `closed` is true when the server closed the connection (read returned 0 or reset) within
/// `limit`, false when it was still open then; `received` is what it answered meanwhile.
/// Blocking; for idle-timeout tests.
public func sendAndWaitForClose(port: Int, bytes: String, within limit: Duration) -> (closed: Bool, received: String) {
    var received: [UInt8] = []
    let closed = sendAndWaitForClose(port: port, bytes: bytes, within: limit, into: &received)
    return (closed, String(decoding: received, as: UTF8.self))
}

/// Whether the server closes the connection within `limit` (see `sendAndWaitForClose`).
public func serverClosesHalfSentRequest(port: Int, bytes: String, within limit: Duration) -> Bool {
    sendAndWaitForClose(port: port, bytes: bytes, within: limit).closed
}

private func sendAndWaitForClose(port: Int, bytes: String, within limit: Duration, into received: inout [UInt8]) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { return false }
    let data = Array(bytes.utf8)
    guard data.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, 0) }) == data.count else { return false }
    let deadline = ContinuousClock.now + limit
    var buffer = [UInt8](repeating: 0, count: 4096)
    while ContinuousClock.now < deadline {
        var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let remaining = deadline - ContinuousClock.now
        let milliseconds = max(1, Int32(remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000))
        let ready = poll(&poller, 1, milliseconds)
        if ready < 0 { return false }
        if ready == 0 { continue }
        let count = recv(descriptor, &buffer, buffer.count, 0)
        if count <= 0 { return true }  // closed (0) or reset (-1)
        received.append(contentsOf: buffer[0..<count])
        // Bytes (an error answer such as 408) are fine; keep reading until the close.
    }
    return false
}
