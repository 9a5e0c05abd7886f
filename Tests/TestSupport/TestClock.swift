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

    /// What is wrong with `SWITCHBOARD_TEST_TODAY`, or nil. A malformed value leaves the default day
    /// in force and fails `TestClockTests` (so the run fails, naming the value) instead of crashing.
    public static let configurationProblem: String? = {
        guard let text = ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_TODAY"] else { return nil }
        return CalendarDate(text) == nil ? "SWITCHBOARD_TEST_TODAY must be a date as YYYY-MM-DD, got \"\(text)\"" : nil
    }()

    /// The test day: `SWITCHBOARD_TEST_TODAY` when it is a valid date, else the default.
    public static let today: CalendarDate = {
        ProcessInfo.processInfo.environment["SWITCHBOARD_TEST_TODAY"].flatMap(CalendarDate.init)
            ?? CalendarDate(defaultDay) ?? CalendarDate(Date(timeIntervalSince1970: 1_795_910_400))
    }()

    /// Noon UTC on the test day: the instant the registry's injected clock returns.
    public static let now: Date = today.startOfDay.addingTimeInterval(12 * 3600)

    /// The day `offset` days after (negative: before) the test day.
    public static func day(_ offset: Int) -> CalendarDate {
        today.advanced(byDays: offset)
    }
}
