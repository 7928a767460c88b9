import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdCore
import HummingbirdWebSocket
import Logging
import ServiceKit

/// `GET /api/v1/ws`: one client's live socket.
///
/// The first frame must be `{"type":"auth","token":...,"last_id"?}` within `authTimeout`; it is
/// answered `{"type":"ready"}` (or an error frame and a close). The socket is registered before the
/// replay of notifications after `last_id`, so nothing falls between the replay and live frames,
/// and a live frame the replay already sent is skipped.
struct LiveSocket: Sendable {
    let sessions: LiveSessions
    let verifier: TokenVerifier
    let notifications: NotificationRepository
    let audience: String
    var authTimeout: Duration = .seconds(10)

    static let path = "/api/v1/ws"

    /// The server: HTTP/1.1 that upgrades requests for `path` to this socket.
    func server() -> HTTPServerBuilder {
        .http1WebSocketUpgrade(configuration: .init(maxFrameSize: 1 << 16)) { request, _, _ in
            guard request.path?.split(separator: "?").first.map(String.init) == Self.path else { return .dontUpgrade }
            return .upgrade([:]) { inbound, outbound, context in
                try await self.serve(inbound: inbound, outbound: outbound, logger: context.logger)
            }
        }
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

    func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter, logger: Logger) async throws {
        let (events, continuation) = AsyncStream.makeStream(of: SocketEvent.self, bufferingPolicy: .bufferingNewest(1_000))
        var registered: (user: UUID, handle: UUID)?
        defer { if let registered { self.sessions.remove(user: registered.user, handle: registered.handle) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for try await message in inbound.messages(maxSize: 1 << 16) {
                    if case .text(let text) = message { continuation.yield(.incoming(text)) }
                }
                continuation.yield(.clientClosed)
            }
            let deadline = self.authTimeout
            group.addTask {
                try? await Task.sleep(for: deadline)
                continuation.yield(.authDeadline)
            }
            var replayed: Set<UUID> = []
            loop: for await event in events {
                switch event {
                case .incoming(let text):
                    guard registered == nil else { continue }
                    guard let frame = try? JSONDecoder.hdms.decode(AuthFrame.self, from: Data(text.utf8)), frame.type == "auth",
                          let token = frame.token
                    else {
                        try await self.refuse(outbound, "The first frame must be {\"type\":\"auth\",\"token\":...}")
                        break loop
                    }
                    let user: UUID
                    do {
                        let claims = try await self.verifier.verify(token, audience: self.audience)
                        guard let id = try Identity(claims: claims, token: token).userID else { throw Problem.forbidden("Sockets are for users") }
                        user = id
                    } catch {
                        try await self.refuse(outbound, "The access token is invalid or expired")
                        break loop
                    }
                    registered = (user, self.sessions.add(user: user, continuation))
                    try await self.send(Reply(type: "ready"), outbound)
                    if let last = frame.lastId {
                        for item in try await self.notifications.after(last, user: user) {
                            replayed.insert(item.id)
                            try await self.send(LiveFrame(type: "notification", id: item.id, ticketId: item.ticketId, notification: item), outbound)
                        }
                    }
                case .authDeadline:
                    if registered == nil {
                        try await self.refuse(outbound, "No authentication within \(deadline)")
                        break loop
                    }
                case .frame(let type, let id, let text):
                    if type == "notification" && replayed.contains(id) { continue }
                    try await outbound.write(.text(text))
                case .revoked:
                    try await self.send(Reply(type: "error", message: "HDMS access was revoked"), outbound)
                    try await outbound.close(.policyViolation, reason: "access revoked")
                    break loop
                case .clientClosed:
                    break loop
                }
            }
            continuation.finish()
            group.cancelAll()
        }
        logger.debug("live socket closed")
    }

    private func refuse(_ outbound: WebSocketOutboundWriter, _ message: String) async throws {
        try await self.send(Reply(type: "error", message: message), outbound)
        try await outbound.close(.policyViolation, reason: "unauthenticated")
    }

    private func send(_ value: some Encodable, _ outbound: WebSocketOutboundWriter) async throws {
        try await outbound.write(.text(String(decoding: try JSONEncoder.hdms.encode(value), as: UTF8.self)))
    }
}
