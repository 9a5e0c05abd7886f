import Catalog
import Foundation
import Testing

@Suite struct CalendarDateTests {
    @Test(arguments: ["2026-11-28", "2024-02-29", "0001-01-01", "9999-12-31", "1970-01-01"])
    func roundTripsItsText(_ text: String) throws {
        let date = try #require(CalendarDate(text))
        #expect(date.description == text)
        #expect(CalendarDate(date.startOfDay) == date)
    }

    @Test(arguments: ["2026-02-29", "2026-13-01", "2026-00-10", "2026-1-01", "20261128", "2026-11-28T00:00:00Z", "", "abcd-ef-gh"])
    func rejectsWhatIsNotADay(_ text: String) {
        #expect(CalendarDate(text) == nil)
    }

    @Test func readsTheUTCDayOfAnInstant() throws {
        // 2026-11-28T23:59:59Z is still the 28th in UTC whatever the machine's zone.
        let instant = try #require(CalendarDate("2026-11-29")).startOfDay.addingTimeInterval(-1)
        #expect(CalendarDate(instant).description == "2026-11-28")
        #expect(CalendarDate(Date(timeIntervalSince1970: -1)).description == "1969-12-31")
        #expect(CalendarDate(Date(timeIntervalSince1970: .infinity)).description == "9999-12-31")
        #expect(CalendarDate(Date.distantPast).description == "0001-01-01")
    }

    @Test func ordersChronologically() throws {
        let earlier = try #require(CalendarDate("2026-09-30"))
        let later = try #require(CalendarDate("2026-10-01"))
        #expect(earlier < later)
        #expect(later.daysSinceEpoch - earlier.daysSinceEpoch == 1)
    }

    @Test func codesAsAJSONString() throws {
        let date = try #require(CalendarDate("2027-01-14"))
        let json = try JSONEncoder().encode([date])
        #expect(String(decoding: json, as: UTF8.self) == #"["2027-01-14"]"#)
        #expect(try JSONDecoder().decode([CalendarDate].self, from: json) == [date])
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode([CalendarDate].self, from: Data(#"["14/01/2027"]"#.utf8))
        }
    }
}
