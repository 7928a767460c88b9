import BaseModel
import Foundation
import HDMSProtocol
import Logging
import Redis
import ServiceKit
import ServiceLifecycle
import HummingbirdWebSocket
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

/// The frames waiting for one socket. An idle socket has no task of its own for them: a post
/// starts one that writes what is waiting and ends, so ten thousand idle sockets cost memory for
/// their connections only. Frames are held until `open(skipping:)` (after the replay that follows
/// authentication), and notifications the replay already sent are skipped then.
final class LiveMailbox: Sendable {
    /// At most this many frames wait for a slow socket; older ones are dropped first (the client
    /// replays notifications after reconnecting, and reads messages from the thread).
    static let capacity = 1_000

    private struct State {
        var waiting: [LiveEvent] = []
        var held = true
        var writing = false
        var closed = false
        var replayed: Set<UUID> = []
    }

    private let state = Mutex(State())
    private let outbound: WebSocketOutboundWriter
    private let isStaff: Bool

    init(outbound: WebSocketOutboundWriter, isStaff: Bool) {
        self.outbound = outbound
        self.isStaff = isStaff
    }

    /// Queues an event for the socket; internal notes never reach a socket of a non-staff user.
    func post(_ event: LiveEvent) {
        if case .frame(_, _, let staffOnly, _) = event, staffOnly && !self.isStaff { return }
        let start = self.state.withLock { state -> Bool in
            guard !state.closed else { return false }
            if state.waiting.count >= Self.capacity { state.waiting.removeFirst() }
            state.waiting.append(event)
            return self.claimWriter(&state)
        }
        if start { self.startWriting() }
    }

    /// Lets held frames through, skipping the notifications in `replayed`.
    func open(skipping replayed: Set<UUID>) {
        let start = self.state.withLock { state -> Bool in
            state.held = false
            state.replayed = replayed
            return self.claimWriter(&state)
        }
        if start { self.startWriting() }
    }

    /// Nothing more is written to the socket.
    func close() {
        self.state.withLock { state in
            state.closed = true
            state.waiting = []
        }
    }

    /// Whether the caller should start the writer (one at a time, and only once open).
    private func claimWriter(_ state: inout State) -> Bool {
        guard !state.held, !state.writing, !state.closed, !state.waiting.isEmpty else { return false }
        state.writing = true
        return true
    }

    private func startWriting() {
        Task { await self.writeWaiting() }
    }

    /// Writes what is waiting, in order, until nothing is; a failed write closes the mailbox.
    private func writeWaiting() async {
        while true {
            let (batch, replayed) = self.state.withLock { state -> ([LiveEvent], Set<UUID>) in
                let batch = state.closed ? [] : state.waiting
                state.waiting = []
                if batch.isEmpty { state.writing = false }
                return (batch, state.replayed)
            }
            guard !batch.isEmpty else { return }
            do {
                for event in batch {
                    switch event {
                    case .frame(let type, let id, _, let text):
                        if type == "notification" && replayed.contains(id) { continue }
                        try await self.outbound.write(.text(text))
                    case .revoked:
                        self.close()
                        try await self.outbound.write(.text(#"{"type":"error","message":"HDMS access was revoked"}"#))
                        try await self.outbound.close(.policyViolation, reason: "access revoked")
                        return
                    }
                }
            } catch {
                self.close()
                return
            }
        }
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
