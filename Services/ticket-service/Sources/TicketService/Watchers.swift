import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import PostgresNIO
import ServiceKit

/// `/api/v1/tickets/{id}/watchers`: colleagues who follow a ticket (and so see it).
///
/// Anyone who sees a ticket may watch it themselves; its requestor, its department's moderators
/// and admins may add or remove others.
struct WatchersController: Sendable {
    let tickets: TicketRepository
    let search: TicketSearch
    let directory: DirectoryClient

    struct Watcher: Encodable, Sendable {
        var employeeId: UUID
        var createdAt: Date
    }

    struct Body: Decodable {
        var employeeId: UUID?
    }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/tickets/:id/watchers")
        group.get(use: self.list)
        group.post(use: self.add)
        group.delete(":employee", use: self.remove)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<Watcher> {
        let ticket = try await self.visible(context)
        let rows = try await self.tickets.client.query(
            "SELECT employee_id, created_at FROM tickets.watchers WHERE ticket_id = \(ticket.id) ORDER BY created_at", logger: context.logger)
        var watchers: [Watcher] = []
        for try await (id, at) in rows.decode((UUID, Date).self) { watchers.append(Watcher(employeeId: id, createdAt: at)) }
        return Page(items: watchers, nextCursor: nil)
    }

    @Sendable func add(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (me, identity) = try context.requireUser()
        let ticket = try await self.visible(context)
        let body = try await request.decode(as: Body.self, context: context)
        let employee = body.employeeId ?? me
        if employee != me { try self.requireManager(ticket, identity) }
        guard try await self.directory.employee(employee)?.active == true else {
            throw Problem.validation([.init(field: "employee_id", message: "is not an active employee")])
        }
        try await self.tickets.client.transaction(logger: context.logger) { connection in
            let inserted = try await connection.query("""
                INSERT INTO tickets.watchers (ticket_id, employee_id) VALUES (\(ticket.id), \(employee)) ON CONFLICT DO NOTHING RETURNING 1
                """, logger: context.logger)
            var added = false
            for try await _ in inserted { added = true }
            if added { try await self.record("watcher.add", ticket, employee, context, on: connection) }
        }
        return Response(status: .noContent)
    }

    @Sendable func remove(_ request: Request, context: AppRequestContext) async throws -> Response {
        let (me, identity) = try context.requireUser()
        let ticket = try await self.visible(context)
        let employee = try context.uuidParameter("employee")
        if employee != me { try self.requireManager(ticket, identity) }
        try await self.tickets.client.transaction(logger: context.logger) { connection in
            let deleted = try await connection.query("""
                DELETE FROM tickets.watchers WHERE ticket_id = \(ticket.id) AND employee_id = \(employee) RETURNING 1
                """, logger: context.logger)
            var removed = false
            for try await _ in deleted { removed = true }
            guard removed else { throw Problem.notFound("Watcher \(employee.lowercased)") }
            try await self.record("watcher.remove", ticket, employee, context, on: connection)
        }
        return Response(status: .noContent)
    }

    private func visible(_ context: AppRequestContext) async throws -> Ticket {
        let identity = try context.requireIdentity()
        let id = try context.uuidParameter("id")
        guard let ticket = try await self.tickets.ticket(id), try await self.search.canSee(ticket, identity, on: nil) else {
            throw Problem.notFound("Ticket \(id.lowercased)")
        }
        return ticket
    }

    private func requireManager(_ ticket: Ticket, _ identity: Identity) throws(Problem) {
        let parties = identity.parties(to: ticket)
        guard !parties.isDisjoint(with: [.owner, .moderator, .admin]) else {
            throw Problem.forbidden("Only the ticket's requestor, its moderators and admins manage other watchers")
        }
    }

    private func record(_ action: String, _ ticket: Ticket, _ employee: UUID, _ context: AppRequestContext, on connection: PostgresConnection) async throws {
        var details = TicketRepository.summary(ticket)
        details["watcher_id"] = .string(employee.lowercased)
        try await self.tickets.outbox.record(Change(
            type: .ticketUpdated, action: action, subject: .init(kind: "ticket", id: ticket.id.lowercased),
            actorId: context.identity?.userID, requestId: context.requestID, details: details), on: connection, logger: context.logger)
    }
}
