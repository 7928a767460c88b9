import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// All SQL of tickets. Interpolated values are bind parameters.
struct TicketRepository: Sendable {
    let reads: PreparedReads
    let outbox: Outbox
    let logger: Logger

    var client: PostgresClient { self.reads.client }

    static let columns = """
        t.id, t.number, t.title, t.description, t.category_id, t.priority, t.status, t.requestor_id, t.department_id,
        t.assignee_id, t.moderator_id, t.progress, t.reopen_count, t.parent_id, t.due_at, t.first_response_at,
        t.first_response_due, t.resolution_due, t.sla_paused_at, t.sla_breached, t.resume_at, t.created_at, t.updated_at, t.version,
        t.approval_route_id, t.approval_step, t.current_approver_id, t.sla_nearing
        """

    struct Draft: Sendable {
        var title: String
        var description: String
        var categoryId: UUID?
        var priority: Priority
        var departmentId: UUID?
        var dueAt: Date?
        var parentId: UUID?
    }

    /// Creates a draft with the next number of the year, in one transaction with its audit row and event.
    func create(_ draft: Draft, requestor: UUID, actor: AuditActor) async throws -> Ticket {
        try await self.client.transaction(logger: self.logger) { connection in
            let ticket = try await self.insert(draft, requestor: requestor, status: .draft, on: connection)
            try await self.outbox.record(Change(
                type: .ticketCreated, action: "create", subject: .init(kind: "ticket", id: ticket.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: ticket),
                details: Self.summary(ticket)), on: connection, logger: self.logger)
            return ticket
        }
    }

    /// Inserts a ticket row, allocating its number; call inside a transaction.
    func insert(_ draft: Draft, requestor: UUID, status: TicketStatus, on connection: PostgresConnection) async throws -> Ticket {
        let year = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: Date()).year ?? 2026
        let counter = try await connection.query("""
            INSERT INTO tickets.number_counters (year, last_value) VALUES (\(year), 1)
            ON CONFLICT (year) DO UPDATE SET last_value = tickets.number_counters.last_value + 1
            RETURNING last_value
            """, logger: self.logger)
        var sequence = 1
        for try await value in counter.decode(Int.self) { sequence = value }
        let number = "HD-\(year)-" + String(format: "%06d", sequence)
        let rows = try await connection.query("""
            INSERT INTO tickets.tickets AS t (id, number, title, description, category_id, priority, status, requestor_id,
                department_id, due_at, parent_id)
            VALUES (\(UUID.v7()), \(number), \(draft.title), \(draft.description), \(draft.categoryId), \(draft.priority.rawValue),
                \(status.rawValue), \(requestor), \(draft.departmentId), \(draft.dueAt), \(draft.parentId))
            RETURNING \(unescaped: Self.columns)
            """, logger: self.logger)
        return try await Self.one(rows)!
    }

    /// Reads a ticket; with `lock`, holds its row until the transaction ends.
    func ticket(_ id: UUID, on connection: PostgresConnection? = nil, lock: Bool = false) async throws -> Ticket? {
        let query: PostgresQuery = "SELECT \(unescaped: Self.columns) FROM tickets.tickets t WHERE t.id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")"
        if let connection { return try await Self.one(connection.query(query, logger: self.logger)) }
        var ticket: Ticket?
        try await self.reads.forEachRow(query, logger: self.logger) { ticket = try Ticket(row: $0) }
        return ticket
    }

    /// Writes a ticket's new state after a check of its version; the audit row and event go with it.
    func save(_ ticket: Ticket, before: Ticket, change: Change, on connection: PostgresConnection) async throws -> Ticket {
        let rows = try await connection.query("""
            UPDATE tickets.tickets AS t SET
                title = \(ticket.title), description = \(ticket.description), category_id = \(ticket.categoryId),
                priority = \(ticket.priority.rawValue), status = \(ticket.status.rawValue), department_id = \(ticket.departmentId),
                assignee_id = \(ticket.assigneeId), moderator_id = \(ticket.moderatorId), progress = \(ticket.progress),
                reopen_count = \(ticket.reopenCount), due_at = \(ticket.dueAt), first_response_at = \(ticket.firstResponseAt),
                first_response_due = \(ticket.firstResponseDue), resolution_due = \(ticket.resolutionDue),
                sla_paused_at = \(ticket.slaPausedAt), sla_breached = \(ticket.slaBreached), resume_at = \(ticket.resumeAt),
                approval_route_id = \(ticket.approvalRouteId), approval_step = \(ticket.approvalStep),
                current_approver_id = \(ticket.currentApproverId),
                submitted_at = CASE WHEN \(ticket.status.rawValue) = 'submitted' AND submitted_at IS NULL THEN now() ELSE submitted_at END,
                resolved_at = CASE WHEN \(ticket.status.rawValue) = 'resolved' THEN now() ELSE resolved_at END,
                closed_at = CASE WHEN \(ticket.status.rawValue) IN ('closed', 'rejected', 'withdrawn') THEN now() ELSE closed_at END,
                updated_at = now(), version = version + 1
            WHERE t.id = \(ticket.id) AND t.version = \(before.version)
            RETURNING \(unescaped: Self.columns)
            """, logger: self.logger)
        guard let saved = try await Self.one(rows) else { throw Problem.versionConflict(expected: before.version, actual: before.version + 1) }
        var change = change
        change.before = try JSONValue(encoding: before)
        change.after = try JSONValue(encoding: saved)
        change.details.merge(Self.summary(saved)) { _, new in new }
        try await self.outbox.record(change, on: connection, logger: self.logger)
        return saved
    }

    /// The fields consumers route on (notifications, search, audit).
    static func summary(_ ticket: Ticket) -> [String: JSONValue] {
        func id(_ value: UUID?) -> JSONValue { value.map { .string($0.lowercased) } ?? .null }
        return [
            "ticket_id": .string(ticket.id.lowercased), "number": .string(ticket.number), "title": .string(ticket.title),
            "status": .string(ticket.status.rawValue), "requestor_id": id(ticket.requestorId), "department_id": id(ticket.departmentId),
            "assignee_id": id(ticket.assigneeId), "moderator_id": id(ticket.moderatorId), "priority": .string(ticket.priority.rawValue),
        ]
    }

    static func one(_ rows: PostgresRowSequence) async throws -> Ticket? {
        for try await row in rows { return try Ticket(row: row) }
        return nil
    }
}

extension Ticket {
    /// Reads the `TicketRepository.columns` (the first columns of `row`; a query may add more after
    /// them), in order and without PostgresNIO's generic decoding (see `RowReader`).
    init(row: PostgresRow) throws {
        var cells = RowReader(row)
        let id = try cells.uuid(), number = try cells.string(), title = try cells.string(), description = try cells.string()
        let categoryId = try cells.optionalUUID()
        guard let priority = Priority(rawValue: try cells.string()), let status = TicketStatus(rawValue: try cells.string()) else {
            throw Problem.internalError(requestID: nil)
        }
        self.init(
            id: id, number: number, title: title, description: description, categoryId: categoryId, priority: priority,
            status: status, requestorId: try cells.uuid(), departmentId: try cells.optionalUUID(), assigneeId: try cells.optionalUUID(),
            moderatorId: try cells.optionalUUID(), progress: try cells.int(), reopenCount: try cells.int(), parentId: try cells.optionalUUID(),
            dueAt: try cells.optionalDate(), firstResponseAt: try cells.optionalDate(), firstResponseDue: try cells.optionalDate(),
            resolutionDue: try cells.optionalDate(), slaPausedAt: try cells.optionalDate(), slaBreached: try cells.bool(),
            resumeAt: try cells.optionalDate(), createdAt: try cells.date(), updatedAt: try cells.date(), version: try cells.int(),
            approvalRouteId: try cells.optionalUUID(), approvalStep: try cells.optionalInt(), currentApproverId: try cells.optionalUUID(),
            slaNearing: try cells.bool())
    }
}
