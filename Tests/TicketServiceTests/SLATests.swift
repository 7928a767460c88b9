import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("SLA")
struct SLATests {
    struct Policy: Encodable {
        var departmentId: UUID
        var priority: String
        var firstResponseMinutes: Int
        var resolutionMinutes: Int
    }

    struct Due: Decodable {
        var sla: SLA
        struct SLA: Decodable { var firstResponseDue: Date?; var resolutionDue: Date?; var breached: Bool; var nearing: Bool }
    }

    /// With a policy for IT, submitting starts both clocks in business time; a breach is flagged and
    /// published once; admins alone set policies and the calendar.
    @Test func clocksStartAndBreachesArePublishedOnce() async throws {
        try await TicketWorld.run { world in
            let set = try await world.client.json(.put, "/api/v1/sla-policies", token: world.token("admin"), body: Policy(
                departmentId: world.departments["IT"]!, priority: "medium", firstResponseMinutes: 60, resolutionMinutes: 480))
            #expect(set.status == .ok)
            #expect(try await world.client.json(.put, "/api/v1/sla-policies", token: world.token("moderator"), body: Policy(
                departmentId: world.departments["IT"]!, priority: "medium", firstResponseMinutes: 1, resolutionMinutes: 2)).status == .forbidden)
            struct Calendar: Codable { var timeZone: String; var workDays: [Int]; var dayStartMinute: Int; var dayEndMinute: Int; var holidays: [String]; var version: Int? }
            var calendar = try await world.client.json(.get, "/api/v1/business-calendar", token: world.token("admin")).decode(Calendar.self)
            calendar.workDays = Array(1...7)
            calendar.dayStartMinute = 0
            calendar.dayEndMinute = 1440
            let saved = try await world.client.json(.put, "/api/v1/business-calendar", token: world.token("admin"), body: calendar)
            #expect(saved.status == .ok, "\(String(buffer: saved.body))")
            #expect(try await world.client.json(.put, "/api/v1/business-calendar", token: world.token("admin"), body: calendar).status == .conflict)

            let ticket = try await world.draft()
            let before = Date()
            try await world.step(ticket.id, "submit", as: "requestor")
            let due = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("requestor")).decode(Due.self)
            let firstResponse = try #require(due.sla.firstResponseDue)
            #expect(abs(firstResponse.timeIntervalSince(before) - 3_600) < 60)
            #expect(abs(try #require(due.sla.resolutionDue).timeIntervalSince(before) - 8 * 3_600) < 60)

            let scheduler = try SchedulerTests.scheduler(world)
            #expect(try await scheduler.runOnce(now: before.addingTimeInterval(1_800)).breached == 0)
            let sixHours = try await scheduler.runOnce(now: before.addingTimeInterval(6 * 3_600))
            #expect(sixHours.nearing == 0)
            #expect(sixHours.breached == 1)  // the first response was due after an hour
            let nearing = try await scheduler.runOnce(now: before.addingTimeInterval(7 * 3_600))
            #expect(nearing.nearing == 1)
            #expect(try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("requestor")).decode(Due.self).sla.nearing)
            #expect(nearing.breached == 0)  // published once only
            #expect(try await scheduler.runOnce(now: before.addingTimeInterval(9 * 3_600)).breached == 0)
            let breached = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("requestor")).decode(Due.self)
            #expect(breached.sla.breached)
            let flagged = try await world.client.json(.get, "/api/v1/tickets?breached=true", token: world.token("moderator")).decode(ListPage<TicketJSON>.self)
            #expect(flagged.items.map(\.id) == [ticket.id])
        }
    }

    /// Time spent pending does not count: answering the question moves the due times on by the
    /// business time the ticket waited.
    @Test func pausedTimeDoesNotCount() async throws {
        try await TicketWorld.run { world in
            _ = try await world.client.json(.put, "/api/v1/sla-policies", token: world.token("admin"), body: Policy(
                departmentId: world.departments["IT"]!, priority: "medium", firstResponseMinutes: 60, resolutionMinutes: 480))
            // Round the clock, so that working time equals elapsed time whenever the test runs.
            try await world.postgres.query("""
                UPDATE tickets.business_calendar SET work_days = '{1,2,3,4,5,6,7}', day_start_minute = 0, day_end_minute = 1440
                """, logger: TestServers.logger)
            let ticket = try await world.draft()
            try await world.step(ticket.id, "submit", as: "requestor")
            let start = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("requestor")).decode(Due.self)
            try await world.force(ticket.id, status: "in_progress")
            try await world.step(ticket.id, "request_info", as: "agent", ["reason": "Which floor?"])
            // The ticket waits two hours (set directly: tests drive time instead of sleeping).
            try await world.postgres.query("UPDATE tickets.tickets SET sla_paused_at = sla_paused_at - interval '2 hours' WHERE id = \(ticket.id)", logger: TestServers.logger)
            try await world.step(ticket.id, "provide_info", as: "requestor", ["comment": "Floor 3"])
            let after = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("requestor")).decode(Due.self)
            let original = try #require(start.sla.resolutionDue)
            let moved = try #require(after.sla.resolutionDue)
            #expect(abs(moved.timeIntervalSince(original) - 2 * 3_600) < 60, "moved by \(moved.timeIntervalSince(original)) s")
        }
    }
}
