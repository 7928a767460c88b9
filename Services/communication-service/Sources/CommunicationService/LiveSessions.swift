import BaseModel
import Foundation
import HDMSProtocol
import Logging
import Redis
import ServiceKit
import ServiceLifecycle
import NIOCore
import Synchronization

/// What a replica hands to one user's sockets.
enum LiveEvent: Sendable {
    /// A live frame: its type and id (for de-duplicating replays), whether only staff may see it
    /// (an internal note), and its JSON text.
    case frame(type: String, id: UUID, staffOnly: Bool, text: String)
    /// The user lost HDMS access: the socket says so and closes.
    case revoked
}

/// The authenticated sockets connected to this replica, by user.
final class LiveSessions: Sendable {
    private let sockets = Mutex<[UUID: [ObjectIdentifier: LiveMailbox]]>([:])

    init() {}

    /// Adds a socket of `user`, whose events go to `mailbox`.
    func add(user: UUID, _ mailbox: LiveMailbox) {
        self.sockets.withLock { $0[user, default: [:]][ObjectIdentifier(mailbox)] = mailbox }
    }

    func remove(user: UUID, _ mailbox: LiveMailbox) {
        self.sockets.withLock { sockets in
            sockets[user]?[ObjectIdentifier(mailbox)] = nil
            if sockets[user]?.isEmpty == true { sockets[user] = nil }
        }
    }

    /// The number of open sockets of `user` on this replica.
    func count(of user: UUID) -> Int { self.sockets.withLock { $0[user]?.count ?? 0 } }

    /// The event a published payload stands for; nil for one that is not a frame.
    static func event(_ payload: [UInt8]) -> LiveEvent? {
        guard let frame = try? JSONDecoder.hdms.decode(LiveFrame.self, from: Data(payload)) else { return nil }
        guard frame.type != LiveFrame.disconnect else { return .revoked }
        return .frame(type: frame.type, id: frame.id, staffOnly: frame.message?.isInternal == true, text: String(decoding: payload, as: UTF8.self))
    }

    /// Hands an event to every socket of `user` here.
    func deliver(_ event: LiveEvent, to user: UUID) {
        let targets = self.sockets.withLock { Array(($0[user] ?? [:]).values) }
        for mailbox in targets { mailbox.post(event) }
    }
}

/// Where a replica hands events for one socket: they hop onto the socket's event loop, where its
/// handler writes them (or holds them while the replay is written or the client is slow).
final class LiveMailbox: Sendable {
    private let handler: NIOLoopBound<LiveSocketHandler>

    init(_ handler: NIOLoopBound<LiveSocketHandler>) {
        self.handler = handler
    }

    func post(_ event: LiveEvent) {
        let handler = self.handler
        handler.eventLoop.execute { handler.value.deliver(event) }
    }
}

/// Each replica's one subscription to `<prefix>:live:user:*`, feeding the sockets connected here.
struct LiveHub: Service {
    let redis: RedisClient
    let prefix: String
    let sessions: LiveSessions

    var pattern: String { "\(self.prefix):live:user:*" }

    func run() async throws {
        let channelPrefix = "\(self.prefix):live:user:"
        await cancelWhenGracefulShutdown {
            // A message to many users arrives once per recipient with the same payload: it is
            // decoded once, for the first of them.
            var last: (payload: [UInt8], event: LiveEvent?) = ([], nil)
            for await message in self.redis.subscribe(patterns: [self.pattern]) {
                guard message.channel.hasPrefix(channelPrefix),
                      let user = UUID(uuidString: String(message.channel.dropFirst(channelPrefix.count)))
                else { continue }
                if message.payload != last.payload { last = (message.payload, LiveSessions.event(message.payload)) }
                if let event = last.event { self.sessions.deliver(event, to: user) }
            }
        }
    }
}
