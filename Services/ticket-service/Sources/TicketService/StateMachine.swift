import BaseModel
import Foundation
import HDMSProtocol
import ServiceKit

/// Everything a caller can ask a ticket to do (`POST /tickets/{id}/transitions {action}`).
enum TicketAction: String, Codable, Sendable, CaseIterable {
    case submit, withdraw
    case startReview = "start_review"
    case reject, assign, acknowledge, reassign
    case updateProgress = "update_progress"
    case requestInfo = "request_info"
    case provideInfo = "provide_info"
    case postpone, resume, resolve, confirm, reopen, close
    case autoClose = "auto_close"
    case requestApproval = "request_approval"
    case approve, decline
}

/// Who stands in which relation to a ticket. A caller may hold several.
enum Party: Sendable, Hashable, CaseIterable {
    /// The requestor who raised it.
    case owner
    /// A moderator of the ticket's department.
    case moderator
    /// The assignee, or an assignee of the department it is assigned to while nobody holds it.
    case assignee
    /// The employee who holds the current approval step's position.
    case approver
    /// An administrator.
    case admin
    /// The scheduler (auto-close, resumes).
    case system
}

/// What a transition needs from the request body.
enum Requirement: Sendable {
    case reason
    case comment
    case progress
    case target
    case route
}

/// One row of the lifecycle table: from which states, by whom, to which state.
struct Transition: Sendable {
    var action: TicketAction
    var from: Set<TicketStatus>
    var to: TicketStatus
    var by: Set<Party>
    var requires: [Requirement] = []
}

/// The lifecycle of DOMAIN.md as one table. It drives the transition endpoint, the
/// `allowed_actions` of every ticket a caller reads, and the wording of refusals.
enum Lifecycle {
    static let open: Set<TicketStatus> = Set(TicketStatus.allCases.filter(\.isOpen))

    static let table: [Transition] = [
        Transition(action: .submit, from: [.draft], to: .submitted, by: [.owner]),
        Transition(action: .withdraw, from: [.draft, .submitted], to: .withdrawn, by: [.owner]),
        Transition(action: .startReview, from: [.submitted], to: .underReview, by: [.moderator]),
        Transition(action: .reject, from: [.submitted, .underReview], to: .rejected, by: [.moderator], requires: [.reason]),
        Transition(action: .requestApproval, from: [.underReview], to: .pendingApproval, by: [.moderator], requires: [.route]),
        // After the last step the ticket returns to review; earlier steps keep it pending (effects).
        Transition(action: .approve, from: [.pendingApproval], to: .underReview, by: [.approver]),
        Transition(action: .decline, from: [.pendingApproval], to: .rejected, by: [.approver], requires: [.comment]),
        Transition(action: .assign, from: [.underReview], to: .assigned, by: [.moderator], requires: [.target]),
        Transition(action: .acknowledge, from: [.assigned], to: .inProgress, by: [.assignee]),
        Transition(action: .reassign, from: [.assigned, .inProgress], to: .assigned, by: [.moderator], requires: [.target]),
        Transition(action: .updateProgress, from: [.inProgress], to: .inProgress, by: [.assignee], requires: [.progress]),
        Transition(action: .requestInfo, from: [.inProgress], to: .pending, by: [.assignee, .moderator], requires: [.reason]),
        Transition(action: .provideInfo, from: [.pending], to: .inProgress, by: [.owner], requires: [.comment]),
        Transition(action: .postpone, from: [.inProgress], to: .postponed, by: [.assignee, .moderator], requires: [.reason]),
        Transition(action: .resume, from: [.postponed], to: .inProgress, by: [.assignee, .moderator, .system]),
        Transition(action: .resolve, from: [.inProgress], to: .resolved, by: [.assignee]),
        Transition(action: .confirm, from: [.resolved], to: .closed, by: [.owner]),
        Transition(action: .reopen, from: [.resolved], to: .inProgress, by: [.owner], requires: [.reason]),
        Transition(action: .autoClose, from: [.resolved], to: .closed, by: [.system]),
        Transition(action: .close, from: open, to: .closed, by: [.moderator, .admin], requires: [.reason]),
    ]

    /// The most reopens a ticket allows.
    static let maxReopens = 2

    static func rows(for action: TicketAction) -> [Transition] { self.table.filter { $0.action == action } }

    /// The actions `parties` may take on a ticket in `status` now (read from `allowedActions`).
    static func allowed(status: TicketStatus, parties: Set<Party>) -> [TicketAction] {
        var mask = 0
        for (bit, party) in Party.allCases.enumerated() where parties.contains(party) { mask |= 1 << bit }
        return self.allowedActions[status]?[mask] ?? []
    }

    /// `allowed` for every status and every combination of parties (a bit per party), worked out
    /// once from the table: lists ask it for every ticket on a page.
    private static let allowedActions: [TicketStatus: [[TicketAction]]] = Dictionary(uniqueKeysWithValues: TicketStatus.allCases.map { status in
        let combinations = (0..<(1 << Party.allCases.count)).map { mask in
            let parties = Set(Party.allCases.enumerated().filter { mask & (1 << $0.offset) != 0 }.map(\.element))
            var seen: Set<TicketAction> = []
            return Lifecycle.table.compactMap { row -> TicketAction? in
                guard row.from.contains(status), !row.by.isDisjoint(with: parties), seen.insert(row.action).inserted else { return nil }
                return row.action
            }
        }
        return (status, combinations)
    })

    /// The row that lets `parties` take `action` from `status`, or the refusal: 403 when these parties
    /// may never take it on this ticket, 409 naming the state when they could but not now.
    static func resolve(action: TicketAction, status: TicketStatus, parties: Set<Party>) throws(Problem) -> Transition {
        let rows = self.rows(for: action)
        let mine = rows.filter { !$0.by.isDisjoint(with: parties) }
        guard !mine.isEmpty else {
            let who = Set(rows.flatMap(\.by)).map(\.label).sorted().joined(separator: " or ")
            throw Problem.forbidden("Only the \(who) may \(action.rawValue.replacingOccurrences(of: "_", with: " ")) this ticket")
        }
        guard let row = mine.first(where: { $0.from.contains(status) }) else {
            let states = Set(mine.flatMap(\.from)).map(\.rawValue).sorted().joined(separator: ", ")
            throw Problem(
                status: 409, kind: "invalid-transition", title: "Transition not allowed now",
                detail: "Cannot \(action.rawValue) a ticket in status \(status.rawValue): \(action.rawValue) is allowed only from \(states)")
        }
        return row
    }
}

extension Party {
    var label: String {
        switch self {
        case .owner: "requestor who raised it"
        case .moderator: "moderator of its department"
        case .assignee: "assignee"
        case .approver: "approver of the current step"
        case .admin: "admin"
        case .system: "system"
        }
    }
}

extension Identity {
    /// The parties this caller is to `ticket`.
    func parties(to ticket: Ticket) -> Set<Party> {
        var parties: Set<Party> = []
        guard let me = self.userID else {
            if self.isService { parties.insert(.system) }
            return parties
        }
        if ticket.requestorId == me { parties.insert(.owner) }
        if self.has(.moderator), let department = ticket.departmentId, self.moderates.contains(department) { parties.insert(.moderator) }
        if self.has(.assignee) {
            if ticket.assigneeId == me || (ticket.assigneeId == nil && ticket.departmentId != nil && ticket.departmentId == self.department) {
                parties.insert(.assignee)
            }
        }
        if ticket.status == .pendingApproval, ticket.currentApproverId == me { parties.insert(.approver) }
        if self.has(.admin) { parties.insert(.admin) }
        return parties
    }
}
