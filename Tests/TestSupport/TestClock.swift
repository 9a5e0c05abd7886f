import Catalog
import Foundation

/// The one clock every date-sensitive test runs on, so a test's expectations come from the same
/// instant as the code under test and never from the machine's date.
///
/// The day is 2026-11-29 unless `SWITCHBOARD_TEST_TODAY` (YYYY-MM-DD) names another: `make test` runs
/// the date-sensitive suites again on 2026-01-01 and 2028-12-31 (scripts/test.sh), which proves no
/// expectation is pinned to one calendar day. Fixtures that need a past or future date take it
/// relative to this day (`TestClock.day(+30)`), not as a literal.
public enum TestClock {
    public static let defaultDay = "2026-11-29"

    /// The test day, from the environment or the default. A malformed value stops the run loudly
    /// rather than silently testing on the default day.
    public static let today: CalendarDate = {
        let text = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_TODAY"] ?? defaultDay
        guard let day = CalendarDate(text) else {
            fatalError("SWITCHBOARD_TEST_TODAY must be a date as YYYY-MM-DD, got \"\(text)\"")
        }
        return day
    }()

    /// Noon UTC on the test day: the instant the registry's injected clock returns.
    public static let now: Date = today.startOfDay.addingTimeInterval(12 * 3600)

    /// The day `offset` days after (negative: before) the test day.
    public static func day(_ offset: Int) -> CalendarDate {
        today.advanced(byDays: offset)
    }
}
