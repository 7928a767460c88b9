import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import PostgresNIO
import ServiceKit

/// `/api/v1/tickets/{id}/subtickets`: a moderator splits a ticket into sub-tickets for other
/// departments. Each sub-ticket has its own lifecycle and visibility, starts `submitted` in its
/// department's queue on behalf of the parent's requestor, and the parent cannot be resolved
/// until every sub-ticket is resolved or closed. The parent's aggregate progress is the mean of
/// its sub-tickets' progress.
struct SubticketsController: Sendable {
    let tickets: TicketRepository
    let search: TicketSearch
    let directory: DirectoryClient

    struct Body: Decodable {
        var title: String?
        var description: String?
        var departmentId: UUID?
        var priority: Priority?
        var categoryId: UUID?
    }

    /// The sub-tickets the caller may see, with the parent's aggregate over all of them.
    struct Listing: Encodable, Sendable, ResponseEncodable {
        struct Aggregate: Encodable, Sendable {
            var count: Int
            var finished: Int
            var progress: Int
        }

        var items: [TicketView]
        var nextCursor: String?
        var aggregate: Aggregate

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.items, forKey: .items)
            try container.encode(self.nextCursor, forKey: .nextCursor)
            try container.encode(self.aggregate, forKey: .aggregate)
        }

        enum CodingKeys: String, CodingKey { case items, nextCursor, aggregate }
    }

    static let splittable: Set<TicketStatus> = [.underReview, .assigned, .inProgress, .pending, .postponed]

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/tickets/:id/subtickets")
        group.get(use: self.list)
        group.post(use: self.create)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<TicketView> {
        let identity = try context.requireIdentity()
        let id = try context.uuidParameter("id")
        let body = try await request.decode(as: Body.self, context: context)
        var check = Validation()
        let title = check.require(body.title, "title", maxLength: TicketsController.maxTitle)
        let description = check.require(body.description, "description", maxLength: TicketsController.maxDescription)
        if body.departmentId == nil { check.fail("department_id", "is required") }
        try check.finish()
        guard let title, let description, let department = body.departmentId else { throw Problem.badRequest("title, description and department_id are required") }
        guard try await self.directory.departments().contains(where: { $0.id == department }) else {
            throw Problem.validation([.init(field: "department_id", message: "is not a known department")])
        }
        let child = try await self.tickets.client.transaction(logger: context.logger) { connection in
            guard let parent = try await self.tickets.ticket(id, on: connection, lock: true),
                  try await self.search.canSee(parent, identity, on: connection)
            else { throw Problem.notFound("Ticket \(id.lowercased)") }
            guard !identity.parties(to: parent).isDisjoint(with: [.moderator, .admin]) else {
                throw Problem.forbidden("Only a moderator of the ticket's department splits it")
            }
            guard Self.splittable.contains(parent.status) else {
                throw Problem(status: 409, kind: "invalid-transition", title: "Cannot split now",
                              detail: "A ticket in status \(parent.status.rawValue) cannot be split; split it while under review or being worked")
            }
            let child = try await self.tickets.insert(.init(
                title: title, description: description, categoryId: body.categoryId ?? parent.categoryId,
                priority: body.priority ?? parent.priority, departmentId: department, dueAt: parent.dueAt, parentId: parent.id),
                requestor: parent.requestorId, status: .submitted, on: connection)
            try await connection.query("UPDATE tickets.tickets SET submitted_at = now() WHERE id = \(child.id)", logger: context.logger)
            var details = TicketRepository.summary(child)
            details["parent_id"] = .string(parent.id.lowercased)
            try await self.tickets.outbox.record(Change(
                type: .ticketSubmitted, action: "split", subject: .init(kind: "ticket", id: child.id.lowercased),
                actorId: identity.userID, requestId: context.requestID, after: try JSONValue(encoding: child), details: details),
                on: connection, logger: context.logger)
            return child
        }
        return EditedResponse(status: .created, response: TicketView(
            ticket: child, allowedActions: Lifecycle.allowed(status: child.status, parties: identity.parties(to: child))))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Listing {
        let identity = try context.requireIdentity()
        let id = try context.uuidParameter("id")
        guard let parent = try await self.tickets.ticket(id), try await self.search.canSee(parent, identity, on: nil) else {
            throw Problem.notFound("Ticket \(id.lowercased)")
        }
        let rows = try await self.tickets.client.query("""
            SELECT \(unescaped: TicketRepository.columns) FROM tickets.tickets t WHERE t.parent_id = \(parent.id) ORDER BY t.created_at, t.id
            """, logger: context.logger)
        var children: [Ticket] = []
        for try await row in rows { children.append(try Ticket(row: row)) }
        var visible: [TicketView] = []
        for child in children where try await self.search.canSee(child, identity, on: nil) {
            visible.append(TicketView(ticket: child, allowedActions: Lifecycle.allowed(status: child.status, parties: identity.parties(to: child))))
        }
        let finished = children.filter { [.resolved, .closed].contains($0.status) }.count
        let progress = children.isEmpty ? parent.progress : children.map(\.progress).reduce(0, +) / children.count
        return Listing(items: visible, nextCursor: nil, aggregate: .init(count: children.count, finished: finished, progress: progress))
    }
}
