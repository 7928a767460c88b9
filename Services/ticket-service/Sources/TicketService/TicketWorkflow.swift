import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// Applies a lifecycle action: finds the table row that allows it, checks its requirements, and
/// writes the new state, the audit row and the event in one transaction with the ticket's row
/// locked, so concurrent transitions on one ticket are serialised (one wins, the rest get 409).
struct TicketWorkflow: Sendable {
    let tickets: TicketRepository
    let search: TicketSearch
    let directory: DirectoryClient
    let planner: ApprovalPlanner
    let sla: SLARepository

    /// The body of `POST /tickets/{id}/transitions`.
    typealias Request = TicketTransitionRequest

    /// A transition's checked inputs.
    struct Inputs: Sendable {
        var reason: String?
        var comment: String?
        var progress: Int?
        var resumeAt: Date?
        var target: Target?
        var plan: ApprovalPlan?
    }

    func apply(_ request: Request, to id: UUID, by identity: Identity, actor: AuditActor) async throws -> Ticket {
        guard let raw = request.action, let action = TicketAction(rawValue: raw) else {
            throw Problem.validation([.init(field: "action", message: "must be one of \(TicketAction.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        var check = Validation()
        let reason = check.limit(request.reason, "reason", maxLength: 2_000)
        let comment = check.limit(request.comment, "comment", maxLength: 5_000)
        check.range(request.progress, "progress", 0...100)
        try check.finish()
        // Resolved before the transaction: a network call never holds a row lock.
        var plan: ApprovalPlan?
        if [.requestApproval, .approve, .decline].contains(action), let current = try await self.tickets.ticket(id) {
            plan = try await self.planner.plan(action, ticket: current, routeId: request.routeId)
        }
        let inputs = Inputs(reason: reason, comment: comment, progress: request.progress, resumeAt: request.resumeAt,
                            target: try await self.target(for: action, request), plan: plan)
        return try await self.tickets.client.transaction(logger: self.tickets.logger) { connection in
            guard let before = try await self.tickets.ticket(id, on: connection, lock: true),
                  try await self.search.canSee(before, identity, on: connection)
            else { throw Problem.notFound("Ticket \(id.lowercased)") }
            if let version = request.version, version != before.version {
                throw Problem.versionConflict(expected: version, actual: before.version)
            }
            return try await self.perform(action, on: before, parties: identity.parties(to: before), inputs: inputs,
                                          caller: identity.userID, actor: actor, now: Date(), connection: connection)
        }
    }

    /// Takes `action` on a ticket whose row the caller holds locked: finds the table row, applies
    /// its effects and saves the new state with its audit row and event. The scheduler calls this
    /// too, as the system party.
    func perform(
        _ action: TicketAction, on before: Ticket, parties: Set<Party>, inputs: Inputs, caller: UUID?, actor: AuditActor, now: Date,
        connection: PostgresConnection
    ) async throws -> Ticket {
        let row = try Lifecycle.resolve(action: action, status: before.status, parties: parties)
        var after = before
        after.status = row.to
        try await self.effects(of: action, on: &after, before: before, inputs: inputs, caller: caller, now: now, connection: connection)
        var details: [String: JSONValue] = ["transition": .string(action.rawValue), "from_status": .string(before.status.rawValue),
                                            "to_status": .string(after.status.rawValue)]
        if let reason = inputs.reason { details["reason"] = .string(reason) }
        if let comment = inputs.comment { details["comment"] = .string(comment) }
        if let resumeAt = inputs.resumeAt { details["resume_at"] = .string(RFC3339.format(resumeAt)) }
        let type: EventType = switch action {
        case .submit: .ticketSubmitted
        case .assign, .reassign: .ticketAssigned
        case .autoClose: .ticketAutoClosed
        case .requestApproval: .approvalRequested
        case .approve, .decline: .approvalDecided
        // A transition that keeps the status (update_progress) changes the ticket, not its status.
        default: before.status == after.status ? .ticketUpdated : .ticketStatusChanged
        }
        if let plan = inputs.plan {
            details["route_id"] = .string(plan.routeId.lowercased)
            if let next = plan.next {
                details["approver_id"] = .string(next.approver.lowercased)
                details["recipients"] = .array([.string(next.approver.lowercased)])
            }
        }
        return try await self.tickets.save(after, before: before, change: Change(
            type: type, action: action.rawValue, subject: .init(kind: "ticket", id: before.id.lowercased),
            actorId: actor.id, requestId: actor.requestId, details: details), on: connection)
    }

    /// Where an assign/reassign sends the ticket, checked against the directory.
    struct Target: Sendable {
        var departmentId: UUID
        var assigneeId: UUID?
    }

    private func target(for action: TicketAction, _ request: Request) async throws -> Target? {
        guard action == .assign || action == .reassign else { return nil }
        guard request.assigneeId != nil || request.departmentId != nil else {
            throw Problem.validation([.init(field: "department_id", message: "or assignee_id is required")])
        }
        var department = request.departmentId
        if let assignee = request.assigneeId {
            guard let employee = try await self.directory.employee(assignee), employee.active, employee.roles.contains(.assignee) else {
                throw Problem.validation([.init(field: "assignee_id", message: "is not an active assignee")])
            }
            if let department, employee.departmentId != department {
                throw Problem.validation([.init(field: "assignee_id", message: "does not belong to the department")])
            }
            department = employee.departmentId
        }
        guard let department, try await self.directory.departments().contains(where: { $0.id == department }) else {
            throw Problem.validation([.init(field: "department_id", message: "is not a known department")])
        }
        return Target(departmentId: department, assigneeId: request.assigneeId)
    }

    private func effects(
        of action: TicketAction, on ticket: inout Ticket, before: Ticket, inputs: Inputs, caller: UUID?, now: Date,
        connection: PostgresConnection
    ) async throws {
        func required(_ value: String?, _ field: String, _ what: String) throws {
            if value?.isEmpty ?? true { throw Problem.validation([.init(field: field, message: "is required to \(what)")]) }
        }
        let (reason, comment, progress, target) = (inputs.reason, inputs.comment, inputs.progress, inputs.target)
        switch action {
        case .submit:
            var check = Validation()
            check.require(ticket.title, "title")
            check.require(ticket.description, "description")
            if ticket.departmentId == nil { check.fail("department_id", "is required to submit") }
            try check.finish()
            try await self.startClocks(&ticket, at: now, connection: connection)
        case .withdraw, .confirm, .autoClose:
            break
        case .startReview:
            ticket.moderatorId = caller ?? ticket.moderatorId
        case .reject:
            try required(reason, "reason", "reject")
        case .close:
            try required(reason, "reason", "close")
        case .assign, .reassign:
            guard let target else { throw Problem.validation([.init(field: "department_id", message: "is required")]) }
            ticket.departmentId = target.departmentId
            ticket.assigneeId = target.assigneeId
            if ticket.moderatorId == nil { ticket.moderatorId = caller }
        case .acknowledge:
            if ticket.assigneeId == nil { ticket.assigneeId = caller }
            if ticket.firstResponseAt == nil { ticket.firstResponseAt = now }
        case .updateProgress:
            guard let progress else { throw Problem.validation([.init(field: "progress", message: "is required")]) }
            if progress < before.progress { try required(reason, "reason", "lower the progress") }
            ticket.progress = progress
        case .requestInfo:
            try required(reason, "reason", "ask for information (the question)")
            ticket.slaPausedAt = now
        case .provideInfo:
            try required(comment, "comment", "provide information (the answer)")
            try await self.resumeClocks(&ticket, at: now, connection: connection)
        case .postpone:
            try required(reason, "reason", "postpone")
            guard let resumeAt = inputs.resumeAt else {
                throw Problem.validation([.init(field: "resume_at", message: "is required to postpone")])
            }
            guard resumeAt > now else { throw Problem.validation([.init(field: "resume_at", message: "must be in the future")]) }
            ticket.resumeAt = resumeAt
            ticket.slaPausedAt = now
        case .resume:
            ticket.resumeAt = nil
            try await self.resumeClocks(&ticket, at: now, connection: connection)
        case .requestApproval, .approve, .decline:
            try await self.decide(action, on: &ticket, before: before, inputs: inputs, now: now, connection: connection)
        case .resolve:
            let open = try await connection.query("""
                SELECT count(*)::int FROM tickets.tickets WHERE parent_id = \(ticket.id) AND status NOT IN ('resolved', 'closed', 'rejected', 'withdrawn')
                """, logger: self.tickets.logger)
            for try await count in open.decode(Int.self) where count > 0 {
                throw Problem.conflict(kind: "open-subtickets", "\(count) sub-ticket(s) are not resolved or closed yet")
            }
            ticket.progress = 100
        case .reopen:
            try required(reason, "reason", "reopen")
            guard before.reopenCount < Lifecycle.maxReopens else {
                throw Problem.conflict(kind: "reopen-limit", "This ticket was already reopened \(Lifecycle.maxReopens) times, the most allowed")
            }
            ticket.reopenCount += 1
        }
    }

    /// Records an approval step's request or decision and moves the ticket along its route.
    private func decide(
        _ action: TicketAction, on ticket: inout Ticket, before: Ticket, inputs: Inputs, now: Date, connection: PostgresConnection
    ) async throws {
        guard let plan = inputs.plan, plan.decidedStep == before.approvalStep else {
            throw Problem.conflict(kind: "version-conflict", "The approval moved on while this decision was made; reload the ticket")
        }
        let logger = self.tickets.logger
        if let step = plan.decidedStep {
            if action == .decline, inputs.comment?.isEmpty ?? true {
                throw Problem.validation([.init(field: "comment", message: "is required to decline")])
            }
            try await connection.query("""
                UPDATE tickets.approvals SET decision = \(action == .approve ? "approved" : "declined"), comment = \(inputs.comment ?? inputs.reason),
                    decided_at = \(now)
                WHERE ticket_id = \(ticket.id) AND step = \(step) AND decision = 'pending'
                """, logger: logger)
        }
        ticket.approvalRouteId = plan.routeId
        ticket.approvalStep = nil
        ticket.currentApproverId = nil
        guard action != .decline, let next = plan.next else { return }
        try await connection.query("""
            INSERT INTO tickets.approvals (id, ticket_id, route_id, step, position, approver_id, requested_at)
            VALUES (\(UUID.v7()), \(ticket.id), \(plan.routeId), \(next.step), \(next.position.code), \(next.approver), \(now))
            """, logger: logger)
        ticket.status = .pendingApproval
        ticket.approvalStep = next.step
        ticket.currentApproverId = next.approver
    }

    /// Starts the SLA clocks from the department's policy for the ticket's priority, in business time.
    /// Without a policy the ticket has no targets.
    private func startClocks(_ ticket: inout Ticket, at now: Date, connection: PostgresConnection) async throws {
        guard let department = ticket.departmentId,
              let policy = try await self.sla.policy(department: department, priority: ticket.priority, on: connection)
        else { return }
        let (calendar, _) = try await self.sla.calendar(on: connection)
        ticket.firstResponseDue = calendar.adding(minutes: policy.firstResponse, to: now)
        ticket.resolutionDue = calendar.adding(minutes: policy.resolution, to: now)
    }

    /// Moves the SLA due times later by the business time the ticket spent paused.
    private func resumeClocks(_ ticket: inout Ticket, at now: Date, connection: PostgresConnection) async throws {
        guard let paused = ticket.slaPausedAt else { return }
        ticket.slaPausedAt = nil
        guard ticket.firstResponseDue != nil || ticket.resolutionDue != nil else { return }
        let (calendar, _) = try await self.sla.calendar(on: connection)
        let pause = calendar.workingSeconds(from: paused, to: now)
        if ticket.firstResponseAt == nil { ticket.firstResponseDue = ticket.firstResponseDue.map { calendar.adding(seconds: pause, to: $0) } }
        ticket.resolutionDue = ticket.resolutionDue.map { calendar.adding(seconds: pause, to: $0) }
    }
}
