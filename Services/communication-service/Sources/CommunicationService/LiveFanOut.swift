import BaseModel
import Foundation
import HDMSProtocol
import Logging
import Redis
import ServiceKit

/// Publishes live frames to `<prefix>:live:user:<id>` for each recipient, so a socket on any
/// replica receives them. Live delivery is best effort: the database stays the record, and a
/// reconnecting client replays what it missed from there.
struct LiveFanOut: Sendable {
    let redis: RedisClient
    let configuration: ServiceConfiguration

    /// A `{"type":"message",...}` frame to everyone the message's ticket involves who may read it.
    func messagePosted(_ message: Message, ticket: TicketParticipants, logger: Logger) async {
        var recipients = Set([ticket.assigneeId, ticket.moderatorId, message.authorId].compactMap { $0 })
        if !message.isInternal, let requestor = ticket.requestorId { recipients.insert(requestor) }
        await self.publish(LiveFrame(type: "message", id: message.id, ticketId: message.ticketId, message: message), to: recipients, logger: logger)
    }

    /// Tells every replica to close `user`'s sockets (their HDMS access was revoked).
    func disconnect(_ user: UUID, logger: Logger) async {
        await self.publish(LiveFrame(type: LiveFrame.disconnect, id: user), to: [user], logger: logger)
    }

    /// Sends `frame` to each user's channel.
    func publish(_ frame: LiveFrame, to users: Set<UUID>, logger: Logger) async {
        guard !users.isEmpty, let bytes = try? JSONEncoder.hdms.encode(frame) else { return }
        for user in users {
            do {
                _ = try await self.redis.publish(self.configuration.liveChannel(user: user), Array(bytes))
            } catch {
                logger.warning("live publish failed", metadata: ["user": "\(user.lowercased)", "error": "\(error)"])
            }
        }
    }
}

/// A frame pushed to WebSocket clients: `{"type": "notification" | "message", "id": ..., ...}`.
struct LiveFrame: Codable, Sendable, Equatable {
    var type: String
    var id: UUID
    var ticketId: UUID?
    var message: Message?
    var notification: NotificationItem?

    /// The control frame that closes a user's sockets; never forwarded to clients.
    static let disconnect = "disconnect"
}
