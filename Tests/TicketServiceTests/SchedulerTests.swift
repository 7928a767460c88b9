import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Scheduled work")
struct SchedulerTests {
    static func scheduler(_ world: TicketWorld) throws -> Scheduler {
        let context = world.service.context
        let tickets = TicketRepository(reads: context.reads, outbox: context.outbox, logger: context.logger)
        let search = TicketSearch(reads: context.reads, logger: context.logger)
        return Scheduler(
            tickets: tickets,
            workflow: TicketWorkflow(
                tickets: tickets, search: search, directory: context.directory,
                planner: ApprovalPlanner(approvals: ApprovalRepository(client: context.postgres, outbox: context.outbox, logger: context.logger),
                                         directory: context.directory),
                sla: SLARepository(client: context.postgres, outbox: context.outbox, logger: context.logger)),
            settings: try .init(EnvironmentReader([:])), startAfter: nil, logger: context.logger)
    }

    func outboxCount(_ world: TicketWorld, type: String) async throws -> Int {
        let rows = try await world.postgres.query("SELECT count(*)::int FROM tickets.outbox WHERE type = \(type)", logger: TestServers.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    /// A postponed ticket pauses its SLA, is reminded once a day before its date, and resumes by
    /// itself at the date, audited as the system; a resume date in the past is refused.
    @Test func postponementRemindsAndResumes() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.force(ticket.id, status: "in_progress")
            let past = try await world.act(ticket.id, "postpone", as: "agent", ["reason": "Parts", "resume_at": RFC3339.format(Date().addingTimeInterval(-60))])
            #expect(past.status == .unprocessableContent)
            let noDate = try await world.act(ticket.id, "postpone", as: "agent", ["reason": "Parts"])
            #expect(noDate.problem?.errors?.first?.field == "resume_at")
            let now = Date()
            let postponed = try await world.step(ticket.id, "postpone", as: "agent", ["reason": "Waiting for parts", "resume_at": RFC3339.format(now.addingTimeInterval(2 * 86_400))])
            #expect(postponed.status == "postponed")
            #expect(postponed.sla.paused)
            let scheduler = try Self.scheduler(world)
            #expect(try await scheduler.runOnce(now: now.addingTimeInterval(3_600)) == .init())
            #expect(try await scheduler.runOnce(now: now.addingTimeInterval(1.5 * 86_400)).reminded == 1)
            #expect(try await scheduler.runOnce(now: now.addingTimeInterval(1.6 * 86_400)).reminded == 0)
            #expect(try await self.outboxCount(world, type: "ticket.reminder") == 1)
            let pass = try await scheduler.runOnce(now: now.addingTimeInterval(2 * 86_400 + 60))
            #expect(pass.resumed == 1)
            let resumed = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("agent")).decode(TicketJSON.self)
            #expect(resumed.status == "in_progress")
            let rows = try await world.postgres.query("""
                SELECT actor_id FROM tickets.audit_log WHERE entity_id = \(ticket.id.lowercased) AND action = 'resume'
                """, logger: TestServers.logger)
            var actors: [UUID?] = []
            for try await actor in rows.decode(UUID?.self) { actors.append(actor) }
            #expect(actors == [nil])
        }
    }

    /// A resolved ticket nobody confirmed closes by itself after three days, with its event.
    @Test func resolvedTicketsAutoClose() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.force(ticket.id, status: "in_progress")
            try await world.step(ticket.id, "resolve", as: "agent")
            let scheduler = try Self.scheduler(world)
            let now = Date()
            #expect(try await scheduler.runOnce(now: now.addingTimeInterval(2 * 86_400)).autoClosed == 0)
            #expect(try await scheduler.runOnce(now: now.addingTimeInterval(3 * 86_400 + 60)).autoClosed == 1)
            let closed = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("requestor")).decode(TicketJSON.self)
            #expect(closed.status == "closed")
            #expect(try await self.outboxCount(world, type: "ticket.auto_closed") == 1)
            #expect(try await world.auditCount(ticket.id, action: "auto_close") == 1)
        }
    }

    /// Two runners racing over 1,000 due tickets act on each exactly once.
    @Test func racingRunnersActOnEachTicketOnce() async throws {
        try await TicketWorld.run { world in
            let template = try await world.draft()
            try await world.postgres.query("""
                INSERT INTO tickets.tickets (id, number, title, description, priority, status, requestor_id, department_id, resolved_at, progress)
                SELECT gen_random_uuid(), 'HD-1999-' || lpad(i::text, 6, '0'), 'Due ' || i, 'Bulk', 'low', 'resolved', requestor_id,
                       department_id, now() - interval '4 days', 100
                FROM tickets.tickets, generate_series(1, 1000) AS i WHERE id = \(template.id)
                """, logger: TestServers.logger)
            let first = try Self.scheduler(world)
            let second = try Self.scheduler(world)
            let now = Date()
            async let a = first.runOnce(now: now)
            async let b = second.runOnce(now: now)
            let (passA, passB) = try await (a, b)
            // The service's own scheduler may take part too (its periodic pass); the audit rows
            // below prove each ticket was closed exactly once by whoever claimed it.
            #expect(passA.autoClosed + passB.autoClosed <= 1_000)
            let rows = try await world.postgres.query("""
                SELECT count(*)::int, count(DISTINCT entity_id)::int FROM tickets.audit_log WHERE action = 'auto_close'
                """, logger: TestServers.logger)
            for try await (total, distinct) in rows.decode((Int, Int).self) {
                #expect(total == 1_000)
                #expect(distinct == 1_000)
            }
        }
    }
}
