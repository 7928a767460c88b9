import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit

/// `/api/v1/conversations/{ticket_id}`: a ticket's chat thread, read markers and unread count.
///
/// A thread exists for exactly those who may see its ticket (ticket-service decides, asked with
/// the caller's token); for anyone else it is a 404. Internal notes are written and read by staff
/// only and are left out of requestors' pages and counts. Posts and edits count against the
/// author's message rate limit (429 with `Retry-After`); attachments are checked with file-service
/// before anything is stored.
struct ConversationsController: Sendable {
    let messages: MessageRepository
    let tickets: TicketLookup
    let attachments: AttachmentCheck
    let rateLimit: RateLimit
    let live: LiveFanOut?

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/conversations/:ticket_id")
        group.get(use: self.summary)
        group.get("messages", use: self.list)
        group.post("messages", use: self.post)
        group.patch("messages/:id", use: self.edit)
        group.delete("messages/:id", use: self.delete)
        group.post("read", use: self.read)
    }

    struct PostRequest: Decodable, Sendable {
        var body: String?
        var isInternal: Bool?
        var attachmentIds: [UUID]?

        enum CodingKeys: String, CodingKey {
            case body, attachmentIds
            case isInternal = "internal"
        }
    }

    struct EditRequest: Decodable, Sendable {
        var body: String?
    }

    struct ReadRequest: Decodable, Sendable {
        var upTo: UUID
    }

    /// The caller and the ticket they name, or 404 when they may not see it.
    private func visibleTicket(_ context: AppRequestContext) async throws -> (me: UUID, identity: Identity, ticket: TicketParticipants) {
        let (me, identity) = try context.requireUser()
        let ticketID = try context.uuidParameter("ticket_id")
        guard let ticket = try await self.tickets.ticket(ticketID, for: identity) else {
            throw Problem.notFound("Ticket \(ticketID.lowercased)")
        }
        return (me, identity, ticket)
    }

    @Sendable func summary(_ request: Request, context: AppRequestContext) async throws -> ConversationSummary {
        let (me, identity, ticket) = try await self.visibleTicket(context)
        return try await self.messages.summary(ticket: ticket.id, user: me, includeInternal: identity.isStaff)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<Message> {
        let query = request.uri.queryParameters
        let limit = try PageLimit(query["limit"].map(String.init))
        let order = try ThreadOrder(query["order"].map(String.init))
        let cursor = try query["cursor"].map { (text) throws(Problem) in try Cursor(decoding: String(text), sort: order.rawValue) }
        let (_, identity, ticket) = try await self.visibleTicket(context)
        return try await self.messages.page(
            ticket: ticket.id, includeInternal: identity.isStaff, order: order, after: cursor, limit: limit.value)
    }

    @Sendable func post(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Message> {
        let (me, _) = try context.requireUser()
        try await self.rateLimit.acquire(me.lowercased, what: "messages")
        let input = try await request.decode(as: PostRequest.self, context: context)
        var check = Validation()
        let body = Self.checkBody(input.body, &check)
        let attachments = Array(Set(input.attachmentIds ?? [])).sorted { $0.uuidString < $1.uuidString }
        if attachments.count > 20 { check.fail("attachment_ids", "must list at most 20 files") }
        try check.finish()
        let (_, identity, ticket) = try await self.visibleTicket(context)
        let isInternal = input.isInternal ?? false
        if isInternal && !identity.isStaff { throw Problem.forbidden("Only staff write internal notes") }
        try await self.attachments.verify(attachments, ticket: ticket.id, isInternal: isInternal, identity: identity)
        let draft = Message(
            id: .v7(), ticketId: ticket.id, authorId: me, body: body ?? "", isInternal: isInternal,
            attachmentIds: attachments, createdAt: Date(), editedAt: nil)
        let stored = try await self.messages.insert(draft, ticket: ticket, actor: context.actor)
        await self.push(stored, .posted, ticket: ticket, identity: identity, context: context)
        return EditedResponse(status: .created, response: stored)
    }

    @Sendable func edit(_ request: Request, context: AppRequestContext) async throws -> Message {
        let (me, _) = try context.requireUser()
        try await self.rateLimit.acquire(me.lowercased, what: "messages")
        let input = try await request.decode(as: EditRequest.self, context: context)
        var check = Validation()
        let body = Self.checkBody(input.body, &check)
        try check.finish()
        let (_, identity, ticket) = try await self.visibleTicket(context)
        let message = try await self.ownMessage(me: me, ticket: ticket, context: context)
        guard let edited = try await self.messages.edit(message, body: body ?? "", actor: context.actor) else {
            throw Problem.notFound("Message \(message.id.lowercased)")
        }
        await self.push(edited, .edited, ticket: ticket, identity: identity, context: context)
        return edited
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let (me, identity, ticket) = try await self.visibleTicket(context)
        let message = try await self.ownMessage(me: me, ticket: ticket, context: context)
        guard try await self.messages.delete(message, actor: context.actor) else { throw Problem.notFound("Message \(message.id.lowercased)") }
        var deleted = message
        deleted.body = ""
        await self.push(deleted, .deleted, ticket: ticket, identity: identity, context: context)
        return .noContent
    }

    /// Pushes a message frame live to the ticket's participants and followers (best effort).
    private func push(_ message: Message, _ change: LiveFrame.Change, ticket: TicketParticipants, identity: Identity, context: AppRequestContext) async {
        guard let live = self.live else { return }
        let followers = await self.tickets.followers(of: ticket.id, for: identity)
        await live.message(message, change, ticket: ticket, followers: followers, logger: context.logger)
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> ConversationSummary {
        let input = try await request.decode(as: ReadRequest.self, context: context)
        let (me, identity, ticket) = try await self.visibleTicket(context)
        guard let message = try await self.messages.message(input.upTo, ticket: ticket.id),
              identity.isStaff || !message.isInternal
        else {
            throw Problem.validation([.init(field: "up_to", message: "is not a message of this conversation")])
        }
        try await self.messages.markRead(ticket: ticket.id, user: me, upTo: message)
        return try await self.messages.summary(ticket: ticket.id, user: me, includeInternal: identity.isStaff)
    }

    /// The caller's own message, still inside the edit window: others' messages are 403, unknown ones 404.
    private func ownMessage(me: UUID, ticket: TicketParticipants, context: AppRequestContext) async throws -> Message {
        let id = try context.uuidParameter("id")
        guard let message = try await self.messages.message(id, ticket: ticket.id) else { throw Problem.notFound("Message \(id.lowercased)") }
        guard message.authorId == me else { throw Problem.forbidden("Only the author changes a message") }
        guard Date().timeIntervalSince(message.createdAt) <= Message.editWindow else {
            throw Problem.conflict(kind: "edit-window-closed", "A message can be changed only within 15 minutes of posting")
        }
        return message
    }

    /// Requires 1...10,000 characters of non-blank text.
    private static func checkBody(_ body: String?, _ check: inout Validation) -> String? {
        guard let body, !body.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            check.fail("body", "is required")
            return nil
        }
        guard body.count <= 10_000 else {
            check.fail("body", "must be at most 10000 characters")
            return nil
        }
        return body
    }
}
