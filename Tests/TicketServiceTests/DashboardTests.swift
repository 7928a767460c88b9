import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Dashboards")
struct DashboardTests {
    struct Department: Decodable {
        var open: Int
        var pending: Int
        var inProgress: Int
        var resolved: Int
        var backlogAge: [String: Int]
        var slaCompliancePercent: Double?
        var breaches: Int
        var resolutionMedianHours: Double?
        var workload: [Load]
        var summaryRefreshedAt: Date?
        struct Load: Decodable { var assigneeId: UUID; var open: Int }
    }

    /// Known tickets give exact department figures: counts by state, backlog age, SLA compliance,
    /// median resolution time and per-assignee workload.
    @Test func departmentFiguresAreExact() async throws {
        try await TicketWorld.run { world in
            var ids: [UUID] = []
            for index in 0..<6 {
                let ticket = try await world.draft("Dashboard fixture \(index)")
                try await world.step(ticket.id, "submit", as: "requestor")
                ids.append(ticket.id)
            }
            try await world.force(ids[0], status: "in_progress")
            try await world.force(ids[1], status: "in_progress")
            try await world.force(ids[2], status: "pending")
            // Two resolved: one on time taking 2 h, one breached taking 4 h.
            try await world.postgres.query("""
                UPDATE tickets.tickets SET status = 'resolved', submitted_at = now() - interval '10 hours',
                    resolved_at = now() - interval '8 hours', resolution_due = now(), sla_breached = false WHERE id = \(ids[3])
                """, logger: TestServers.logger)
            try await world.postgres.query("""
                UPDATE tickets.tickets SET status = 'closed', submitted_at = now() - interval '10 hours',
                    resolved_at = now() - interval '6 hours', resolution_due = now() - interval '7 hours', sla_breached = true WHERE id = \(ids[4])
                """, logger: TestServers.logger)
            try await world.postgres.query("UPDATE tickets.tickets SET submitted_at = now() - interval '5 days' WHERE id = \(ids[5])", logger: TestServers.logger)
            let it = world.departments["IT"]!
            // The department and organisation dashboards read the summary as of its last rebuild.
            let stale = try await world.client.json(.get, "/api/v1/dashboards/department?department_id=\(it)", token: world.token("moderator")).decode(Department.self)
            #expect(stale.open == 0 && stale.resolved == 0)
            #expect(try await DashboardSummaryJob.refresh(world.postgres, logger: TestServers.logger))
            let figures = try await world.client.json(.get, "/api/v1/dashboards/department?department_id=\(it)", token: world.token("moderator")).decode(Department.self)
            #expect(figures.open == 4)
            #expect(figures.pending == 1)
            #expect(figures.inProgress == 2)
            #expect(figures.resolved == 2)
            #expect(figures.backlogAge["3_to_7_days"] == 1)
            #expect(figures.backlogAge["under_1_day"] == 3)
            #expect(figures.slaCompliancePercent == 50)
            #expect(figures.breaches == 1)
            #expect(figures.resolutionMedianHours == 3)
            #expect(figures.workload.map(\.open) == [3])
            #expect(figures.workload.first?.assigneeId == world.ids["agent"])
            #expect(figures.summaryRefreshedAt != nil)
            // This whole calendar month: the medians come from the month histograms.
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC")!
            let monthStart = calendar.date(from: calendar.dateComponents([.year, .month], from: Date()))!
            let nextMonth = calendar.date(byAdding: .month, value: 1, to: monthStart)!
            let month = try await world.client.json(
                .get, "/api/v1/dashboards/department?department_id=\(it)&from=\(RFC3339.format(monthStart))&to=\(RFC3339.format(nextMonth))",
                token: world.token("moderator")).decode(Department.self)
            #expect(month.open == 4 && month.resolved == 2 && month.resolutionMedianHours == 3 && month.slaCompliancePercent == 50)

            // The organisation dashboard: the same figures for IT, and the week's volume.
            struct Organisation: Decodable {
                var departments: [Row]
                var weeklyVolume: [Week]
                struct Row: Decodable { var departmentId: UUID?; var open: Int; var resolved: Int; var slaCompliancePercent: Double?; var resolutionMedianHours: Double? }
                struct Week: Decodable { var created: Int; var resolved: Int }
            }
            let organisation = try await world.client.json(.get, "/api/v1/dashboards/organisation", token: world.token("ceo")).decode(Organisation.self)
            let row = try #require(organisation.departments.first { $0.departmentId == it })
            #expect(row.open == 4 && row.resolved == 2 && row.slaCompliancePercent == 50 && row.resolutionMedianHours == 3)
            #expect(organisation.weeklyVolume.reduce(0) { $0 + $1.created } == 6)
            #expect(organisation.weeklyVolume.reduce(0) { $0 + $1.resolved } == 2)
        }
    }

    /// Medians from the duration histograms equal percentile_cont's whenever each bucket holds at
    /// most two values, and stay within the bucket otherwise.
    @Test func histogramMedians() throws {
        typealias Bucket = DurationHistogram.Bucket
        #expect(DurationHistogram().median() == nil)
        #expect(DurationHistogram(buckets: [Bucket(count: 1, shortest: 7_200, longest: 7_200)]).median() == 7_200)
        #expect(DurationHistogram(buckets: [Bucket(count: 1, shortest: 7_200, longest: 7_200), Bucket(count: 1, shortest: 14_400, longest: 14_400)]).median() == 10_800)
        #expect(DurationHistogram(buckets: [Bucket(count: 2, shortest: 60, longest: 70), Bucket(count: 1, shortest: 100, longest: 100)]).median() == 70)
        // 1, 2, 3 | 10 ... 20 (5 values): the median is the 4th of 8, interpolated in the second bucket.
        let wide = DurationHistogram(buckets: [Bucket(count: 3, shortest: 1, longest: 3), Bucket(count: 5, shortest: 10, longest: 20)])
        let median = try #require(wide.median())
        #expect(median >= 10 && median <= 20)
        #expect(wide.value(at: 3) == 10 && wide.value(at: 7) == 20)
    }

    /// Each dashboard answers only the roles it is for.
    @Test func dashboardsDenyOtherRoles() async throws {
        try await TicketWorld.run { world in
            let it = world.departments["IT"]!
            let finance = world.departments["Finance"]!
            let cases: [(String, String, HTTPResponse.Status)] = [
                ("/api/v1/dashboards/me", "requestor", .ok),
                ("/api/v1/dashboards/workload", "agent", .ok),
                ("/api/v1/dashboards/workload", "requestor", .forbidden),
                ("/api/v1/dashboards/department?department_id=\(it)", "moderator", .ok),
                ("/api/v1/dashboards/department?department_id=\(finance)", "moderator", .forbidden),
                ("/api/v1/dashboards/department?department_id=\(finance)", "head.finance", .ok),
                ("/api/v1/dashboards/department?department_id=\(it)", "agent", .forbidden),
                ("/api/v1/dashboards/organisation", "ceo", .ok),
                ("/api/v1/dashboards/organisation", "admin", .ok),
                ("/api/v1/dashboards/organisation", "moderator", .forbidden),
                ("/api/v1/dashboards/system", "admin", .ok),
                ("/api/v1/dashboards/system", "requestor", .forbidden),
            ]
            for (path, user, expected) in cases {
                let response = try await world.client.json(.get, path, token: world.token(user))
                #expect(response.status == expected, "\(user) \(path)")
            }
            let missing = try await world.client.json(.get, "/api/v1/dashboards/department", token: world.token("admin"))
            #expect(missing.status == .unprocessableContent)
        }
    }

    /// A requestor's dashboard counts their tickets by status and the approvals waiting for them.
    @Test func requestorDashboard() async throws {
        try await TicketWorld.run { world in
            let first = try await world.draft()
            _ = try await world.draft()
            try await world.step(first.id, "submit", as: "requestor")
            struct Me: Decodable { var byStatus: [String: Int]; var approvalsWaitingForMe: Int }
            let me = try await world.client.json(.get, "/api/v1/dashboards/me", token: world.token("requestor")).decode(Me.self)
            #expect(me.byStatus == ["draft": 1, "submitted": 1])
            try await world.step(first.id, "start_review", as: "moderator")
            try await world.step(first.id, "request_approval", as: "moderator", ["route_id": world.demoRoute.uuidString])
            let head = try await world.client.json(.get, "/api/v1/dashboards/me", token: world.token("head.hr")).decode(Me.self)
            #expect(head.approvalsWaitingForMe == 1)
        }
    }

    /// Resolution times are averaged over the requestor's resolved tickets (numeric epochs are
    /// read as float8, not left as PostgreSQL numerics).
    @Test func requestorDashboardTimesResolvedTickets() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            for (action, user, fields) in [
                ("submit", "requestor", [:]), ("start_review", "moderator", [:]),
                ("assign", "moderator", ["department_id": world.departments["IT"]!.uuidString, "assignee_id": world.ids["agent"]!.uuidString]),
                ("acknowledge", "agent", [:]), ("resolve", "agent", [:]),
            ] as [(String, String, [String: String])] {
                _ = try await world.step(ticket.id, action, as: user, fields)
            }
            struct Me: Decodable { var byStatus: [String: Int]; var averageResolutionHours: Double?; var medianResolutionHours: Double? }
            let response = try await world.client.json(.get, "/api/v1/dashboards/me", token: world.token("requestor"))
            #expect(response.status == .ok)
            let me = try response.decode(Me.self)
            #expect(me.byStatus == ["resolved": 1])
            #expect(me.averageResolutionHours == 0)
            #expect(me.medianResolutionHours == 0)
        }
    }

    /// The system dashboard counts every service's unpublished outbox rows (a schema that does not
    /// exist yet counts 0), the event stream's length and each consumer group's pending entries and lag.
    @Test func systemDashboardCountsEveryQueue() async throws {
        try await TicketWorld.run { world in
            let context = world.service.context
            // Two other services' outboxes in this test's database: comms with three unpublished
            // rows and one published, files with two unpublished; auth has no schema here.
            for schema in ["comms", "files"] {
                try await world.postgres.query("CREATE SCHEMA \(unescaped: schema)", logger: TestServers.logger)
                try await world.postgres.query("CREATE TABLE \(unescaped: schema).outbox (LIKE tickets.outbox INCLUDING ALL)", logger: TestServers.logger)
            }
            for (schema, unpublished) in [("comms", 3), ("files", 2)] {
                for _ in 0..<unpublished {
                    try await world.postgres.query("""
                        INSERT INTO \(unescaped: schema).outbox (id, type, payload, created_at) VALUES (\(UUID()), 'test.event', '{}', now() - interval '90 seconds')
                        """, logger: TestServers.logger)
                }
            }
            try await world.postgres.query("""
                INSERT INTO comms.outbox (id, type, payload, published_at, stream_id) VALUES (\(UUID()), 'test.event', '{}', now(), '1-1')
                """, logger: TestServers.logger)
            // One ticket submitted; ticket-service's relay publishes its events, then its outbox is empty.
            let ticket = try await world.draft()
            try await world.step(ticket.id, "submit", as: "requestor")
            var ticketsUnpublished = -1
            for _ in 0..<200 {
                for try await count in try await world.postgres.query(
                    "SELECT count(*)::int FROM tickets.outbox WHERE published_at IS NULL", logger: TestServers.logger).decode(Int.self) {
                    ticketsUnpublished = count
                }
                if ticketsUnpublished == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(ticketsUnpublished == 0)
            // Three more entries on the event stream; group "audit" read one and did not acknowledge
            // it, group "idle" joined at the end (ticket-service's own consumer group reads too).
            let stream = context.configuration.eventStream
            let published = try await context.redis.streamLength(stream)
            #expect(published >= 2)
            try await context.redis.createGroup(stream, group: "audit", startingAt: "0")
            for index in 0..<3 { try await context.redis.xadd(stream, fields: [("event", Array("{\"n\":\(index)}".utf8))]) }
            try await context.redis.createGroup(stream, group: "idle", startingAt: "$")
            let read = try await context.redis.readGroup(group: "audit", consumer: "audit-1", streams: [stream], count: 1, blockMillis: 100)
            #expect(read.count == 1)

            struct System: Decodable {
                var tickets: Int
                var openTickets: Int
                var outboxUnpublished: Int
                var outboxUnpublishedByService: [String: Int]
                var outboxOldestUnpublishedSeconds: Double
                var eventStreamLength: Int
                var consumerGroups: [Group]
                var oldestDueJobSeconds: Double
                struct Group: Decodable, Equatable { var name: String; var consumers: Int; var pending: Int; var lag: Int? }
            }
            for user in ["admin", "moderator"] {
                let response = try await world.client.json(.get, "/api/v1/dashboards/system", token: world.token(user))
                #expect(response.status == .ok)
                let system = try response.decode(System.self)
                #expect(system.tickets == 1)
                #expect(system.openTickets == 1)
                #expect(system.outboxUnpublished == 0)
                #expect(system.outboxUnpublishedByService == [
                    "auth-service": 0, "ticket-service": 0, "communication-service": 3, "file-service": 2,
                ])
                #expect(system.outboxOldestUnpublishedSeconds >= 90)
                #expect(system.eventStreamLength == published + 3)
                #expect(system.consumerGroups.filter { $0.name != "ticket-service" }.sorted { $0.name < $1.name } == [
                    .init(name: "audit", consumers: 1, pending: 1, lag: published + 2),
                    .init(name: "idle", consumers: 0, pending: 0, lag: 0),
                ])
                #expect(system.consumerGroups.contains { $0.name == "ticket-service" })
            }
            for user in ["agent", "requestor", "ceo"] {
                let denied = try await world.client.json(.get, "/api/v1/dashboards/system", token: world.token(user))
                #expect(denied.status == .forbidden, "\(user)")
                #expect(denied.headers[.contentType] == "application/problem+json")
            }
            let anonymous = try await world.client.execute(uri: "/api/v1/dashboards/system", method: .get)
            #expect(anonymous.status == .unauthorized)
        }
    }
}
