import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// Tickets: create and edit drafts, read, list, transitions and history.
struct TicketsController: Sendable {
    let tickets: TicketRepository
    let search: TicketSearch
    let workflow: TicketWorkflow
    let directory: DirectoryClient
    let categories: CategoryRepository

    static let maxTitle = 200
    static let maxDescription = 20_000

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/tickets")
        group.post(use: self.create)
        group.get(use: self.list)
        group.get(":id", use: self.get)
        group.patch(":id", use: self.edit)
        group.post(":id/transitions", use: self.transition)
        group.get(":id/history", use: self.history)
    }

    struct DraftRequest: Decodable {
        var title: String?
        var description: String?
        var categoryId: UUID?
        var priority: Priority?
        var departmentId: UUID?
        var dueAt: Date?
        var version: Int?
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<TicketView> {
        let (me, identity) = try context.requireUser()
        guard identity.has(.requestor) else { throw Problem.forbidden("Only requestors raise tickets") }
        let body = try await request.decode(as: DraftRequest.self, context: context)
        var check = Validation()
        let title = check.require(body.title, "title", maxLength: Self.maxTitle)
        let description = check.limit(body.description, "description", maxLength: Self.maxDescription) ?? ""
        try check.finish()
        guard let title else { throw Problem.badRequest("title is required") }
        try await self.checkReferences(category: body.categoryId, department: body.departmentId)
        let ticket = try await self.tickets.create(.init(
            title: title, description: description, categoryId: body.categoryId, priority: body.priority ?? .medium,
            departmentId: body.departmentId, dueAt: body.dueAt, parentId: nil), requestor: me, actor: context.actor)
        return EditedResponse(status: .created, response: TicketView(ticket: ticket, allowedActions: Lifecycle.allowed(status: ticket.status, parties: identity.parties(to: ticket))))
    }

    @Sendable func get(_ request: Request, context: AppRequestContext) async throws -> TicketView {
        let identity = try context.requireIdentity()
        let ticket = try await self.visibleTicket(try context.uuidParameter("id"), identity)
        return TicketView(ticket: ticket, allowedActions: Lifecycle.allowed(status: ticket.status, parties: identity.parties(to: ticket)))
    }

    @Sendable func edit(_ request: Request, context: AppRequestContext) async throws -> TicketView {
        let (me, identity) = try context.requireUser()
        let id = try context.uuidParameter("id")
        let body = try await request.decode(as: DraftRequest.self, context: context)
        var check = Validation()
        let title = check.limit(body.title, "title", maxLength: Self.maxTitle)
        if title?.isEmpty == true { check.fail("title", "must not be blank") }
        let description = check.limit(body.description, "description", maxLength: Self.maxDescription)
        if body.version == nil { check.fail("version", "is required") }
        try check.finish()
        try await self.checkReferences(category: body.categoryId, department: body.departmentId)
        let ticket = try await self.tickets.client.transaction(logger: self.tickets.logger) { connection in
            guard let before = try await self.tickets.ticket(id, on: connection, lock: true), try await self.search.canSee(before, identity, on: connection) else {
                throw Problem.notFound("Ticket \(id.lowercased)")
            }
            guard before.requestorId == me else { throw Problem.forbidden("Only the requestor who raised it edits a draft") }
            guard before.status == .draft else {
                throw Problem(status: 409, kind: "invalid-transition", title: "Not a draft", detail: "Only drafts are edited; this ticket is \(before.status.rawValue)")
            }
            guard before.version == body.version else { throw Problem.versionConflict(expected: body.version ?? 0, actual: before.version) }
            var after = before
            after.title = title ?? before.title
            after.description = description ?? before.description
            after.categoryId = body.categoryId ?? before.categoryId
            after.priority = body.priority ?? before.priority
            after.departmentId = body.departmentId ?? before.departmentId
            after.dueAt = body.dueAt ?? before.dueAt
            return try await self.tickets.save(after, before: before, change: Change(
                type: .ticketUpdated, action: "edit", subject: .init(kind: "ticket", id: id.lowercased),
                actorId: me, requestId: context.requestID), on: connection)
        }
        return TicketView(ticket: ticket, allowedActions: Lifecycle.allowed(status: ticket.status, parties: identity.parties(to: ticket)))
    }

    @Sendable func transition(_ request: Request, context: AppRequestContext) async throws -> TicketView {
        let identity = try context.requireIdentity()
        let id = try context.uuidParameter("id")
        let body = try await request.decode(as: TicketWorkflow.Request.self, context: context)
        let ticket = try await self.workflow.apply(body, to: id, by: identity, actor: context.actor)
        return TicketView(ticket: ticket, allowedActions: Lifecycle.allowed(status: ticket.status, parties: identity.parties(to: ticket)))
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let query = try TicketSearch.Query(request.uri.queryParameters)
        let (tickets, next) = try await self.search.list(query, for: identity)
        // The page is written by hand (TicketView.write): with Codable, encoding was most of a list's cost.
        var json = JSONWriter(capacity: 1024 * (tickets.count + 1))
        json.beginObject()
        json.key("items")
        json.beginArray()
        for ticket in tickets {
            TicketView(ticket: ticket, allowedActions: Lifecycle.allowed(status: ticket.status, parties: identity.parties(to: ticket))).write(to: &json)
        }
        json.endArray()
        json.member("next_cursor", next)
        json.endObject()
        let body = ByteBuffer(bytes: json.bytes)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }

    struct HistoryItem: Encodable, Sendable {
        var id: UUID
        var at: Date
        var actorId: UUID?
        var action: String
        var fromStatus: String?
        var toStatus: String?
        var changes: [String: JSONValue]

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.id, forKey: .id)
            try container.encode(self.at, forKey: .at)
            try container.encode(self.actorId, forKey: .actorId)
            try container.encode(self.action, forKey: .action)
            try container.encode(self.fromStatus, forKey: .fromStatus)
            try container.encode(self.toStatus, forKey: .toStatus)
            try container.encode(self.changes, forKey: .changes)
        }

        enum CodingKeys: String, CodingKey { case id, at, actorId, action, fromStatus, toStatus, changes }
    }

    @Sendable func history(_ request: Request, context: AppRequestContext) async throws -> Page<HistoryItem> {
        let identity = try context.requireIdentity()
        let ticket = try await self.visibleTicket(try context.uuidParameter("id"), identity)
        let rows = try await self.tickets.client.query("""
            SELECT id, at, actor_id, action, before::text, after::text, details::text FROM tickets.audit_log
            WHERE entity_kind = 'ticket' AND entity_id = \(ticket.id.lowercased) ORDER BY at, id
            """, logger: self.tickets.logger)
        var items: [HistoryItem] = []
        for try await (id, at, actor, action, before, after, details) in rows.decode((UUID, Date, UUID?, String, String?, String?, String?).self) {
            let old = try before.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            let new = try after.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) }
            var changes: [String: JSONValue] = [:]
            if case .object(let newFields)? = new {
                let oldFields: [String: JSONValue] = if case .object(let fields)? = old { fields } else { [:] }
                for (key, value) in newFields where !["updated_at", "version", "created_at"].contains(key) && oldFields[key] != value {
                    changes[key] = .object(["from": oldFields[key] ?? .null, "to": value])
                }
            }
            if let details, case .object(let extra) = try JSONDecoder().decode(JSONValue.self, from: Data(details.utf8)) {
                for key in ["reason", "comment"] { if let value = extra[key] { changes[key] = value } }
            }
            items.append(HistoryItem(
                id: id, at: at, actorId: actor, action: action, fromStatus: old?["status"]?.stringValue,
                toStatus: new?["status"]?.stringValue, changes: changes))
        }
        return Page(items: items, nextCursor: nil)
    }

    /// The ticket if this caller may see it; a ticket they may not see does not exist for them.
    func visibleTicket(_ id: UUID, _ identity: Identity) async throws -> Ticket {
        guard let ticket = try await self.tickets.ticket(id), try await self.search.canSee(ticket, identity, on: nil) else {
            throw Problem.notFound("Ticket \(id.lowercased)")
        }
        return ticket
    }

    private func checkReferences(category: UUID?, department: UUID?) async throws {
        if let category, try await self.categories.category(category)?.active != true {
            throw Problem.validation([.init(field: "category_id", message: "is not an active category")])
        }
        if let department, !(try await self.directory.departments().contains { $0.id == department }) {
            throw Problem.validation([.init(field: "department_id", message: "is not a known department")])
        }
    }
}
