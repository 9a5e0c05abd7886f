import Foundation

/// A real HTTPS server on 127.0.0.1 (Python's `http.server` wrapped in `ssl`, one connection per
/// request) with a certificate from a throwaway CA that `openssl` makes for the test. Each
/// response reports, from the server's side, whether the TLS session was resumed and which
/// ALPN protocol was chosen.
final class TestHTTPSServer: Sendable {
    let port: Int
    let caBundlePath: String
    let directory: String
    private let process: Process

    var baseURL: String { "https://127.0.0.1:\(port)" }

    private init(port: Int, caBundlePath: String, directory: String, process: Process) {
        self.port = port
        self.caBundlePath = caBundlePath
        self.directory = directory
        self.process = process
    }

    static func start() async throws -> TestHTTPSServer {
        let directory = NSTemporaryDirectory() + "curl-https-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try await shell("""
            set -e
            cd '\(directory)'
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > san.ext
            openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=Switchboard Test CA'
            openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout server.key -out server.csr -subj '/CN=127.0.0.1'
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile san.ext
            """)
        try serverScript.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory + "/server.py", directory]
        process.standardInput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: directory + "/server.log", contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/server.log"))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        // The server writes its port once it listens.
        for _ in 0..<500 {
            if let text = try? String(contentsOfFile: directory + "/port", encoding: .utf8),
               let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
                return TestHTTPSServer(port: port, caBundlePath: directory + "/ca.pem", directory: directory, process: process)
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        let output = (try? String(contentsOfFile: directory + "/server.log", encoding: .utf8)) ?? ""
        throw ServerError(message: "the HTTPS test server did not start: \(output)")
    }

    func stop() {
        // SIGKILL: the child may inherit a signal mask that blocks SIGTERM from the test runner.
        kill(process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }

    struct ServerError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }

    /// Runs a shell script on a thread of its own (openssl takes a moment).
    private static func shell(_ script: String) async throws {
        let path = NSTemporaryDirectory() + "curl-https-\(UUID().uuidString).sh"
        try script.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let status: Int32 = await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: system("/bin/sh '\(path)' >/dev/null 2>&1")) }
        }
        guard status == 0 else { throw ServerError(message: "certificate setup failed (\(status))") }
    }

    private static let serverScript = #"""
    import http.server, json, os, ssl, sys

    directory = sys.argv[1]
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
    context.set_alpn_protocols(["http/1.1"])

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: each request is a new handshake

        def do_GET(self):
            body = json.dumps({
                "reused": self.connection.session_reused,
                "alpn": self.connection.selected_alpn_protocol(),
                "version": self.connection.version(),
            }).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(directory, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(directory, "port.tmp"), os.path.join(directory, "port"))
    server.serve_forever()
    """#
}
