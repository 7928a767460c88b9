import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// Keeps each ticket's chat text in its search vector, from communication-service's message events.
///
/// Public messages are stored as they are posted, edited or deleted, and the ticket's `chat_text`
/// is rebuilt from them in the same transaction. Internal notes are never indexed: a requestor's
/// search must not match on words they cannot read.
enum ChatIndex {
    static func handle(_ event: EventEnvelope, on connection: PostgresConnection, logger: Logger) async throws {
        guard let type = event.eventType, [.messagePosted, .messageEdited, .messageDeleted].contains(type) else { return }
        let message = try event.data.decode(as: MessageEventData.self)
        if message.isInternal { return }
        if type == .messageDeleted || message.body.isEmpty {
            try await connection.query("DELETE FROM tickets.chat_messages WHERE message_id = \(message.messageId)", logger: logger)
        } else {
            try await connection.query("""
                INSERT INTO tickets.chat_messages (message_id, ticket_id, body) VALUES (\(message.messageId), \(message.ticketId), \(message.body))
                ON CONFLICT (message_id) DO UPDATE SET body = EXCLUDED.body, updated_at = now()
                """, logger: logger)
        }
        try await connection.query("""
            UPDATE tickets.tickets SET chat_text = COALESCE(
                (SELECT string_agg(body, ' ' ORDER BY message_id) FROM tickets.chat_messages WHERE ticket_id = \(message.ticketId)), '')
            WHERE id = \(message.ticketId)
            """, logger: logger)
    }
}
