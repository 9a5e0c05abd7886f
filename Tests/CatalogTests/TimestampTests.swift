import Catalog
import Foundation
import Testing

/// The one RFC 3339 format of the API, the stored documents and the providers' reset headers.
@Suite struct TimestampTests {
    @Test func formatsUTCWithMilliseconds() {
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_796_119_200.123)) == "2026-12-01T10:00:00.123Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        // Whole seconds (the /v1/models `created_at`): truncated toward the past, never rounded up.
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 1_796_119_200.999), milliseconds: false) == "2026-12-01T10:00:00Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: -0.5), milliseconds: false) == "1969-12-31T23:59:59Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: 59.9996)) == "1970-01-01T00:01:00.000Z")
        #expect(Timestamp.string(from: Date(timeIntervalSince1970: -0.25)) == "1969-12-31T23:59:59.750Z")
    }

    @Test(arguments: [
        ("2026-12-01T10:00:00Z", 1_796_119_200.0),
        ("2026-12-01T10:00:00.5Z", 1_796_119_200.5),
        ("2026-12-01T12:00:00+02:00", 1_796_119_200.0),
        ("2026-12-01T04:30:00.25-05:30", 1_796_119_200.25),
    ])
    func parsesZonesAndFractions(text: String, seconds: Double) throws {
        let date = try #require(Timestamp.date(from: text))
        #expect(abs(date.timeIntervalSince1970 - seconds) < 0.001, "\(text)")
    }

    @Test(arguments: ["tomorrow", "2026-12-01", "2026-12-01 10:00:00Z", ""])
    func refusesOtherText(text: String) {
        #expect(Timestamp.date(from: text) == nil, "\(text)")
    }

    @Test func roundTrips() throws {
        let date = Date(timeIntervalSince1970: 1_796_119_200.456)
        let back = try #require(Timestamp.date(from: Timestamp.string(from: date)))
        #expect(abs(back.timeIntervalSince(date)) < 0.001)
    }
}
