import Foundation
import Logging
import Synchronization
import Testing
@testable import RegistryAPI

/// Pieces of the hardening that need no server: exact decimals, JSON log lines.
@Suite struct HardeningUnitTests {
    @Test func staleWaiterCleanupNeverClearsALiveWait() {
        // A registry starting up deletes waiter rows older than this; the longest wait must be shorter.
        #expect(JobCompletionHub.staleWaiterSeconds > FacadeRoutes.maximumWaitSeconds)
        #expect(JobCompletionHub.staleWaiterSeconds > JobRoutes.maximumWaitSeconds)
    }

    @Test(arguments: [
        ("0.0025", "0.0025"), ("2.5e-06", "0.0000025"), ("0", "0"), ("-0.0", "0"), ("1e2", "100"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
    ])
    func exactDecimalsParse(text: String, expected: String) {
        #expect(ExactDecimal.parse(text) == Decimal(string: expected, locale: Locale(identifier: "en_US_POSIX")), "\(text)")
    }

    @Test(arguments: ["1e200", "1e-200", "-1e128", "123456789012345678901234567890123456789", "1e", "01", "NaN", "0x10", " 1"])
    func inexactOrInvalidDecimalsAreRefused(text: String) {
        #expect(ExactDecimal.parse(text) == nil, "\(text)")
    }

    final class Lines: Sendable {
        let value = Mutex<[String]>([])
    }

    @Test func jsonLogsAreOneObjectPerLine() throws {
        let lines = Lines()
        var logger = Logger(label: "model-registry") { label in
            JSONLogHandler(label: label) { line in lines.value.withLock { $0.append(line) } }
        }
        logger[metadataKey: "request.id"] = "r-1"
        logger.info("registry.agent.created", metadata: ["agent.id": "a\nb\"c", "count": "\(3)", "list": ["x", "y"]])
        logger.debug("not logged at info")
        let written = lines.value.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1, "a newline in a value cannot start a new line")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "registry.agent.created")
        #expect(object["level"] as? String == "info")
        #expect(object["logger"] as? String == "model-registry")
        #expect(object["agent.id"] as? String == "a\nb\"c")
        #expect(object["request.id"] as? String == "r-1")
        #expect(object["list"] as? [String] == ["x", "y"])
        #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
    }
}
