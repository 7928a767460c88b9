import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdCore
import Logging
import NIOHTTP1
import ServiceKit

/// `GET /api/v1/ws`: the clients' live sockets (run by `LiveSocketHandler`, one per connection).
///
/// The client authenticates either with its first frame, `{"type":"auth","token":...,"last_id"?}`,
/// sent within `authTimeout`, or in the upgrade request itself with the subprotocols
/// `Sec-WebSocket-Protocol: hdms.v1, bearer.<access token>` (and `?last_id=` in the URL); the
/// server then selects `hdms.v1` (the token is never echoed). Either way it is answered
/// `{"type":"ready"}`, or an error frame and a close (1008). The socket is registered before the
/// replay of notifications after `last_id`, so nothing falls between the replay and live frames,
/// and a live frame the replay already sent is skipped. More than `frameLimit` client frames in
/// `frameWindow` is a flood: an error frame and a close (1008). Every `pingInterval` the server
/// pings; a socket that has not answered the previous ping is dropped.
struct LiveSocket: Sendable {
    let sessions: LiveSessions
    let verifier: TokenVerifier
    let notifications: NotificationRepository
    let audience: String
    var authTimeout: Duration = .seconds(10)
    var frameLimit = 60
    var frameWindow: Duration = .seconds(60)
    var pingInterval: Duration = .seconds(30)

    static let path = "/api/v1/ws"
    /// The subprotocol the server selects.
    static let subprotocol = "hdms.v1"
    /// The prefix of the subprotocol entry that carries the access token.
    static let bearerPrefix = "bearer."
    /// The largest client message (and frame) a socket accepts.
    static let maxMessageBytes = 1 << 16

    /// Credentials taken from the upgrade request.
    struct UpgradeAuth: Sendable {
        var token: String
        var lastId: UUID?
    }

    /// The server: HTTP/1.1 that upgrades requests for `path` to a live socket.
    func server() -> HTTPServerBuilder {
        HTTPServerBuilder { responder in LiveSocketChannel(responder: responder, socket: self) }
    }

    /// The headers of an accepted upgrade (`hdms.v1` when offered), or nil to refuse it.
    func acceptedHeaders(_ head: HTTPRequestHead) -> HTTPHeaders? {
        guard head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first == Substring(Self.path) else { return nil }
        var headers = HTTPHeaders()
        if Self.offeredProtocols(head).contains(Self.subprotocol) { headers.add(name: "Sec-WebSocket-Protocol", value: Self.subprotocol) }
        return headers
    }

    /// The access token of a `bearer.<token>` subprotocol entry, with `last_id` of the URL's query.
    static func upgradeAuth(_ head: HTTPRequestHead) -> UpgradeAuth? {
        guard let entry = Self.offeredProtocols(head).first(where: { $0.hasPrefix(Self.bearerPrefix) }) else { return nil }
        let query = head.uri.split(separator: "?", maxSplits: 1).dropFirst().first
        return UpgradeAuth(token: String(entry.dropFirst(Self.bearerPrefix.count)), lastId: Self.lastID(query: query))
    }

    private static func offeredProtocols(_ head: HTTPRequestHead) -> [String] {
        head.headers["Sec-WebSocket-Protocol"].flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
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

    /// Verifies a token for a socket: a user's identity, or nil when it is not a valid user token.
    func identity(_ token: String) async -> Identity? {
        guard let claims = try? await self.verifier.verify(token, audience: self.audience),
              let identity = try? Identity(claims: claims, token: token), identity.userID != nil
        else { return nil }
        return identity
    }
}
