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
    let reads: PreparedReads
    let logger: Logger

    var client: PostgresClient { self.reads.client }

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

        /// Whether the request filters on more than department, statuses and priority.
        var hasOtherFilters: Bool {
            self.assigneeId != nil || self.requestorId != nil || self.approverId != nil || self.categoryId != nil
                || self.createdFrom != nil || self.createdTo != nil || self.overdue != nil || self.breached != nil || self.text != nil
        }

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
    ///
    /// Relevance (`q`) ranks in two tiers: tickets whose title holds the query first, then the
    /// other matches, each by `ts_rank` (title weighted over description and chat). The first tier
    /// comes from its own index on the titles, so a page of it ranks only the title matches, not
    /// every ticket that mentions the words; the second is read only once the first runs out.
    func list(_ query: Query, for identity: Identity) async throws -> ([Ticket], String?) {
        var rows: [(ticket: Ticket, row: PostgresRow)]
        if query.sort == .relevance && query.text != nil {
            // A relevance key is "<tier>:<rank>", tier 1 for title matches.
            let after = query.cursor.map { cursor -> (tier: Int, key: String, id: UUID) in
                let parts = cursor.key.split(separator: ":", maxSplits: 1)
                return parts.count == 2 && parts[0] == "1" ? (1, String(parts[1]), cursor.id) : (0, String(parts.last ?? ""), cursor.id)
            }
            rows = []
            if (after?.tier ?? 1) == 1 {
                let keyset = after.map { (key: $0.key, id: $0.id) }
                rows = try await self.fetch(self.statement(query, for: identity, tier: .title, after: keyset, limit: query.limit + 1))
            }
            if rows.count <= query.limit {
                let keyset = after.flatMap { $0.tier == 0 ? (key: $0.key, id: $0.id) : nil }
                rows += try await self.fetch(
                    self.statement(query, for: identity, tier: .rest, after: keyset, limit: query.limit + 1 - rows.count))
            }
        } else {
            let keyset = query.cursor.map { (key: $0.key, id: $0.id) }
            let stable = self.planStableStatement(query, for: identity, after: keyset, limit: query.limit + 1)
            rows = try await self.fetch(
                stable ?? self.statement(query, for: identity, tier: nil, after: keyset, limit: query.limit + 1), prepared: stable != nil)
        }
        // The extra row (limit + 1) only tells whether a next page exists.
        var next: String?
        if rows.count > query.limit {
            rows.removeLast(rows.count - query.limit)
            if let last = rows.last {
                let key = try last.row.makeRandomAccess()["sort_key"].decode(String.self, context: .default)
                next = Cursor(key: key, id: last.ticket.id, sort: query.sort.rawValue).encoded
            }
        }
        return (rows.map(\.ticket), next)
    }

    /// The tickets a list statement returns, each with its row: only the last row's `sort_key` is
    /// ever read (for the next cursor).
    private func fetch(_ statement: PostgresQuery, prepared: Bool = false) async throws -> [(ticket: Ticket, row: PostgresRow)] {
        var rows: [(ticket: Ticket, row: PostgresRow)] = []
        try await self.reads.forEachRow(statement, prepare: prepared, logger: self.logger) { row in
            rows.append((try Ticket(row: row), row))
        }
        return rows
    }

    /// Every ticket of a list request that `identity` may see, streamed (reports).
    func all(_ query: Query, for identity: Identity) async throws -> PostgresRowSequence {
        try await self.client.query(self.statement(query, for: identity, tier: .both, after: nil, limit: nil), logger: self.logger)
    }

    /// The statement of a list whose rows one index gives in order whatever its values are, or nil.
    /// Such a statement is prepared (`PreparedReads`): after five runs PostgreSQL may plan it once
    /// for all values, and for these shapes that plan is each value's best one. They are the
    /// newest-first queues people keep open:
    /// - a department's tickets in some statuses, for a caller who sees the whole department: one
    ///   branch per status on `tickets_department`, merged (its moderators, assignees, admins);
    /// - tickets of one priority (`tickets_priority`), or all tickets (`tickets_created`).
    /// Other lists (more filters, other sorts, narrower visibility) are planned for their values.
    /// The limit stays a literal (as a parameter, PostgreSQL would cost the kept plan for a tenth of
    /// the matches and never keep it), so only the usual page sizes are prepared, which bounds the
    /// statements each connection keeps.
    private func planStableStatement(
        _ query: Query, for identity: Identity, after: (key: String, id: UUID)?, limit: Int
    ) -> PostgresQuery? {
        guard query.sort == .created, query.text == nil, !query.hasOtherFilters, Self.preparedPageSizes.contains(query.limit) else {
            return nil
        }
        if let department = query.departmentId, let statuses = query.statuses, !statuses.isEmpty, query.priority == nil {
            guard Self.seesWhole(department, identity), !statuses.contains(TicketStatus.draft.rawValue) else { return nil }
            return Self.queueStatement(department: department, statuses: statuses, after: after, limit: limit)
        }
        guard query.departmentId == nil, query.statuses == nil, identity.isService || identity.has(.admin) else { return nil }
        return self.statement(query, for: identity, tier: nil, after: after, limit: limit)
    }

    /// The page sizes whose plan-stable lists are prepared (`limit`; the default is 25).
    static let preparedPageSizes: Set<Int> = [10, 20, 25, 50, 100]

    /// A department's tickets in `statuses`, newest first: each status's newest `limit` from
    /// `tickets_department` (department, status, created_at DESC, id DESC), merged. A single
    /// `status = ANY(...)` scan would instead read the department's tickets of every status in
    /// creation order, or sort all the matches.
    private static func queueStatement(
        department: UUID, statuses: [String], after: (key: String, id: UUID)?, limit: Int
    ) -> PostgresQuery {
        var bind = Placeholders()
        let departmentParameter = bind(department)
        let keyset = after.map { "\n      AND " + Self.keyset(after: $0, in: .created, expression: Sort.created.expression, &bind) } ?? ""
        var seen = Set<String>()
        let branches = statuses.filter { seen.insert($0).inserted }.map { status in
            """
              (SELECT \(TicketRepository.columns), \(Self.sortKey(Sort.created.expression)) AS sort_key
                FROM tickets.tickets t
                WHERE t.department_id = \(departmentParameter) AND t.status = \(bind(status))\(keyset)
                ORDER BY t.created_at DESC, t.id DESC
                LIMIT \(limit))
            """
        }
        let sql = """
            SELECT * FROM (
            \(branches.joined(separator: "\n  UNION ALL\n"))
            ) t
            ORDER BY t.created_at DESC, t.id DESC
            LIMIT \(limit)
            """
        return PostgresQuery(unsafeSQL: sql, binds: bind.binds)
    }

    /// Which relevance tier a statement reads: title matches, the other matches, or both in order.
    enum Tier {
        case title, rest, both
    }

    /// The list statement: the caller's visibility rule, only the filters the request sets, keyset
    /// after `after` (a sort key and id), the sort. Every value is a bind parameter. Leaving unset
    /// filters out (rather than one `$n IS NULL OR ...` for each) keeps PostgreSQL's planning of a
    /// page short. `tier` applies to relevance only.
    private func statement(
        _ query: Query, for identity: Identity, tier: Tier?, after: (key: String, id: UUID)?, limit: Int?
    ) -> PostgresQuery {
        var bind = Placeholders()
        var conditions: [String] = []
        var expression = query.sort.expression
        var sortKey = Self.sortKey(expression)
        var tierOrder = ""
        if let text = query.text {
            let parameter = bind(text)
            let tsquery = "websearch_to_tsquery('english', \(parameter))"
            expression = expression.replacingOccurrences(of: "$q$", with: parameter)
            sortKey = Self.sortKey(expression)
            // The query with every lexeme restricted to weight A (the title's): a matching ticket
            // matches it exactly when its title holds the query.
            let inTitle = #"t.search @@ regexp_replace(\#(tsquery)::text, '''(?:[^'']|'''')*''', '\&:A', 'g')::tsquery"#
            switch query.sort == .relevance ? tier : nil {
            case .title?:
                // Found through the titles' own index. A title that holds the query makes the whole
                // text hold it too, unless the query excludes a word (`-word`): then the whole text
                // is checked as well, on those rows only.
                conditions.append("to_tsvector('english', t.title) @@ \(tsquery)")
                if text.contains("-") { conditions.append("(t.search @@ \(tsquery)) IS TRUE") }
                sortKey = "'1:' || \(sortKey)"
            case .rest?:
                conditions.append("t.search @@ \(tsquery)")
                conditions.append("NOT (\(inTitle))")
                sortKey = "'0:' || \(sortKey)"
            case .both?:
                conditions.append("t.search @@ \(tsquery)")
                tierOrder = "(\(inTitle)) DESC, "
                sortKey = "CASE WHEN \(inTitle) THEN '1:' ELSE '0:' END || \(sortKey)"
            case nil:
                conditions.append("t.search @@ \(tsquery)")
            }
        }
        if let visibility = Self.visibility(identity, department: query.departmentId, statuses: query.statuses, { bind($0) }, { bind($0) }) {
            conditions.append(visibility)
        }
        if let statuses = query.statuses { conditions.append("t.status = ANY(\(bind(statuses))::text[])") }
        if let department = query.departmentId { conditions.append("t.department_id = \(bind(department))") }
        if let priority = query.priority { conditions.append("t.priority = \(bind(priority))") }
        if let assignee = query.assigneeId { conditions.append("t.assignee_id = \(bind(assignee))") }
        if let requestor = query.requestorId { conditions.append("t.requestor_id = \(bind(requestor))") }
        if let approver = query.approverId { conditions.append("t.current_approver_id = \(bind(approver))") }
        if let category = query.categoryId { conditions.append("t.category_id = \(bind(category))") }
        if let from = query.createdFrom { conditions.append("t.created_at >= \(bind(from))") }
        if let to = query.createdTo { conditions.append("t.created_at < \(bind(to))") }
        if let breached = query.breached { conditions.append("t.sla_breached = \(bind(breached))") }
        if let overdue = query.overdue {
            let isOverdue = "COALESCE(t.due_at, t.resolution_due) < now() AND t.status NOT IN ('draft', 'resolved', 'closed', 'rejected', 'withdrawn')"
            conditions.append("(\(isOverdue)) IS \(overdue ? "TRUE" : "NOT TRUE")")
        }
        let descending = query.sort.descending
        if let after { conditions.append(Self.keyset(after: after, in: query.sort, expression: expression, &bind)) }
        let direction = descending ? "DESC" : "ASC"
        var sql = """
            SELECT \(TicketRepository.columns), \(sortKey) AS sort_key
            FROM tickets.tickets t
            WHERE \(conditions.joined(separator: "\n  AND "))
            ORDER BY \(tierOrder)\(expression) \(direction), t.id \(direction)
            """
        if let limit { sql += "\nLIMIT \(limit)" }
        return PostgresQuery(unsafeSQL: sql, binds: bind.binds)
    }

    /// A row's sort key as the cursor carries it: the sort expression as text.
    private static func sortKey(_ expression: String) -> String { "(\(expression))::text" }

    /// The rows after `after` (a cursor's sort key and id) in `sort`'s order, whose key is `expression`.
    private static func keyset(after: (key: String, id: UUID), in sort: Sort, expression: String, _ bind: inout Placeholders) -> String {
        "((\(expression)), t.id) \(sort.descending ? "<" : ">") (\(bind(after.key))::\(sort.keyType), \(bind(after.id)))"
    }

    /// A statement's bind parameters, each written into the SQL as its `$n` placeholder.
    private struct Placeholders {
        var binds = PostgresBindings()

        mutating func callAsFunction<Value: PostgresDynamicTypeEncodable>(_ value: Value) -> String {
            self.binds.append(value, context: .default)
            return "$\(self.binds.count)"
        }
    }

    /// Which tickets `identity` sees, as a condition on `t` (see the type's comment), or nil when
    /// the request's own filters already keep to them; `bind` makes a value a parameter. A list of
    /// one `department` that the caller sees whole (they moderate it, or work in it as an assignee)
    /// needs only the rule for drafts, and not even that when `statuses` leaves drafts out: the
    /// other alternatives could not add a ticket, and PostgreSQL no longer plans them.
    private static func visibility(
        _ identity: Identity, department: UUID?, statuses: [String]?, _ bind: (UUID) -> String, _ bindList: ([UUID]) -> String
    ) -> String? {
        if identity.isService || identity.has(.admin) || department.map({ Self.seesWhole($0, identity) }) == true {
            if let statuses, !statuses.contains(TicketStatus.draft.rawValue) { return nil }
            // A CASE rather than `requestor_id = me OR status <> 'draft'`: the same rule, but an OR
            // has PostgreSQL cost a bitmap scan of the requestor indexes for every page.
            return identity.userID.map(bind).map { "CASE WHEN t.status = 'draft' THEN t.requestor_id = \($0) ELSE true END" }
                ?? "t.status <> 'draft'"
        }
        let me = identity.userID.map(bind)
        var others: [String] = []
        if identity.has(.moderator), !identity.moderates.isEmpty {
            others.append("t.department_id = ANY(\(bindList(Array(identity.moderates)))::uuid[])")
        }
        if identity.has(.assignee) {
            if let me { others.append("t.assignee_id = \(me)") }
            if let department = identity.department { others.append("t.department_id = \(bind(department))") }
        }
        if let me {
            others.append("t.current_approver_id = \(me)")
            others.append("EXISTS (SELECT 1 FROM tickets.watchers w WHERE w.ticket_id = t.id AND w.employee_id = \(me))")
            others.append("EXISTS (SELECT 1 FROM tickets.approvals a WHERE a.ticket_id = t.id AND a.approver_id = \(me))")
        }
        let seen = others.isEmpty ? "false" : "t.status <> 'draft' AND (\(others.joined(separator: " OR ")))"
        return me.map { "(t.requestor_id = \($0) OR (\(seen)))" } ?? "(\(seen))"
    }

    /// Whether `identity` sees every ticket of `department` but other requestors' drafts: they
    /// moderate it, work in it as an assignee, or see everything.
    private static func seesWhole(_ department: UUID, _ identity: Identity) -> Bool {
        identity.isService || identity.has(.admin)
            || (identity.has(.moderator) && identity.moderates.contains(department))
            || (identity.has(.assignee) && identity.department == department)
    }
}
