import Foundation

/// A day on the calendar, "YYYY-MM-DD", with no time and no time zone: the Swift side of SQL `date`
/// (`llm_models.release_date`, `deprecation_date`) and of LiteLLM's `deprecation_date`.
///
/// Why not `Date`: a `Date` is an instant, and turning a SQL date into one means picking a time zone;
/// the same row would then print as a different day on a machine in another zone. A plain value that
/// round-trips its text exactly avoids that class of bug. Comparisons with "now" go through
/// `CalendarDate(_ date:)`, which reads the instant's day in UTC (the database's reference zone).
public struct CalendarDate: Sendable, Hashable, Comparable, Codable, CustomStringConvertible,
    LosslessStringConvertible
{
    public let year: Int
    public let month: Int
    public let day: Int

    /// Nil when the day does not exist (2026-02-30, month 13, year outside 1...9999).
    public init?(year: Int, month: Int, day: Int) {
        guard (1...9999).contains(year), (1...12).contains(month),
            (1...CalendarDate.daysInMonth(year: year, month: month)).contains(day)
        else { return nil }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses exactly "YYYY-MM-DD" (the SQL and ISO 8601 calendar-date text); nil otherwise.
    public init?(_ description: String) {
        let parts = description.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
            parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
            let year = Int(parts[0]), let month = Int(parts[1]), let day = Int(parts[2])
        else { return nil }
        self.init(year: year, month: month, day: day)
    }

    /// The UTC calendar day containing `date`. Instants outside years 1…9999 (or not finite) read as the
    /// nearest representable day rather than trapping.
    public init(_ date: Date) {
        let firstDay = Double(CalendarDate.daysSinceEpoch(year: 1, month: 1, day: 1))
        let lastDay = Double(CalendarDate.daysSinceEpoch(year: 9999, month: 12, day: 31))
        let rawDays = (date.timeIntervalSince1970 / 86_400).rounded(.down)
        let days = Int(rawDays.isNaN ? 0 : min(max(rawDays, firstDay), lastDay))
        (year, month, day) = CalendarDate.civil(fromDaysSinceEpoch: days)
    }

    /// Midnight UTC at the start of this day.
    public var startOfDay: Date {
        Date(timeIntervalSince1970: Double(daysSinceEpoch) * 86_400)
    }

    /// The day `days` days later (earlier when negative), clamped to years 1…9999 like `init(_:)`.
    public func advanced(byDays days: Int) -> CalendarDate {
        CalendarDate(startOfDay.addingTimeInterval(Double(days) * 86_400))
    }

    /// Days since 1970-01-01 (negative before it).
    public var daysSinceEpoch: Int {
        CalendarDate.daysSinceEpoch(year: year, month: month, day: day)
    }

    public var description: String {
        let y = String(year), m = String(month), d = String(day)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-"
            + (m.count < 2 ? "0" : "") + m + "-" + (d.count < 2 ? "0" : "") + d
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        guard let date = CalendarDate(text) else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected a date as \"YYYY-MM-DD\", got \"\(text)\"")
        }
        self = date
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(description)
    }

    // MARK: - Proleptic Gregorian arithmetic (H. Hinnant's civil-date algorithms), so the type needs no
    // Calendar or TimeZone and gives the same answer on every machine.

    static func isLeapYear(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(fromDaysSinceEpoch days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }
}
