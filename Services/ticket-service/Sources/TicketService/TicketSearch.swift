import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit

/// Who sees which tickets, and the filtered, sorted, keyset-paged ticket list.
///
/// A requestor sees the tickets they raised and those they watch; an assignee those assigned to
/// them or to their department; a moderator those of the departments they moderate; an admin and
/// a service every ticket; an approver those they decide or decided. Drafts are their requestor's alone.
struct TicketSearch: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Whether `identity` may see `ticket`.
    func canSee(_ ticket: Ticket, _ identity: Identity, on connection: PostgresConnection?) async throws -> Bool {
        if identity.isService { return true }
        guard let me = identity.userID else { return false }
        if ticket.requestorId == me { return true }
        if ticket.status == .draft { return false }
        if identity.has(.admin) { return true }
        if identity.has(.moderator), let department = ticket.departmentId, identity.moderates.contains(department) { return true }
        if identity.has(.assignee), ticket.assigneeId == me || (ticket.departmentId != nil && ticket.departmentId == identity.department) {
            return true
        }
        if ticket.currentApproverId == me { return true }
        let query: PostgresQuery = """
            SELECT 1 FROM tickets.watchers WHERE ticket_id = \(ticket.id) AND employee_id = \(me)
            UNION ALL SELECT 1 FROM tickets.approvals WHERE ticket_id = \(ticket.id) AND approver_id = \(me)
            """
        let rows = if let connection { try await connection.query(query, logger: self.logger) } else { try await self.client.query(query, logger: self.logger) }
        for try await _ in rows { return true }
        return false
    }

    /// The orders a list can take. Each is a fixed SQL expression and direction.
    enum Sort: String, Sendable, CaseIterable {
        case created, updated, priority, due, relevance

        var expression: String {
            switch self {
            case .created: "t.created_at"
            case .updated: "t.updated_at"
            case .priority: "(CASE t.priority WHEN 'urgent' THEN 3 WHEN 'high' THEN 2 WHEN 'medium' THEN 1 ELSE 0 END)"
            case .due: "COALESCE(t.due_at, t.resolution_due, 'infinity'::timestamptz)"
            case .relevance: "ts_rank(t.search, websearch_to_tsquery('english', $q$))"
            }
        }

        var keyType: String {
            switch self {
            case .created, .updated, .due: "timestamptz"
            case .priority: "integer"
            case .relevance: "real"
            }
        }

        var descending: Bool { self != .due }
    }

    /// A list request, read from the query string.
    struct Query: Sendable {
        var statuses: [String]?
        var departmentId: UUID?
        var priority: String?
        var assigneeId: UUID?
        var requestorId: UUID?
        /// Tickets waiting for this employee's approval (the current step's approver).
        var approverId: UUID?
        var categoryId: UUID?
        var createdFrom: Date?
        var createdTo: Date?
        var overdue: Bool?
        var breached: Bool?
        var text: String?
        var sort: Sort
        var cursor: Cursor?
        var limit: Int

        init(_ parameters: Parameters) throws {
            var reader = QueryReader(parameters)
            if let raw = parameters.get("status") {
                let statuses = raw.split(separator: ",").map { String($0) }
                if let bad = statuses.first(where: { TicketStatus(rawValue: $0) == nil }) { reader.check.fail("status", "\(bad) is not a status") }
                self.statuses = statuses
            }
            self.priority = reader.value("priority", as: Priority.self)?.rawValue
            self.departmentId = reader.uuid("department_id")
            self.assigneeId = reader.uuid("assignee_id")
            self.requestorId = reader.uuid("requestor_id")
            self.approverId = reader.uuid("approver_id")
            self.categoryId = reader.uuid("category_id")
            self.createdFrom = reader.date("created_from")
            self.createdTo = reader.date("created_to")
            self.overdue = reader.bool("overdue")
            self.breached = reader.bool("breached")
            var check = reader.check
            self.text = check.limit(parameters.get("q"), "q", maxLength: 200).flatMap { $0.isEmpty ? nil : $0 }
            let sortName = parameters.get("sort") ?? (self.text == nil ? "created" : "relevance")
            guard let sort = Sort(rawValue: sortName) else {
                check.fail("sort", "must be one of \(Sort.allCases.map(\.rawValue).joined(separator: ", "))")
                try check.finish()
                throw Problem.badRequest("sort")
            }
            if sort == .relevance && self.text == nil { check.fail("sort", "relevance needs q") }
            self.sort = sort
            do {
                self.limit = try PageLimit(parameters.get("limit")).value
            } catch {
                check.fail("limit", "must be an integer between 1 and \(PageLimit.maximum)")
                self.limit = PageLimit.default
            }
            if let raw = parameters.get("cursor") {
                do { self.cursor = try Cursor(decoding: raw, sort: sort.rawValue) } catch { check.fail("cursor", "is not valid for this sort") }
            }
            try check.finish()
        }
    }

    /// One page of the tickets `identity` may see, and the cursor of the next page.
    func list(_ query: Query, for identity: Identity) async throws -> ([Ticket], String?) {
        let rows = try await self.client.query(self.statement(query, for: identity, limit: query.limit + 1), logger: self.logger)
        var tickets: [Ticket] = []
        var lastKey: String?
        for try await row in rows {
            tickets.append(try Ticket(row: row))
            lastKey = try row.makeRandomAccess()[TicketRepository.columnCount].decode(String.self, context: .default)
            if tickets.count == query.limit { break }
        }
        // The extra row (limit + 1) only tells whether a next page exists.
        var next: String?
        if tickets.count == query.limit, let last = tickets.last, let lastKey {
            next = Cursor(key: lastKey, id: last.id, sort: query.sort.rawValue).encoded
        }
        return (tickets, next)
    }

    /// Every ticket of a list request that `identity` may see, streamed (reports).
    func all(_ query: Query, for identity: Identity) async throws -> PostgresRowSequence {
        try await self.client.query(self.statement(query, for: identity, limit: nil), logger: self.logger)
    }

    /// The list statement: the visibility rule, the filters, keyset after the cursor, the sort.
    private func statement(_ query: Query, for identity: Identity, limit: Int?) -> PostgresQuery {
        let me = identity.userID
        let isAll = identity.isService || identity.has(.admin)
        let isModerator = identity.has(.moderator)
        let moderates = Array(identity.moderates)
        let isAssignee = identity.has(.assignee)
        let department = identity.department
        let sort = query.sort
        let expression = sort.expression.replacingOccurrences(of: "$q$", with: "$1")
        let comparison = sort.descending ? "<" : ">"
        let direction = sort.descending ? "DESC" : "ASC"
        var sql = PostgresQuery(unsafeSQL: "")
        // $1 is the search text so that the relevance expression can name it.
        sql = """
            SELECT \(unescaped: TicketRepository.columns), (\(unescaped: expression))::text AS sort_key
            FROM tickets.tickets t
            WHERE (\(query.text)::text IS NULL OR t.search @@ websearch_to_tsquery('english', \(query.text)))
              AND (t.requestor_id = \(me) OR (t.status <> 'draft' AND (
                    \(isAll)
                    OR (\(isModerator) AND t.department_id = ANY(\(moderates)::uuid[]))
                    OR (\(isAssignee) AND (t.assignee_id = \(me) OR t.department_id = \(department)))
                    OR t.current_approver_id = \(me)
                    OR EXISTS (SELECT 1 FROM tickets.watchers w WHERE w.ticket_id = t.id AND w.employee_id = \(me))
                    OR EXISTS (SELECT 1 FROM tickets.approvals a WHERE a.ticket_id = t.id AND a.approver_id = \(me)))))
              AND (\(query.statuses)::text[] IS NULL OR t.status = ANY(\(query.statuses)::text[]))
              AND (\(query.departmentId)::uuid IS NULL OR t.department_id = \(query.departmentId))
              AND (\(query.priority)::text IS NULL OR t.priority = \(query.priority))
              AND (\(query.assigneeId)::uuid IS NULL OR t.assignee_id = \(query.assigneeId))
              AND (\(query.requestorId)::uuid IS NULL OR t.requestor_id = \(query.requestorId))
              AND (\(query.approverId)::uuid IS NULL OR t.current_approver_id = \(query.approverId))
              AND (\(query.categoryId)::uuid IS NULL OR t.category_id = \(query.categoryId))
              AND (\(query.createdFrom)::timestamptz IS NULL OR t.created_at >= \(query.createdFrom))
              AND (\(query.createdTo)::timestamptz IS NULL OR t.created_at < \(query.createdTo))
              AND (\(query.breached)::boolean IS NULL OR t.sla_breached = \(query.breached))
              AND (\(query.overdue)::boolean IS NULL OR (COALESCE(t.due_at, t.resolution_due) < now()
                   AND t.status NOT IN ('draft', 'resolved', 'closed', 'rejected', 'withdrawn')) = \(query.overdue))
              AND (\(query.cursor?.key)::text IS NULL
                   OR ((\(unescaped: expression)), t.id) \(unescaped: comparison) (\(query.cursor?.key)::\(unescaped: sort.keyType), \(query.cursor?.id)::uuid))
            ORDER BY \(unescaped: expression) \(unescaped: direction), t.id \(unescaped: direction)
            LIMIT \(limit ?? Int(Int32.max))
            """
        return sql
    }
}
