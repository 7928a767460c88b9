import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// The `comms.messages` and `comms.read_markers` tables. Interpolated values are bind parameters;
/// `unescaped:` is used only for compile-time column lists and sort keywords.
struct MessageRepository: Sendable {
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger

    private static let columns = "id, ticket_id, author_id, body, internal, attachment_ids, created_at, edited_at"
    private typealias Row = (UUID, UUID, UUID, String, Bool, [UUID], Date, Date?)

    /// Records a new message with its audit row and `message.posted` event, in one transaction.
    func insert(_ message: Message, ticket: TicketParticipants, actor: AuditActor) async throws -> Message {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                INSERT INTO comms.messages (id, ticket_id, author_id, body, internal, attachment_ids)
                VALUES (\(message.id), \(message.ticketId), \(message.authorId), \(message.body), \(message.isInternal),
                        \(message.attachmentIds))
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            guard let stored = try await Self.one(rows) else { throw Problem.internalError(requestID: actor.requestId) }
            try await self.outbox.record(Change(
                type: .messagePosted, action: "message.post", subject: .init(kind: "message", id: stored.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: stored),
                details: try Self.details(stored, ticket: ticket)), on: connection, logger: self.logger)
            return stored
        }
    }

    /// A message of `ticket` that is not deleted.
    func message(_ id: UUID, ticket: UUID) async throws -> Message? {
        try await Self.one(self.client.query("""
            SELECT \(unescaped: Self.columns) FROM comms.messages WHERE id = \(id) AND ticket_id = \(ticket) AND deleted_at IS NULL
            """, logger: self.logger))
    }

    /// Replaces a message's text with its audit row and `message.edited` event; nil when it was deleted meanwhile.
    func edit(_ before: Message, body: String, actor: AuditActor) async throws -> Message? {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                UPDATE comms.messages SET body = \(body), edited_at = now() WHERE id = \(before.id) AND deleted_at IS NULL
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            guard let edited = try await Self.one(rows) else { return nil }
            try await self.outbox.record(Change(
                type: .messageEdited, action: "message.edit", subject: .init(kind: "message", id: edited.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, before: try JSONValue(encoding: before),
                after: try JSONValue(encoding: edited), details: try Self.details(edited, ticket: nil)), on: connection, logger: self.logger)
            return edited
        }
    }

    /// Marks a message deleted with its audit row and `message.deleted` event; false when it was already deleted.
    func delete(_ before: Message, actor: AuditActor) async throws -> Bool {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                UPDATE comms.messages SET deleted_at = now() WHERE id = \(before.id) AND deleted_at IS NULL
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            guard var deleted = try await Self.one(rows) else { return false }
            deleted.body = ""
            try await self.outbox.record(Change(
                type: .messageDeleted, action: "message.delete", subject: .init(kind: "message", id: deleted.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, before: try JSONValue(encoding: before),
                details: try Self.details(deleted, ticket: nil)), on: connection, logger: self.logger)
            return true
        }
    }

    /// One page of a thread in `order`, after `cursor`; internal notes only when `includeInternal`.
    func page(
        ticket: UUID, includeInternal: Bool, order: ThreadOrder, after cursor: Cursor?, limit: Int
    ) async throws -> Page<Message> {
        let comparison = order == .newestFirst ? "<" : ">"
        let direction = order == .newestFirst ? "DESC" : "ASC"
        let key = cursor.flatMap { Int64($0.key) }
        let cursorID = cursor?.id
        let rows = try await self.client.query("""
            SELECT \(unescaped: Self.columns), (extract(epoch FROM created_at) * 1000000)::bigint
            FROM comms.messages
            WHERE ticket_id = \(ticket) AND deleted_at IS NULL AND (\(includeInternal) OR NOT internal)
              AND (\(key)::bigint IS NULL
                   OR (created_at, id) \(unescaped: comparison) ('epoch'::timestamptz + \(key)::bigint * interval '1 microsecond', \(cursorID)::uuid))
            ORDER BY created_at \(unescaped: direction), id \(unescaped: direction)
            LIMIT \(limit + 1)
            """, logger: self.logger)
        var items: [(Message, Int64)] = []
        for try await row in rows.decode((UUID, UUID, UUID, String, Bool, [UUID], Date, Date?, Int64).self) {
            items.append((Self.message((row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7)), row.8))
        }
        var next: String?
        if items.count > limit {
            items.removeLast()
            if let last = items.last {
                next = Cursor(key: String(last.1), id: last.0.id, sort: order.rawValue).encoded
            }
        }
        return Page(items: items.map(\.0), nextCursor: next)
    }

    /// Moves `user`'s read marker in `ticket` forward to `message` (never back).
    func markRead(ticket: UUID, user: UUID, upTo message: Message) async throws {
        try await self.client.query("""
            INSERT INTO comms.read_markers (user_id, ticket_id, last_read_message_id, last_read_at)
            SELECT \(user), ticket_id, id, created_at FROM comms.messages WHERE id = \(message.id) AND ticket_id = \(ticket)
            ON CONFLICT (user_id, ticket_id) DO UPDATE
                SET last_read_message_id = EXCLUDED.last_read_message_id, last_read_at = EXCLUDED.last_read_at, updated_at = now()
                WHERE (comms.read_markers.last_read_at, comms.read_markers.last_read_message_id)
                    < (EXCLUDED.last_read_at, EXCLUDED.last_read_message_id)
            """, logger: self.logger)
    }

    /// `user`'s message count, unread count (messages by others after their marker) and marker in `ticket`.
    func summary(ticket: UUID, user: UUID, includeInternal: Bool) async throws -> ConversationSummary {
        let rows = try await self.client.query("""
            SELECT
                (SELECT count(*)::int FROM comms.messages m
                  WHERE m.ticket_id = \(ticket) AND m.deleted_at IS NULL AND (\(includeInternal) OR NOT m.internal)),
                (SELECT count(*)::int FROM comms.messages m
                  WHERE m.ticket_id = \(ticket) AND m.deleted_at IS NULL AND (\(includeInternal) OR NOT m.internal)
                    AND m.author_id <> \(user)
                    AND (r.last_read_at IS NULL OR (m.created_at, m.id) > (r.last_read_at, r.last_read_message_id))),
                r.last_read_message_id
            FROM (SELECT 1) AS one
            LEFT JOIN comms.read_markers r ON r.user_id = \(user) AND r.ticket_id = \(ticket)
            """, logger: self.logger)
        for try await (total, unread, marker) in rows.decode((Int, Int, UUID?).self) {
            return ConversationSummary(ticketId: ticket, messages: total, unread: unread, lastReadMessageId: marker)
        }
        return ConversationSummary(ticketId: ticket, messages: 0, unread: 0, lastReadMessageId: nil)
    }

    /// The event's `data`: `MessageEventData` plus, for a post, who the ticket involves (for notifications).
    private static func details(_ message: Message, ticket: TicketParticipants?) throws -> [String: JSONValue] {
        let data = MessageEventData(
            messageId: message.id, ticketId: message.ticketId, authorId: message.authorId, body: message.body,
            isInternal: message.isInternal)
        guard case .object(var fields) = try JSONValue(encoding: data) else { return [:] }
        if let ticket {
            fields["requestor_id"] = ticket.requestorId.map { .string($0.lowercased) } ?? .null
            fields["assignee_id"] = ticket.assigneeId.map { .string($0.lowercased) } ?? .null
            fields["moderator_id"] = ticket.moderatorId.map { .string($0.lowercased) } ?? .null
            fields["department_id"] = ticket.departmentId.map { .string($0.lowercased) } ?? .null
            fields["title"] = ticket.title.map { .string($0) } ?? .null
            fields["number"] = ticket.number.map { .string($0) } ?? .null
        }
        return fields
    }

    private static func one(_ rows: PostgresRowSequence) async throws -> Message? {
        for try await row in rows.decode(Row.self) { return Self.message(row) }
        return nil
    }

    private static func message(_ row: Row) -> Message {
        Message(
            id: row.0, ticketId: row.1, authorId: row.2, body: row.3, isInternal: row.4, attachmentIds: row.5, createdAt: row.6,
            editedAt: row.7)
    }
}
