import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import ServiceKit
import Synchronization

/// `GET /api/v1/ws`: one client's live socket.
///
/// The client authenticates either with its first frame, `{"type":"auth","token":...,"last_id"?}`,
/// sent within `authTimeout`, or in the upgrade request itself with the subprotocols
/// `Sec-WebSocket-Protocol: hdms.v1, bearer.<access token>` (and `?last_id=` in the URL); the
/// server then selects `hdms.v1` (the token is never echoed). Either way it is answered
/// `{"type":"ready"}`, or an error frame and a close (1008). The socket is registered before the
/// replay of notifications after `last_id`, so nothing falls between the replay and live frames,
/// and a live frame the replay already sent is skipped. More than `frameLimit` client frames in
/// `frameWindow` is a flood: an error frame and a close (1008).
struct LiveSocket: Sendable {
    let sessions: LiveSessions
    let verifier: TokenVerifier
    let notifications: NotificationRepository
    let audience: String
    var authTimeout: Duration = .seconds(10)
    var frameLimit = 60
    var frameWindow: Duration = .seconds(60)

    static let path = "/api/v1/ws"
    /// The subprotocol the server selects.
    static let subprotocol = "hdms.v1"
    /// The prefix of the subprotocol entry that carries the access token.
    static let bearerPrefix = "bearer."

    /// Credentials taken from the upgrade request.
    struct UpgradeAuth: Sendable {
        var token: String
        var lastId: UUID?
    }

    /// The server: HTTP/1.1 that upgrades requests for `path` to this socket.
    func server() -> HTTPServerBuilder {
        .http1WebSocketUpgrade(configuration: .init(ws: .init(maxFrameSize: 1 << 16))) { request, _, _ in
            let parts = (request.path ?? "").split(separator: "?", maxSplits: 1)
            guard parts.first.map(String.init) == Self.path else { return .dontUpgrade }
            let offered = request.headerFields[values: .secWebSocketProtocol]
                .flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
            var headers: HTTPFields = [:]
            if offered.contains(Self.subprotocol) { headers[.secWebSocketProtocol] = Self.subprotocol }
            let auth = offered.first { $0.hasPrefix(Self.bearerPrefix) }.map { entry in
                UpgradeAuth(token: String(entry.dropFirst(Self.bearerPrefix.count)), lastId: Self.lastID(query: parts.dropFirst().first))
            }
            return .upgrade(headers) { inbound, outbound, context in
                try await self.serve(inbound: inbound, outbound: outbound, upgradeAuth: auth, logger: context.logger)
            }
        }
    }

    /// `last_id` of the upgrade URL's query, if it is a UUID.
    private static func lastID(query: Substring?) -> UUID? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == "last_id" { return UUID(uuidString: String(parts[1])) }
        }
        return nil
    }

    /// Answers a plain (non-upgrade) `GET /api/v1/ws` with 426.
    func register(on router: Router<AppRequestContext>) {
        router.get("api/v1/ws") { _, _ -> Response in
            throw Problem(status: 426, kind: "upgrade-required", title: "Upgrade required", detail: "Connect with a WebSocket upgrade")
        }
    }

    private struct AuthFrame: Decodable {
        var type: String
        var token: String?
        var lastId: UUID?
    }

    private struct Reply: Encodable {
        var type: String
        var message: String?
    }

    /// An authenticated socket: its user and its mailbox in `sessions`.
    private struct Registration {
        var user: UUID
        var mailbox: LiveMailbox
    }

    /// Why the loop ends early: the error frame's text and the close reason.
    private struct Refusal: Error {
        var message: String
        var reason: String
    }

    /// Reads the client's frames in the connection's own task (no task of ours waits beside it):
    /// live frames reach the socket through its `LiveMailbox`, and an unauthenticated socket is
    /// closed by a timer that lives only until the authentication deadline.
    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, upgradeAuth: UpgradeAuth? = nil, logger: Logger) async throws {
        var registered: Registration?
        defer {
            if let registered {
                registered.mailbox.close()
                self.sessions.remove(user: registered.user, registered.mailbox)
            }
        }
        let authenticated = Mutex(false)
        let deadline = self.authTimeout
        let timer: Task<Void, Never>? = upgradeAuth != nil ? nil : Task {
            guard (try? await Task.sleep(for: deadline)) != nil, !authenticated.withLock({ $0 }) else { return }
            try? await self.refuse(Refusal(message: "No authentication within \(deadline)", reason: "unauthenticated"), outbound)
        }
        defer { timer?.cancel() }
        var window = (start: ContinuousClock.now, frames: 0)
        do {
            if let upgradeAuth {
                registered = try await self.authenticate(upgradeAuth.token, lastID: upgradeAuth.lastId, outbound)
                authenticated.withLock { $0 = true }
            }
            for try await message in inbound.messages(maxSize: 1 << 16) {
                let now = ContinuousClock.now
                if now - window.start >= self.frameWindow { window = (now, 0) }
                window.frames += 1
                if window.frames > self.frameLimit {
                    throw Refusal(message: "More than \(self.frameLimit) frames in \(self.frameWindow)", reason: "too many frames")
                }
                guard registered == nil else { continue }
                guard case .text(let text) = message,
                      let frame = try? JSONDecoder.hdms.decode(AuthFrame.self, from: Data(text.utf8)), frame.type == "auth",
                      let token = frame.token
                else {
                    throw Refusal(message: "The first frame must be {\"type\":\"auth\",\"token\":...}", reason: "unauthenticated")
                }
                guard authenticated.withLock({ state in
                    defer { state = true }
                    return !state
                }) else { continue }
                registered = try await self.authenticate(token, lastID: frame.lastId, outbound)
            }
        } catch let refusal as Refusal {
            registered?.mailbox.close()
            try await self.refuse(refusal, outbound)
        }
        logger.debug("live socket closed")
    }

    /// Answers an error frame and closes the socket (1008).
    private func refuse(_ refusal: Refusal, _ outbound: WebSocketOutboundWriter) async throws {
        try await Self.send(Reply(type: "error", message: refusal.message), outbound)
        try await outbound.close(.policyViolation, reason: refusal.reason)
    }

    /// Verifies `token`, registers the socket, answers `ready` and replays the notifications after
    /// `lastID`, then lets live frames through; a token that is not a valid user token is a `Refusal`.
    private func authenticate(_ token: String, lastID: UUID?, _ outbound: WebSocketOutboundWriter) async throws -> Registration {
        let identity: Identity
        do {
            // Verified in a task of its own, awaited at once: the verification's deep call chain
            // would otherwise grow this socket's task allocator, which keeps its slabs for as long
            // as the socket lives (about 6 KB per socket).
            let (verifier, audience) = (self.verifier, self.audience)
            let claims = try await Task { try await verifier.verify(token, audience: audience) }.value
            identity = try Identity(claims: claims, token: token)
        } catch {
            throw Refusal(message: "The access token is invalid or expired", reason: "unauthenticated")
        }
        guard let user = identity.userID else { throw Refusal(message: "Sockets are for users", reason: "unauthenticated") }
        // Registered before the replay, so that nothing falls between the replay and live frames;
        // the mailbox holds them until the replay is written.
        let mailbox = LiveMailbox(outbound: outbound, isStaff: identity.isStaff)
        self.sessions.add(user: user, mailbox)
        do {
            var replayed: Set<UUID> = []
            try await Self.send(Reply(type: "ready"), outbound)
            if let lastID {
                let notifications = self.notifications
                // In a task of its own for the same reason as the verification.
                replayed = try await Task {
                    var sent: Set<UUID> = []
                    for item in try await notifications.after(lastID, user: user) {
                        sent.insert(item.id)
                        try await Self.send(LiveFrame(type: "notification", id: item.id, ticketId: item.ticketId, notification: item), outbound)
                    }
                    return sent
                }.value
            }
            mailbox.open(skipping: replayed)
        } catch {
            mailbox.close()
            self.sessions.remove(user: user, mailbox)
            throw error
        }
        return Registration(user: user, mailbox: mailbox)
    }

    private static func send(_ value: some Encodable, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(String(decoding: try JSONEncoder.hdms.encode(value), as: UTF8.self)))
    }
}
