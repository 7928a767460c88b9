import Foundation
@testable import TicketService
import Testing

@Suite("Business-time arithmetic")
struct BusinessCalendarTests {
    static let utc = BusinessCalendar.standard  // Monday to Friday, 09:00-17:00 UTC

    static func at(_ text: String, _ zone: String = "UTC") -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        let parts = text.split(whereSeparator: { $0 == "-" || $0 == " " || $0 == ":" }).map { Int($0)! }
        return calendar.date(from: DateComponents(year: parts[0], month: parts[1], day: parts[2], hour: parts[3], minute: parts[4]))!
    }

    /// Adding working minutes skips nights, weekends and time before opening.
    @Test(arguments: [
        ("2026-11-23 10:00", 60, "2026-11-23 11:00"),   // Monday, inside hours
        ("2026-11-23 16:30", 60, "2026-11-24 09:30"),   // runs past closing into the next morning
        ("2026-11-27 16:00", 120, "2026-11-30 10:00"),  // Friday afternoon over the weekend
        ("2026-11-28 12:00", 30, "2026-11-30 09:30"),   // starting on a Saturday
        ("2026-11-23 07:00", 30, "2026-11-23 09:30"),   // starting before opening
        ("2026-11-23 18:00", 0, "2026-11-23 18:00"),    // nothing to add
        ("2026-11-23 09:00", 5 * 480, "2026-11-27 17:00"), // exactly one working week
    ])
    func addsWorkingMinutes(start: String, minutes: Int, expected: String) {
        #expect(Self.utc.adding(minutes: minutes, to: Self.at(start)) == Self.at(expected))
    }

    /// Holidays are skipped like weekends.
    @Test func skipsHolidays() {
        var calendar = Self.utc
        calendar.holidays = ["2026-12-25"]
        #expect(calendar.adding(minutes: 120, to: Self.at("2026-12-24 16:00")) == Self.at("2026-12-28 10:00"))
        #expect(calendar.workingSeconds(from: Self.at("2026-12-24 16:00"), to: Self.at("2026-12-28 10:00")) == 2 * 3600)
    }

    /// Working seconds between moments count only open hours: a pause across a night or weekend
    /// costs only the working time inside it.
    @Test(arguments: [
        ("2026-11-23 16:00", "2026-11-24 10:00", 7_200.0),  // across a night
        ("2026-11-27 16:00", "2026-11-30 10:00", 7_200.0),  // across a weekend
        ("2026-11-28 08:00", "2026-11-29 20:00", 0.0),       // inside a weekend
        ("2026-11-23 20:00", "2026-11-23 08:00", 0.0),       // end before start
        ("2026-11-23 08:00", "2026-11-23 18:00", 28_800.0),  // a whole day
    ])
    func countsWorkingSeconds(from: String, to: String, expected: Double) {
        #expect(Self.utc.workingSeconds(from: Self.at(from), to: Self.at(to)) == expected)
    }

    /// Hours are local to the organisation's time zone, including across a daylight-saving change.
    @Test func followsTheTimeZoneAcrossDaylightSaving() {
        var berlin = Self.utc
        berlin.timeZone = "Europe/Berlin"
        // Clocks go forward on Sunday 2026-03-29; Friday 16:00 plus two working hours is Monday 10:00 local.
        #expect(berlin.adding(minutes: 120, to: Self.at("2026-03-27 16:00", "Europe/Berlin")) == Self.at("2026-03-30 10:00", "Europe/Berlin"))
        #expect(berlin.adding(minutes: 60, to: Self.at("2026-10-23 16:30", "Europe/Berlin")) == Self.at("2026-10-26 09:30", "Europe/Berlin"))
        // A round-the-clock calendar counts real time: the short day has 23 hours.
        var always = berlin
        always.workDays = Array(1...7)
        always.dayStartMinute = 0
        always.dayEndMinute = 1440
        #expect(always.adding(minutes: 24 * 60, to: Self.at("2026-03-28 12:00", "Europe/Berlin")) == Self.at("2026-03-29 13:00", "Europe/Berlin"))
        #expect(always.workingSeconds(from: Self.at("2026-03-29 00:00", "Europe/Berlin"), to: Self.at("2026-03-30 00:00", "Europe/Berlin")) == 23 * 3600)
    }

    /// Malformed calendars are refused field by field.
    @Test func validatesCalendars() {
        let bad = BusinessCalendar(timeZone: "Mars/Olympus", workDays: [0, 8], dayStartMinute: 600, dayEndMinute: 500, holidays: ["25/12/2026"])
        #expect(throws: (any Error).self) { try bad.validate() }
        do {
            try bad.validate()
        } catch {
            #expect(Set(error.errors?.map(\.field) ?? []) == ["time_zone", "work_days", "day_end_minute", "holidays"])
        }
        #expect(throws: Never.self) { try Self.utc.validate() }
    }
}
