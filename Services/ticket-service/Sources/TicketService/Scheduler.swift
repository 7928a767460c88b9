import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// The ticket-service's scheduled work: postponed tickets resume at their date (with a reminder
/// `reminderLead` before it) and resolved tickets nobody confirmed close after `autoCloseAfter`.
///
/// Any number of replicas run it side by side. Each pass claims due rows with `FOR UPDATE SKIP
/// LOCKED` in short transactions of `batchSize`, so a row is acted on by one runner only; a runner
/// that dies mid-batch rolls its transaction back and its rows are due again for the next pass.
/// `now` is injectable, so tests drive time instead of sleeping.
struct Scheduler: Service {
    struct Settings: Sendable {
        var interval: Duration = .seconds(30)
        var autoCloseAfter: TimeInterval = 3 * 86_400
        var reminderLead: TimeInterval = 86_400
        var nearingPercent = 80
        var batchSize = 100

        init(_ environment: EnvironmentReader) throws {
            self.interval = .seconds(try environment.int("HDMS_JOBS_INTERVAL", default: 30, range: 1...3_600))
            self.autoCloseAfter = TimeInterval(try environment.int("HDMS_AUTO_CLOSE_DAYS", default: 3, range: 1...365) * 86_400)
            self.reminderLead = TimeInterval(try environment.int("HDMS_POSTPONE_REMINDER_HOURS", default: 24, range: 0...720) * 3_600)
            self.nearingPercent = try environment.int("HDMS_SLA_NEARING_PERCENT", default: 80, range: 1...99)
        }
    }

    /// What one pass did.
    struct Pass: Sendable, Equatable {
        var resumed = 0
        var reminded = 0
        var autoClosed = 0
        var breached = 0
        var nearing = 0
    }

    let tickets: TicketRepository
    let workflow: TicketWorkflow
    let settings: Settings
    let startAfter: StartupGate?
    let logger: Logger

    func run() async throws {
        await self.startAfter?.wait()
        // Shutdown cancels the loop at once, mid-sleep or mid-batch: a cancelled batch rolls back
        // and is picked up again by the next pass (here or in another replica).
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let pass = try await self.runOnce(now: Date())
                    if pass != Pass() {
                        self.logger.info("scheduled work done", metadata: [
                            "resumed": "\(pass.resumed)", "reminded": "\(pass.reminded)", "auto_closed": "\(pass.autoClosed)",
                            "breached": "\(pass.breached)", "nearing": "\(pass.nearing)",
                        ])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("scheduled work failed, retrying", metadata: ["error": "\(describeDatabaseError(error))"])
                }
                try await Task.sleep(for: self.settings.interval)
            }
        }
    }

    /// One pass of every job, as of `now`, until nothing is due.
    func runOnce(now: Date) async throws -> Pass {
        var pass = Pass()
        pass.reminded = try await self.drain { try await self.remindBatch(now: now) }
        pass.resumed = try await self.drain {
            try await self.transitionBatch(.resume, now: now, due: "status = 'postponed' AND resume_at <= \(now)", order: "resume_at")
        }
        let cutoff = now.addingTimeInterval(-self.settings.autoCloseAfter)
        pass.autoClosed = try await self.drain {
            try await self.transitionBatch(.autoClose, now: now, due: "status = 'resolved' AND resolved_at <= \(cutoff)", order: "resolved_at")
        }
        pass.nearing = try await self.flagNearing(now: now)
        pass.breached = try await self.drain { try await self.breachBatch(now: now) }
        return pass
    }

    /// Flags open tickets that have used `nearingPercent` of their resolution time (idempotent).
    private func flagNearing(now: Date) async throws -> Int {
        let rows = try await self.tickets.client.query("""
            UPDATE tickets.tickets SET sla_nearing = true
            WHERE NOT sla_nearing AND resolution_due IS NOT NULL AND submitted_at IS NOT NULL
              AND status IN ('submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress')
              AND \(now) >= submitted_at + (resolution_due - submitted_at) * \(Double(self.settings.nearingPercent) / 100)
            RETURNING id
            """, logger: self.logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    /// Flags tickets past an SLA target and publishes `sla.breached` once per ticket, escalating to
    /// the moderator and (by department) its head. Paused tickets are not checked.
    private func breachBatch(now: Date) async throws -> Int {
        try await self.tickets.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: TicketRepository.columns) FROM tickets.tickets t
                WHERE sla_breach_notified_at IS NULL
                  AND status IN ('submitted', 'under_review', 'pending_approval', 'assigned', 'in_progress')
                  AND ((first_response_at IS NULL AND first_response_due <= \(now)) OR resolution_due <= \(now))
                ORDER BY resolution_due LIMIT \(self.settings.batchSize) FOR UPDATE SKIP LOCKED
                """, logger: self.logger)
            var claimed: [Ticket] = []
            for try await row in rows { claimed.append(try Ticket(row: row)) }
            for ticket in claimed {
                try await connection.query("""
                    UPDATE tickets.tickets SET sla_breached = true, sla_breach_notified_at = \(now) WHERE id = \(ticket.id)
                    """, logger: self.logger)
                var details = TicketRepository.summary(ticket)
                let firstResponseMissed = ticket.firstResponseAt == nil && (ticket.firstResponseDue.map { $0 <= now } ?? false)
                details["target"] = .string(firstResponseMissed ? "first_response" : "resolution")
                details["due_at"] = (firstResponseMissed ? ticket.firstResponseDue : ticket.resolutionDue).map { .string(RFC3339.format($0)) } ?? .null
                details["recipients"] = .array([ticket.moderatorId, ticket.assigneeId].compactMap { $0 }.map { .string($0.lowercased) })
                details["escalate_to"] = .string("department_head")
                try await self.tickets.outbox.record(Change(
                    type: .slaBreached, action: "sla_breach", subject: .init(kind: "ticket", id: ticket.id.lowercased),
                    actorId: nil, requestId: nil, details: details), on: connection, logger: self.logger)
            }
            return claimed.count
        }
    }

    /// Runs batches until one finds nothing to do. A short batch is not the end: with another
    /// runner updating rows concurrently, `SKIP LOCKED` and the re-check of rows it changed can
    /// return fewer rows than are still due.
    private func drain(_ batch: () async throws -> Int) async throws -> Int {
        var total = 0
        while true {
            let done = try await batch()
            total += done
            if done == 0 { return total }
        }
    }

    /// Claims up to a batch of due tickets and takes `action` on each as the system.
    private func transitionBatch(_ action: TicketAction, now: Date, due: PostgresQuery, order: String) async throws -> Int {
        try await self.tickets.client.transaction(logger: self.logger) { connection in
            var query = PostgresQuery(unsafeSQL: "SELECT \(TicketRepository.columns) FROM tickets.tickets t WHERE ")
            query.sql += due.sql
            query.binds = due.binds
            query.sql += " ORDER BY \(order) LIMIT \(self.settings.batchSize) FOR UPDATE SKIP LOCKED"
            var claimed: [Ticket] = []
            for try await row in try await connection.query(query, logger: self.logger) { claimed.append(try Ticket(row: row)) }
            for ticket in claimed {
                _ = try await self.workflow.perform(
                    action, on: ticket, parties: [.system], inputs: .init(), caller: nil, actor: .system, now: now, connection: connection)
            }
            return claimed.count
        }
    }

    /// Sends the reminder of postponed tickets whose date is within the lead time, once each.
    private func remindBatch(now: Date) async throws -> Int {
        let horizon = now.addingTimeInterval(self.settings.reminderLead)
        return try await self.tickets.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                SELECT \(unescaped: TicketRepository.columns) FROM tickets.tickets t
                WHERE status = 'postponed' AND postpone_reminded_at IS NULL AND resume_at <= \(horizon) AND resume_at > \(now)
                ORDER BY resume_at LIMIT \(self.settings.batchSize) FOR UPDATE SKIP LOCKED
                """, logger: self.logger)
            var claimed: [Ticket] = []
            for try await row in rows { claimed.append(try Ticket(row: row)) }
            for ticket in claimed {
                try await connection.query("UPDATE tickets.tickets SET postpone_reminded_at = \(now) WHERE id = \(ticket.id)", logger: self.logger)
                var details = TicketRepository.summary(ticket)
                details["resume_at"] = ticket.resumeAt.map { .string(RFC3339.format($0)) } ?? .null
                details["recipients"] = .array([ticket.assigneeId, ticket.moderatorId].compactMap { $0 }.map { .string($0.lowercased) })
                try await self.tickets.outbox.record(Change(
                    type: .reminderDue, action: "postpone_reminder", subject: .init(kind: "ticket", id: ticket.id.lowercased),
                    actorId: nil, requestId: nil, details: details), on: connection, logger: self.logger)
            }
            return claimed.count
        }
    }
}
