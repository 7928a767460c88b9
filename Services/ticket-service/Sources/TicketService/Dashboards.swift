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

        /// The first and last UTC day the range touches (`to` itself is excluded), as the summary
        /// counts days.
        var days: (first: String, last: String) {
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            func day(_ date: Date) -> String {
                let parts = calendar.dateComponents([.year, .month, .day], from: date)
                return String(format: "%04d-%02d-%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0)
            }
            return (day(self.from), day(max(self.from, self.to.addingTimeInterval(-0.001))))
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
        /// When the summary these figures come from was rebuilt (department dashboard only).
        var summaryRefreshedAt: Date?
    }

    struct AssigneeLoad: Encodable, Sendable {
        var assigneeId: UUID
        var open: Int
    }

    /// The figures of every department (or one) from the dashboard summary (migration 0008,
    /// rebuilt by `DashboardSummaryJob`): counts summed over the UTC creation days the range touches,
    /// medians interpolated from the duration histograms.
    private func departmentFigures(_ department: UUID?, _ range: Range) async throws -> [DepartmentFigures] {
        let (first, last) = range.days
        let rows = try await self.client.query("""
            SELECT department_id, sum(open)::int, sum(pending)::int, sum(in_progress)::int, sum(resolved)::int,
                sum(backlog_under_1_day)::int, sum(backlog_1_to_3_days)::int, sum(backlog_3_to_7_days)::int, sum(backlog_over_7_days)::int,
                (100.0 * sum(sla_met) / NULLIF(sum(sla_measured), 0))::float8, sum(breaches)::int
            FROM tickets.dashboard_days
            WHERE day BETWEEN \(first)::date AND \(last)::date AND (\(department)::uuid IS NULL OR department_id = \(department))
            GROUP BY department_id ORDER BY department_id
            """, logger: self.logger)
        var figures: [DepartmentFigures] = []
        for try await row in rows.decode((UUID?, Int, Int, Int, Int, Int, Int, Int, Int, Double?, Int).self) {
            figures.append(DepartmentFigures(
                departmentId: row.0, open: row.1, pending: row.2, inProgress: row.3, resolved: row.4,
                backlogAge: ["under_1_day": row.5, "1_to_3_days": row.6, "3_to_7_days": row.7, "over_7_days": row.8],
                slaCompliancePercent: row.9.map(Self.round), breaches: row.10, firstResponseMedianMinutes: nil,
                resolutionMedianHours: nil, workload: nil))
        }
        var histograms: [UUID?: [Int16: DurationHistogram]] = [:]
        // Whole months [m0, m1) from the month histograms, the other days from the day ones.
        let buckets = try await self.client.query("""
            WITH r AS (
                SELECT d.first, d.last,
                    CASE WHEN extract(day FROM d.first) = 1 THEN d.first ELSE (date_trunc('month', d.first) + interval '1 month')::date END AS m0,
                    date_trunc('month', d.last + 1)::date AS m1
                FROM (SELECT \(first)::date AS first, \(last)::date AS last) AS d
            )
            SELECT department_id, kind, sum(n)::int, min(shortest), max(longest) FROM (
                SELECT h.department_id, h.kind, h.bucket, h.n, h.shortest, h.longest
                FROM tickets.dashboard_duration_months AS h, r WHERE h.month >= r.m0 AND h.month < r.m1
                UNION ALL
                SELECT h.department_id, h.kind, h.bucket, h.n, h.shortest, h.longest
                FROM tickets.dashboard_durations AS h, r
                WHERE h.day BETWEEN r.first AND r.last AND NOT (h.day >= r.m0 AND h.day < r.m1)
            ) AS h
            WHERE \(department)::uuid IS NULL OR department_id = \(department)
            GROUP BY department_id, kind, bucket ORDER BY department_id, kind, bucket
            """, logger: self.logger)
        for try await (id, kind, count, shortest, longest) in buckets.decode((UUID?, Int16, Int, Double, Double).self) {
            histograms[id, default: [:]][kind, default: DurationHistogram()].buckets.append(.init(count: count, shortest: shortest, longest: longest))
        }
        for index in figures.indices {
            let histogram = histograms[figures[index].departmentId] ?? [:]
            figures[index].firstResponseMedianMinutes = histogram[1]?.median().map { Self.round($0 / 60) }
            figures[index].resolutionMedianHours = histogram[2]?.median().map { Self.round($0 / 3600) }
        }
        return figures
    }

    /// When the dashboard summary was last rebuilt (nil before its first rebuild).
    private func summaryRefreshedAt() async throws -> Date? {
        for try await at in try await self.client.query("SELECT refreshed_at FROM tickets.dashboard_refresh", logger: self.logger).decode(Date.self) {
            return at
        }
        return nil
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
        figures.summaryRefreshedAt = try await self.summaryRefreshedAt()
        figures.workload = []
        for try await (assignee, open) in load.decode((UUID, Int).self) { figures.workload?.append(AssigneeLoad(assigneeId: assignee, open: open)) }
        return try JSONEncoder.hdmsResponse(figures, status: .ok)
    }

    struct Organisation: Encodable, ResponseEncodable {
        var departments: [DepartmentFigures]
        var weeklyVolume: [Week]
        var approvalsPendingByStep: [String: Int]
        var summaryRefreshedAt: Date?
        struct Week: Encodable, Sendable { var weekStart: Date; var created: Int; var resolved: Int }
    }

    @Sendable func organisation(_ request: Request, context: AppRequestContext) async throws -> Organisation {
        let identity = try context.requireIdentity()
        guard identity.isCEO || identity.has(.admin) || identity.isService else { throw Problem.forbidden("This dashboard is for the CEO and admins") }
        let range = try Range(request)
        let departments = try await self.departmentFigures(nil, range)
        let (first, last) = range.days
        let weeks = try await self.client.query("""
            SELECT date_trunc('week', day::timestamp) AT TIME ZONE 'UTC', sum(created)::int, sum(with_resolution)::int
            FROM tickets.dashboard_days WHERE day BETWEEN \(first)::date AND \(last)::date
            GROUP BY 1 ORDER BY 1
            """, logger: self.logger)
        var weekly: [Organisation.Week] = []
        for try await (start, created, resolved) in weeks.decode((Date, Int, Int).self) { weekly.append(.init(weekStart: start, created: created, resolved: resolved)) }
        let pending = try await self.counts("""
            SELECT split_part(position, ':', 1), count(*)::int FROM tickets.approvals WHERE decision = 'pending' GROUP BY 1
            """)
        return Organisation(departments: departments, weeklyVolume: weekly, approvalsPendingByStep: pending,
                            summaryRefreshedAt: try await self.summaryRefreshedAt())
    }

    // MARK: System

    struct System: Encodable, ResponseEncodable {
        var tickets: Int
        var openTickets: Int
        /// ticket-service's own unpublished outbox rows.
        var outboxUnpublished: Int
        /// Every service's unpublished outbox rows (0 for a service whose schema does not exist yet).
        var outboxUnpublishedByService: [String: Int]
        /// Seconds the oldest unpublished outbox row of any service has waited (0 when none waits).
        var outboxOldestUnpublishedSeconds: Double
        var eventStreamLength: Int
        var consumerGroups: [ConsumerGroup]
        var oldestDueJobSeconds: Double

        /// A consumer group of the event stream: entries delivered but not acknowledged (`pending`)
        /// and entries not yet delivered (`lag`, null when Redis cannot tell).
        struct ConsumerGroup: Encodable, Sendable {
            var name: String
            var consumers: Int
            var pending: Int
            var lag: Int?
        }
    }

    /// The services with an outbox in the shared database, each in its own schema.
    static let outboxServices = ServiceName.allCases.filter { $0 != .frontend }

    @Sendable func system(_ request: Request, context: AppRequestContext) async throws -> System {
        let identity = try context.requireIdentity()
        guard identity.has(.admin) || identity.has(.moderator) else { throw Problem.forbidden("The system dashboard is for admins and moderators") }
        let rows = try await self.client.query("""
            SELECT (SELECT tickets FROM tickets.ticket_totals)::int,
                   (SELECT count(*) FROM tickets.tickets WHERE status = ANY(\(Self.openStatuses)))::int,
                   COALESCE((SELECT extract(epoch FROM now() - min(resume_at)) FROM tickets.tickets WHERE status = 'postponed' AND resume_at < now()), 0)::float8
            """, logger: self.logger)
        var system = System(tickets: 0, openTickets: 0, outboxUnpublished: 0, outboxUnpublishedByService: [:], outboxOldestUnpublishedSeconds: 0,
                            eventStreamLength: 0, consumerGroups: [], oldestDueJobSeconds: 0)
        for try await (total, open, lag) in rows.decode((Int, Int, Double).self) {
            system.tickets = total
            system.openTickets = open
            system.oldestDueJobSeconds = Self.round(lag)
        }
        let (unpublished, oldest) = try await self.outboxQueues()
        system.outboxUnpublishedByService = unpublished
        system.outboxUnpublished = unpublished[ServiceName.tickets.rawValue] ?? 0
        system.outboxOldestUnpublishedSeconds = Self.round(oldest)
        system.eventStreamLength = (try? await self.redis.streamLength(self.stream)) ?? 0
        let groups = (try? await self.redis.streamGroups(self.stream)) ?? []
        system.consumerGroups = groups.map { System.ConsumerGroup(name: $0.name, consumers: $0.consumers, pending: $0.pending, lag: $0.lag) }
        return system
    }

    /// Unpublished outbox rows of every service (by service name) and the age in seconds of the
    /// oldest of them. A schema another service has not migrated yet counts 0.
    private func outboxQueues() async throws -> ([String: Int], Double) {
        let schemas = Self.outboxServices.map(\.schema)
        var present: Set<String> = []
        let existing = try await self.client.query("""
            SELECT s FROM unnest(\(schemas)::text[]) AS s WHERE to_regclass(quote_ident(s) || '.outbox') IS NOT NULL
            """, logger: self.logger)
        for try await schema in existing.decode(String.self) { present.insert(schema) }
        var counts = Dictionary(uniqueKeysWithValues: Self.outboxServices.map { ($0.rawValue, 0) })
        // Schema names are the services' own constants, never request input.
        let parts = Self.outboxServices.filter { present.contains($0.schema) }.map { service in
            "SELECT '\(service.rawValue)'::text, count(*)::int, min(created_at) FROM \(service.schema).outbox WHERE published_at IS NULL"
        }
        guard !parts.isEmpty else { return (counts, 0) }
        let sql = "SELECT service, n, COALESCE(extract(epoch FROM now() - min(oldest) OVER ()), 0)::float8 FROM ("
            + parts.joined(separator: " UNION ALL ") + ") AS q (service, n, oldest)"
        var oldest = 0.0
        for try await (service, count, age) in try await self.client.query(PostgresQuery(unsafeSQL: sql), logger: self.logger)
            .decode((String, Int, Double).self) {
            counts[service] = count
            oldest = age
        }
        return (counts, oldest)
    }

    static func round(_ value: Double) -> Double { (value * 100).rounded() / 100 }
}
