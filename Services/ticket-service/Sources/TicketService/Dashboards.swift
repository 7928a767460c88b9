import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import Redis
import ServiceKit

/// `GET /api/v1/dashboards/{me|workload|department|organisation|system}`: figures computed by SQL
/// aggregates (never by loading tickets), each for the roles that may see it. `from`/`to` bound
/// the creation time of the tickets counted (default: the last 30 days).
struct DashboardsController: Sendable {
    let client: PostgresClient
    let redis: RedisClient
    let stream: String
    let logger: Logger

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/dashboards")
        group.get("me", use: self.me)
        group.get("workload", use: self.workload)
        group.get("department", use: self.department)
        group.get("organisation", use: self.organisation)
        group.get("system", use: self.system)
    }

    static let openStatuses = ["submitted", "under_review", "pending_approval", "assigned", "in_progress", "pending", "postponed"]

    struct Range: Sendable {
        var from: Date
        var to: Date

        init(_ request: Request) throws(Problem) {
            var reader = QueryReader(request.uri.queryParameters)
            self.to = reader.date("to") ?? Date()
            self.from = reader.date("from") ?? self.to.addingTimeInterval(-30 * 86_400)
            if self.from >= self.to { reader.check.fail("from", "must be before to") }
            try reader.finish()
        }
    }

    /// Counts of `status → n` for a query returning (status, count).
    private func counts(_ query: PostgresQuery) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for try await (key, count) in try await self.client.query(query, logger: self.logger).decode((String, Int).self) { counts[key] = count }
        return counts
    }

    private func number(_ query: PostgresQuery) async throws -> Double? {
        for try await value in try await self.client.query(query, logger: self.logger).decode(Double?.self) { return value }
        return nil
    }

    // MARK: Requestor

    struct Me: Encodable, ResponseEncodable {
        var byStatus: [String: Int]
        var averageResolutionHours: Double?
        var medianResolutionHours: Double?
        var approvalsWaitingForMe: Int
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> Me {
        let (me, _) = try context.requireUser()
        let range = try Range(request)
        let byStatus = try await self.counts("""
            SELECT status, count(*)::int FROM tickets.tickets
            WHERE requestor_id = \(me) AND created_at >= \(range.from) AND created_at < \(range.to) GROUP BY status
            """)
        let rows = try await self.client.query("""
            SELECT (avg(extract(epoch FROM resolved_at - submitted_at)) / 3600)::float8,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at)) / 3600
            FROM tickets.tickets
            WHERE requestor_id = \(me) AND resolved_at IS NOT NULL AND submitted_at IS NOT NULL
              AND created_at >= \(range.from) AND created_at < \(range.to)
            """, logger: self.logger)
        var average: Double?, median: Double?
        for try await (avg, med) in rows.decode((Double?, Double?).self) { (average, median) = (avg, med) }
        let waiting = try await self.number("SELECT count(*)::float8 FROM tickets.tickets WHERE current_approver_id = \(me)") ?? 0
        return Me(byStatus: byStatus, averageResolutionHours: average.map(Self.round), medianResolutionHours: median.map(Self.round),
                  approvalsWaitingForMe: Int(waiting))
    }

    // MARK: Assignee

    struct Workload: Encodable, ResponseEncodable {
        var openByPriority: [String: Int]
        var overdue: Int
        var nearingSLA: Int
        var awaitingAcknowledgement: Int
        var acknowledgedNotStarted: Int
    }

    @Sendable func workload(_ request: Request, context: AppRequestContext) async throws -> Workload {
        let (me, identity) = try context.requireUser()
        guard identity.has(.assignee) else { throw Problem.forbidden("The workload dashboard is for assignees") }
        let open = Self.openStatuses
        let byPriority = try await self.counts("""
            SELECT priority, count(*)::int FROM tickets.tickets WHERE assignee_id = \(me) AND status = ANY(\(open)) GROUP BY priority
            """)
        let rows = try await self.client.query("""
            SELECT count(*) FILTER (WHERE COALESCE(due_at, resolution_due) < now())::int,
                   count(*) FILTER (WHERE sla_nearing AND NOT sla_breached)::int,
                   count(*) FILTER (WHERE status = 'assigned')::int,
                   count(*) FILTER (WHERE status = 'in_progress' AND progress = 0)::int
            FROM tickets.tickets WHERE assignee_id = \(me) AND status = ANY(\(open))
            """, logger: self.logger)
        var workload = Workload(openByPriority: byPriority, overdue: 0, nearingSLA: 0, awaitingAcknowledgement: 0, acknowledgedNotStarted: 0)
        for try await (overdue, nearing, assigned, notStarted) in rows.decode((Int, Int, Int, Int).self) {
            workload.overdue = overdue
            workload.nearingSLA = nearing
            workload.awaitingAcknowledgement = assigned
            workload.acknowledgedNotStarted = notStarted
        }
        return workload
    }

    // MARK: Department and organisation

    struct DepartmentFigures: Encodable, Sendable {
        var departmentId: UUID?
        var open: Int
        var pending: Int
        var inProgress: Int
        var resolved: Int
        var backlogAge: [String: Int]
        var slaCompliancePercent: Double?
        var breaches: Int
        var firstResponseMedianMinutes: Double?
        var resolutionMedianHours: Double?
        var workload: [AssigneeLoad]?
    }

    struct AssigneeLoad: Encodable, Sendable {
        var assigneeId: UUID
        var open: Int
    }

    /// The figures of every department (or one), grouped in SQL.
    private func departmentFigures(_ department: UUID?, _ range: Range) async throws -> [DepartmentFigures] {
        let rows = try await self.client.query("""
            SELECT department_id,
                count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress', 'pending', 'postponed'))::int,
                count(*) FILTER (WHERE status IN ('pending', 'postponed', 'pending_approval'))::int,
                count(*) FILTER (WHERE status = 'in_progress')::int,
                count(*) FILTER (WHERE status IN ('resolved', 'closed') AND resolved_at IS NOT NULL)::int,
                count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                                 AND now() - COALESCE(submitted_at, created_at) < interval '1 day')::int,
                count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                                 AND now() - COALESCE(submitted_at, created_at) BETWEEN interval '1 day' AND interval '3 days')::int,
                count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                                 AND now() - COALESCE(submitted_at, created_at) > interval '3 days'
                                 AND now() - COALESCE(submitted_at, created_at) <= interval '7 days')::int,
                count(*) FILTER (WHERE status IN ('submitted', 'under_review', 'assigned', 'in_progress', 'pending', 'postponed', 'pending_approval')
                                 AND now() - COALESCE(submitted_at, created_at) > interval '7 days')::int,
                (100.0 * count(*) FILTER (WHERE resolved_at IS NOT NULL AND NOT sla_breached AND resolution_due IS NOT NULL)
                    / NULLIF(count(*) FILTER (WHERE resolved_at IS NOT NULL AND resolution_due IS NOT NULL), 0))::float8,
                count(*) FILTER (WHERE sla_breached)::int,
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM first_response_at - submitted_at)) / 60)::float8,
                (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at)) / 3600)::float8
            FROM tickets.tickets
            WHERE status <> 'draft' AND created_at >= \(range.from) AND created_at < \(range.to)
              AND (\(department)::uuid IS NULL OR department_id = \(department))
            GROUP BY department_id ORDER BY department_id
            """, logger: self.logger)
        var figures: [DepartmentFigures] = []
        for try await row in rows.decode((UUID?, Int, Int, Int, Int, Int, Int, Int, Int, Double?, Int, Double?, Double?).self) {
            figures.append(DepartmentFigures(
                departmentId: row.0, open: row.1, pending: row.2, inProgress: row.3, resolved: row.4,
                backlogAge: ["under_1_day": row.5, "1_to_3_days": row.6, "3_to_7_days": row.7, "over_7_days": row.8],
                slaCompliancePercent: row.9.map(Self.round), breaches: row.10, firstResponseMedianMinutes: row.11.map(Self.round),
                resolutionMedianHours: row.12.map(Self.round), workload: nil))
        }
        return figures
    }

    @Sendable func department(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        guard let raw = request.uri.queryParameters.get("department_id"), let department = UUID(uuidString: raw) else {
            throw Problem.validation([.init(field: "department_id", message: "is required (a UUID)")])
        }
        let allowed = identity.has(.admin) || identity.isService || (identity.has(.moderator) && identity.moderates.contains(department))
            || identity.heads == department
        guard allowed else { throw Problem.forbidden("This dashboard is for the department's moderators and head") }
        let range = try Range(request)
        var figures = try await self.departmentFigures(department, range).first
            ?? DepartmentFigures(departmentId: department, open: 0, pending: 0, inProgress: 0, resolved: 0, backlogAge: [:],
                                 slaCompliancePercent: nil, breaches: 0, firstResponseMedianMinutes: nil, resolutionMedianHours: nil)
        let load = try await self.client.query("""
            SELECT assignee_id, count(*)::int FROM tickets.tickets
            WHERE department_id = \(department) AND assignee_id IS NOT NULL AND status = ANY(\(Self.openStatuses))
            GROUP BY assignee_id ORDER BY count(*) DESC, assignee_id
            """, logger: self.logger)
        figures.workload = []
        for try await (assignee, open) in load.decode((UUID, Int).self) { figures.workload?.append(AssigneeLoad(assigneeId: assignee, open: open)) }
        return try JSONEncoder.hdmsResponse(figures, status: .ok)
    }

    struct Organisation: Encodable, ResponseEncodable {
        var departments: [DepartmentFigures]
        var weeklyVolume: [Week]
        var approvalsPendingByStep: [String: Int]
        struct Week: Encodable, Sendable { var weekStart: Date; var created: Int; var resolved: Int }
    }

    @Sendable func organisation(_ request: Request, context: AppRequestContext) async throws -> Organisation {
        let identity = try context.requireIdentity()
        guard identity.isCEO || identity.has(.admin) || identity.isService else { throw Problem.forbidden("This dashboard is for the CEO and admins") }
        let range = try Range(request)
        let departments = try await self.departmentFigures(nil, range)
        let weeks = try await self.client.query("""
            SELECT date_trunc('week', created_at), count(*)::int, count(*) FILTER (WHERE resolved_at IS NOT NULL)::int
            FROM tickets.tickets WHERE status <> 'draft' AND created_at >= \(range.from) AND created_at < \(range.to)
            GROUP BY 1 ORDER BY 1
            """, logger: self.logger)
        var weekly: [Organisation.Week] = []
        for try await (start, created, resolved) in weeks.decode((Date, Int, Int).self) { weekly.append(.init(weekStart: start, created: created, resolved: resolved)) }
        let pending = try await self.counts("""
            SELECT split_part(position, ':', 1), count(*)::int FROM tickets.approvals WHERE decision = 'pending' GROUP BY 1
            """)
        return Organisation(departments: departments, weeklyVolume: weekly, approvalsPendingByStep: pending)
    }

    // MARK: System

    struct System: Encodable, ResponseEncodable {
        var tickets: Int
        var openTickets: Int
        var outboxUnpublished: Int
        var eventStreamLength: Int
        var oldestDueJobSeconds: Double
    }

    @Sendable func system(_ request: Request, context: AppRequestContext) async throws -> System {
        let identity = try context.requireIdentity()
        guard identity.has(.admin) || identity.has(.moderator) else { throw Problem.forbidden("The system dashboard is for admins and moderators") }
        let rows = try await self.client.query("""
            SELECT (SELECT count(*) FROM tickets.tickets)::int,
                   (SELECT count(*) FROM tickets.tickets WHERE status = ANY(\(Self.openStatuses)))::int,
                   (SELECT count(*) FROM tickets.outbox WHERE published_at IS NULL)::int,
                   COALESCE((SELECT extract(epoch FROM now() - min(resume_at)) FROM tickets.tickets WHERE status = 'postponed' AND resume_at < now()), 0)::float8
            """, logger: self.logger)
        var system = System(tickets: 0, openTickets: 0, outboxUnpublished: 0, eventStreamLength: 0, oldestDueJobSeconds: 0)
        for try await (total, open, outbox, lag) in rows.decode((Int, Int, Int, Double).self) {
            system.tickets = total
            system.openTickets = open
            system.outboxUnpublished = outbox
            system.oldestDueJobSeconds = Self.round(lag)
        }
        system.eventStreamLength = (try? await self.redis.streamLength(self.stream)) ?? 0
        return system
    }

    static func round(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}
