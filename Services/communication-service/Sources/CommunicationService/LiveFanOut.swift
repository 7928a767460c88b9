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

    /// A `{"type":"message","change":"posted|edited|deleted",...}` frame to everyone the message's
    /// ticket involves: its requestor (not for internal notes), assignee, moderator, the author and
    /// the ticket's followers (watchers and approvers). Each socket drops internal notes for
    /// non-staff users again, since a follower's roles are not known here.
    func message(_ message: Message, _ change: LiveFrame.Change, ticket: TicketParticipants, followers: Set<UUID>, logger: Logger) async {
        var recipients = followers.union([ticket.assigneeId, ticket.moderatorId, message.authorId].compactMap { $0 })
        if !message.isInternal, let requestor = ticket.requestorId { recipients.insert(requestor) }
        let frame = LiveFrame(type: "message", id: message.id, ticketId: message.ticketId, change: change, message: message)
        await self.publish(frame, to: recipients, logger: logger)
    }

    /// Tells every replica to close `user`'s sockets (their HDMS access was revoked).
    func disconnect(_ user: UUID, logger: Logger) async {
        await self.publish(LiveFrame(type: LiveFrame.disconnect, id: user), to: [user], logger: logger)
    }

    /// Sends `frame` to each user's channel, pipelined in one round trip.
    func publish(_ frame: LiveFrame, to users: Set<UUID>, logger: Logger) async {
        guard !users.isEmpty, let bytes = try? JSONEncoder.hdms.encode(frame) else { return }
        let payload = RedisArgument(bytes: Array(bytes))
        let commands: [[RedisArgument]] = users.map { ["PUBLISH", .string(self.configuration.liveChannel(user: $0)), payload] }
        do {
            _ = try await self.redis.pipeline(commands)
        } catch {
            logger.warning("live publish failed", metadata: ["recipients": "\(users.count)", "error": "\(error)"])
        }
    }
}

/// A frame pushed to WebSocket clients: `{"type": "notification" | "message", "id": ..., ...}`.
struct LiveFrame: Codable, Sendable, Equatable {
    var type: String
    var id: UUID
    var ticketId: UUID?
    /// For `message` frames: what happened to the message.
    var change: Change?
    var message: Message?
    var notification: NotificationItem?

    enum Change: String, Codable, Sendable {
        case posted, edited, deleted
    }

    /// The control frame that closes a user's sockets; never forwarded to clients.
    static let disconnect = "disconnect"
}
