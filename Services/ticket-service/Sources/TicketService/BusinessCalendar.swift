import BaseModel
import Foundation

/// The organisation's working time: which weekdays, which hours, which holidays, in which time
/// zone. SLA targets are counted in it.
struct BusinessCalendar: Codable, Sendable, Equatable {
    /// An IANA time zone such as `Europe/Berlin`.
    var timeZone: String
    /// ISO weekdays that are worked: 1 = Monday ... 7 = Sunday.
    var workDays: [Int]
    /// Minutes after local midnight when work starts and ends.
    var dayStartMinute: Int
    var dayEndMinute: Int
    /// Local dates (`yyyy-MM-dd`) that are not worked.
    var holidays: [String]

    static let standard = BusinessCalendar(timeZone: "UTC", workDays: [1, 2, 3, 4, 5], dayStartMinute: 540, dayEndMinute: 1020, holidays: [])

    private var calendar: Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: self.timeZone) ?? .gmt
        return calendar
    }

    /// The working window of the local day containing `date`, or nil when that day is not worked.
    private func window(on day: Date, _ calendar: Calendar) -> (start: Date, end: Date)? {
        let components = calendar.dateComponents([.year, .month, .day, .weekday], from: day)
        guard let weekday = components.weekday, let year = components.year, let month = components.month, let dayOfMonth = components.day else { return nil }
        let iso = weekday == 1 ? 7 : weekday - 1
        guard self.workDays.contains(iso) else { return nil }
        let key = String(format: "%04d-%02d-%02d", year, month, dayOfMonth)
        guard !self.holidays.contains(key) else { return nil }
        func at(_ minute: Int) -> Date? {
            var parts = DateComponents()
            parts.year = year
            parts.month = month
            parts.day = dayOfMonth
            parts.hour = minute / 60
            parts.minute = minute % 60
            return calendar.date(from: parts)
        }
        guard let start = at(self.dayStartMinute), let end = self.dayEndMinute == 1440
            ? calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: day)) : at(self.dayEndMinute)
        else { return nil }
        return (start, end)
    }

    /// The moment `minutes` of working time after `start`.
    func adding(minutes: Int, to start: Date) -> Date {
        self.adding(seconds: TimeInterval(max(minutes, 0) * 60), to: start)
    }

    /// The moment `seconds` of working time after `start`.
    func adding(seconds: TimeInterval, to start: Date) -> Date {
        guard seconds > 0 else { return start }
        let calendar = self.calendar
        var remaining = seconds
        var day = calendar.startOfDay(for: start)
        // A calendar with no working day at all would never finish; stop after ten years.
        for _ in 0..<3_660 {
            if let window = self.window(on: day, calendar) {
                let from = max(window.start, start)
                if from < window.end {
                    let available = window.end.timeIntervalSince(from)
                    if remaining <= available { return from.addingTimeInterval(remaining) }
                    remaining -= available
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            day = next
        }
        return start.addingTimeInterval(remaining)
    }

    /// Working seconds between two moments (0 when `end` is not after `start`).
    func workingSeconds(from start: Date, to end: Date) -> TimeInterval {
        guard end > start else { return 0 }
        let calendar = self.calendar
        var total: TimeInterval = 0
        var day = calendar.startOfDay(for: start)
        while day < end {
            if let window = self.window(on: day, calendar) {
                let from = max(window.start, start)
                let to = min(window.end, end)
                if to > from { total += to.timeIntervalSince(from) }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            day = next
        }
        return total
    }

    /// Checks an admin's calendar.
    func validate() throws(Problem) {
        var check = Validation()
        if TimeZone(identifier: self.timeZone) == nil { check.fail("time_zone", "is not a known IANA time zone") }
        if self.workDays.isEmpty || !self.workDays.allSatisfy({ (1...7).contains($0) }) { check.fail("work_days", "must list ISO weekdays 1 (Monday) to 7") }
        if !(0..<1440).contains(self.dayStartMinute) || !(1...1440).contains(self.dayEndMinute) || self.dayStartMinute >= self.dayEndMinute {
            check.fail("day_end_minute", "must be after day_start_minute, within the day")
        }
        if self.holidays.contains(where: { $0.range(of: #"^\d{4}-\d{2}-\d{2}$"#, options: .regularExpression) == nil }) {
            check.fail("holidays", "must be dates written yyyy-MM-dd")
        }
        try check.finish()
    }
}
