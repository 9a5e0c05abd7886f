import Foundation
import Logging

/// The web UI's static files (`Sources/RegistryAPI/UI`, a SwiftPM resource copied next to the
/// executables as `switchboard_RegistryAPI.resources/UI`), read once at start and served from
/// memory. Plain HTML, CSS and JavaScript modules: no build step, nothing fetched from elsewhere.
struct UIAssets: Sendable {
    struct Asset: Sendable {
        var name: String
        var bytes: [UInt8]
        var contentType: String
        /// Changes whenever the bytes do, so a browser's `If-None-Match` can be answered 304.
        var etag: String
    }

    /// File name → asset; `index.html` is the page served at `/`.
    var assets: [String: Asset]
    /// Where they were read from (logged at start), nil when no UI files were found.
    var directory: URL?

    static let resourceBundleName = "switchboard_RegistryAPI.resources"
    static let indexName = "index.html"

    static let contentTypes: [String: String] = [
        "html": "text/html; charset=utf-8",
        "css": "text/css; charset=utf-8",
        "js": "text/javascript; charset=utf-8",
        "svg": "image/svg+xml",
        "png": "image/png",
        "ico": "image/x-icon",
    ]

    /// Looked up without `Bundle.module`, whose accessor stops the process when the bundle is
    /// missing: next to the executable (how SwiftPM lays out builds and how an install copies it),
    /// then the source checkout this was built from (a binary moved elsewhere during development).
    static func locate() -> URL? {
        var candidates: [URL] = []
        let executable = URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
        candidates.append(executable.deletingLastPathComponent().appendingPathComponent(resourceBundleName).appendingPathComponent("UI"))
        candidates.append(Bundle.main.bundleURL.appendingPathComponent(resourceBundleName).appendingPathComponent("UI"))
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("UI"))
        return candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent(indexName).path) }
    }

    /// Every file of the UI directory with a known type (subdirectories are not used).
    static func load(logger: Logger) -> UIAssets {
        guard let directory = locate() else {
            logger.warning("registry.ui.missing", metadata: [
                "registry.hint": "the web UI files (\(resourceBundleName)/UI) are not next to the executable; / answers 404",
            ])
            return UIAssets(assets: [:], directory: nil)
        }
        var assets: [String: Asset] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for name in names.sorted() {
            let ext = (name as NSString).pathExtension.lowercased()
            guard let contentType = contentTypes[ext],
                let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path)
            else { continue }
            let bytes = [UInt8](data)
            assets[name] = Asset(name: name, bytes: bytes, contentType: contentType, etag: "\"\(fnv1a(bytes))\"")
        }
        return UIAssets(assets: assets, directory: directory)
    }

    /// FNV-1a, 64 bit: a cheap content fingerprint for the ETag (not a security property).
    static func fnv1a(_ bytes: [UInt8]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
