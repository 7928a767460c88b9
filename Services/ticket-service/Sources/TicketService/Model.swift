import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird

/// Where a ticket is in its life (DOMAIN.md "States and transitions").
enum TicketStatus: String, Codable, Sendable, CaseIterable {
    case draft, submitted
    case underReview = "under_review"
    case pendingApproval = "pending_approval"
    case assigned
    case inProgress = "in_progress"
    case pending, postponed, resolved, closed, rejected, withdrawn

    /// Closed, rejected and withdrawn tickets never change again.
    var isTerminal: Bool { [.closed, .rejected, .withdrawn].contains(self) }
    /// Open: neither terminal nor a draft.
    var isOpen: Bool { !self.isTerminal && self != .draft }
    /// The SLA clocks do not run in these states.
    var pausesSLA: Bool { self == .pending || self == .postponed }
}

/// How urgent a ticket is.
enum Priority: String, Codable, Sendable, CaseIterable {
    case low, medium, high, urgent

    /// Sort rank, most urgent highest.
    var rank: Int { Priority.allCases.firstIndex(of: self)! }
}

/// A ticket row.
struct Ticket: Sendable, Equatable, Codable {
    var id: UUID
    var number: String
    var title: String
    var description: String
    var categoryId: UUID?
    var priority: Priority
    var status: TicketStatus
    var requestorId: UUID
    var departmentId: UUID?
    var assigneeId: UUID?
    var moderatorId: UUID?
    var progress: Int
    var reopenCount: Int
    var parentId: UUID?
    var dueAt: Date?
    var firstResponseAt: Date?
    var firstResponseDue: Date?
    var resolutionDue: Date?
    var slaPausedAt: Date?
    var slaBreached: Bool
    var resumeAt: Date?
    var createdAt: Date
    var updatedAt: Date
    var version: Int
    var approvalRouteId: UUID?
    /// The current step of the approval route (0-based) while pending approval.
    var approvalStep: Int?
    /// Who must decide the current approval step.
    var currentApproverId: UUID?
    /// Set by the scheduler once most of the resolution time is used.
    var slaNearing: Bool = false
}

/// A ticket as the API shows it to one caller (API.md "ticket-service").
struct TicketView: Encodable, Sendable, ResponseEncodable {
    struct SLA: Encodable, Sendable {
        var firstResponseDue: Date?
        var resolutionDue: Date?
        var paused: Bool
        var nearing: Bool
        var breached: Bool
        var remainingSeconds: Int?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.firstResponseDue, forKey: .firstResponseDue)
            try container.encode(self.resolutionDue, forKey: .resolutionDue)
            try container.encode(self.paused, forKey: .paused)
            try container.encode(self.nearing, forKey: .nearing)
            try container.encode(self.breached, forKey: .breached)
            try container.encode(self.remainingSeconds, forKey: .remainingSeconds)
        }

        enum CodingKeys: String, CodingKey {
            case paused, nearing, breached
            case firstResponseDue = "first_response_due"
            case resolutionDue = "resolution_due"
            case remainingSeconds = "remaining_seconds"
        }
    }

    var ticket: Ticket
    var allowedActions: [TicketAction]

    /// The clocks as the caller sees them now: the due time of the clock that runs (first response
    /// until it happened, then resolution) and what is left of it, frozen while paused.
    var sla: SLA {
        let ticket = self.ticket
        let due = ticket.firstResponseAt == nil ? ticket.firstResponseDue ?? ticket.resolutionDue : ticket.resolutionDue
        let remaining = due.map { Int($0.timeIntervalSince(ticket.slaPausedAt ?? Date())) }
        return SLA(
            firstResponseDue: ticket.firstResponseDue, resolutionDue: ticket.resolutionDue, paused: ticket.status.pausesSLA,
            nearing: ticket.slaNearing, breached: ticket.slaBreached, remainingSeconds: ticket.status.isOpen ? remaining : nil)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        let ticket = self.ticket
        try container.encode(ticket.id, forKey: .id)
        try container.encode(ticket.number, forKey: .number)
        try container.encode(ticket.title, forKey: .title)
        try container.encode(ticket.description, forKey: .description)
        try container.encode(ticket.categoryId, forKey: .categoryId)
        try container.encode(ticket.priority, forKey: .priority)
        try container.encode(ticket.status, forKey: .status)
        try container.encode(ticket.departmentId, forKey: .departmentId)
        try container.encode(ticket.requestorId, forKey: .requestorId)
        try container.encode(ticket.assigneeId, forKey: .assigneeId)
        try container.encode(ticket.moderatorId, forKey: .moderatorId)
        try container.encode(ticket.progress, forKey: .progress)
        try container.encode(ticket.reopenCount, forKey: .reopenCount)
        try container.encode(ticket.parentId, forKey: .parentId)
        try container.encode(ticket.dueAt, forKey: .dueAt)
        try container.encode(ticket.createdAt, forKey: .createdAt)
        try container.encode(ticket.updatedAt, forKey: .updatedAt)
        try container.encode(ticket.version, forKey: .version)
        try container.encode(ticket.currentApproverId, forKey: .currentApproverId)
        try container.encode(self.sla, forKey: .sla)
        try container.encode(self.allowedActions, forKey: .allowedActions)
    }

    /// Writes the same JSON as `encode(to:)`, by hand: pages of tickets are the hottest answer of the
    /// service, and `Codable` made up most of their cost (`TicketViewTests` keeps the two equal).
    func write(to json: inout JSONWriter) {
        let ticket = self.ticket
        json.beginObject()
        json.member(Keys.id.rawValue, ticket.id)
        json.member(Keys.number.rawValue, ticket.number)
        json.member(Keys.title.rawValue, ticket.title)
        json.member(Keys.description.rawValue, ticket.description)
        json.member(Keys.categoryId.rawValue, ticket.categoryId)
        json.member(Keys.priority.rawValue, ticket.priority.rawValue)
        json.member(Keys.status.rawValue, ticket.status.rawValue)
        json.member(Keys.departmentId.rawValue, ticket.departmentId)
        json.member(Keys.requestorId.rawValue, ticket.requestorId)
        json.member(Keys.assigneeId.rawValue, ticket.assigneeId)
        json.member(Keys.moderatorId.rawValue, ticket.moderatorId)
        json.member(Keys.progress.rawValue, ticket.progress)
        json.member(Keys.reopenCount.rawValue, ticket.reopenCount)
        json.member(Keys.parentId.rawValue, ticket.parentId)
        json.member(Keys.dueAt.rawValue, ticket.dueAt)
        json.member(Keys.createdAt.rawValue, ticket.createdAt)
        json.member(Keys.updatedAt.rawValue, ticket.updatedAt)
        json.member(Keys.version.rawValue, ticket.version)
        json.member(Keys.currentApproverId.rawValue, ticket.currentApproverId)
        let sla = self.sla
        json.key(Keys.sla.rawValue)
        json.beginObject()
        json.member(SLA.CodingKeys.firstResponseDue.rawValue, sla.firstResponseDue)
        json.member(SLA.CodingKeys.resolutionDue.rawValue, sla.resolutionDue)
        json.member(SLA.CodingKeys.paused.rawValue, sla.paused)
        json.member(SLA.CodingKeys.nearing.rawValue, sla.nearing)
        json.member(SLA.CodingKeys.breached.rawValue, sla.breached)
        json.member(SLA.CodingKeys.remainingSeconds.rawValue, sla.remainingSeconds)
        json.endObject()
        json.key(Keys.allowedActions.rawValue)
        json.beginArray()
        for action in self.allowedActions { json.string(action.rawValue) }
        json.endArray()
        json.endObject()
    }

    /// Written in snake_case, so lists can skip the encoder's key conversion.
    enum Keys: String, CodingKey {
        case id, number, title, description, priority, status, progress, version, sla
        case categoryId = "category_id", departmentId = "department_id", requestorId = "requestor_id", assigneeId = "assignee_id"
        case moderatorId = "moderator_id", reopenCount = "reopen_count", parentId = "parent_id", dueAt = "due_at"
        case createdAt = "created_at", updatedAt = "updated_at", allowedActions = "allowed_actions"
        case currentApproverId = "current_approver_id"
    }
}
