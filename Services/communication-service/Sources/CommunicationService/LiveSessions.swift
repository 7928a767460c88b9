import BaseModel
import Foundation
import HDMSProtocol
import Logging
import Redis
import ServiceKit
import ServiceLifecycle
import Synchronization

/// What happens on one socket: the client's frames, its going away, the auth deadline, and frames
/// to deliver to it.
enum SocketEvent: Sendable {
    case incoming(String)
    case clientClosed
    case authDeadline
    /// A live frame for the socket's user: its type and id (for de-duplicating replays), whether
    /// only staff may see it (an internal note), and its JSON text.
    case frame(type: String, id: UUID, staffOnly: Bool, text: String)
    /// The user lost HDMS access.
    case revoked
}

/// The authenticated sockets connected to this replica, by user.
final class LiveSessions: Sendable {
    private let sockets = Mutex<[UUID: [UUID: AsyncStream<SocketEvent>.Continuation]]>([:])

    init() {}

    /// Adds a socket of `user`; its events go to `continuation`. Returns the handle to remove it with.
    func add(user: UUID, _ continuation: AsyncStream<SocketEvent>.Continuation) -> UUID {
        let handle = UUID()
        self.sockets.withLock { $0[user, default: [:]][handle] = continuation }
        return handle
    }

    func remove(user: UUID, handle: UUID) {
        self.sockets.withLock { sockets in
            sockets[user]?[handle] = nil
            if sockets[user]?.isEmpty == true { sockets[user] = nil }
        }
    }

    /// The number of open sockets of `user` on this replica.
    func count(of user: UUID) -> Int { self.sockets.withLock { $0[user]?.count ?? 0 } }

    /// The socket event a published payload stands for; nil for one that is not a frame.
    static func event(_ payload: [UInt8]) -> SocketEvent? {
        guard let frame = try? JSONDecoder.hdms.decode(LiveFrame.self, from: Data(payload)) else { return nil }
        guard frame.type != LiveFrame.disconnect else { return .revoked }
        return .frame(type: frame.type, id: frame.id, staffOnly: frame.message?.isInternal == true, text: String(decoding: payload, as: UTF8.self))
    }

    /// Hands an event to every socket of `user` here.
    func deliver(_ event: SocketEvent, to user: UUID) {
        let targets = self.sockets.withLock { Array(($0[user] ?? [:]).values) }
        for continuation in targets { continuation.yield(event) }
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
            var last: (payload: [UInt8], event: SocketEvent?) = ([], nil)
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
