import Foundation

/// The body of `POST /api/v1/tickets/{id}/transitions` (API.md "ticket-service"): the action and
/// whichever inputs it takes. ticket-service decodes it; the web UI sends it.
public struct TicketTransitionRequest: Codable, Sendable, Equatable {
    /// One of DOMAIN.md's actions (`submit`, `assign`, ...); optional so that a missing one is a
    /// validation error rather than a decoding failure.
    public var action: String?
    public var version: Int?
    public var reason: String?
    public var comment: String?
    public var progress: Int?
    public var assigneeId: UUID?
    public var departmentId: UUID?
    public var resumeAt: Date?
    public var routeId: UUID?

    public init(
        action: String?, version: Int? = nil, reason: String? = nil, comment: String? = nil, progress: Int? = nil,
        assigneeId: UUID? = nil, departmentId: UUID? = nil, resumeAt: Date? = nil, routeId: UUID? = nil
    ) {
        self.action = action
        self.version = version
        self.reason = reason
        self.comment = comment
        self.progress = progress
        self.assigneeId = assigneeId
        self.departmentId = departmentId
        self.resumeAt = resumeAt
        self.routeId = routeId
    }
}

/// `GET`/`PUT /api/v1/business-calendar`: the working week SLA clocks count in (minutes of the
/// day in `timeZone`, ISO weekdays 1–7, holidays as `yyyy-MM-dd`); `version` guards writes.
public struct BusinessCalendarBody: Codable, Sendable, Equatable {
    public var timeZone: String
    public var workDays: [Int]
    public var dayStartMinute: Int
    public var dayEndMinute: Int
    public var holidays: [String]
    public var version: Int?

    public init(timeZone: String, workDays: [Int], dayStartMinute: Int, dayEndMinute: Int, holidays: [String], version: Int?) {
        self.timeZone = timeZone
        self.workDays = workDays
        self.dayStartMinute = dayStartMinute
        self.dayEndMinute = dayEndMinute
        self.holidays = holidays
        self.version = version
    }
}
