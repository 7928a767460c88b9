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
        }
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
}
