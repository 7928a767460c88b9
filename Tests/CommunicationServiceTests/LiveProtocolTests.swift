import BaseModel
@testable import CommunicationService
import Foundation
import Glibc
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import NIOPosix
import Testing
import TestSupport

@Suite("Live socket protocol", .serialized)
struct LiveProtocolTests {
    /// `Sec-WebSocket-Protocol: hdms.v1, bearer.<token>` authenticates in the upgrade: the server
    /// selects `hdms.v1` (never echoing the token) and answers `ready` without an auth frame.
    @Test func theSubprotocolHeaderAuthenticatesAndOnlyHDMSv1IsEchoed() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let token = world.token("requestor")
            let (head, frame) = try await RawUpgrade.open(port: port, protocols: "hdms.v1, bearer.\(token)")
            let lines = head.lowercased().split(separator: "\r\n").map(String.init)
            #expect(lines.first?.hasPrefix("http/1.1 101") == true, "\(head)")
            #expect(lines.contains("sec-websocket-protocol: hdms.v1"), "\(head)")
            #expect(!head.contains(token))
            #expect(frame.contains(#""type":"ready""#), "\(frame)")

            let good = try await LiveClient.frames(
                port: port, token: nil, headers: [.secWebSocketProtocol: "hdms.v1, bearer.\(token)"]) { $0.contains { $0.type == "ready" } }
            #expect(good.frames.map(\.type) == ["ready"])
        }
    }

    /// A bad token in the subprotocol gets an error frame and a policy-violation close.
    @Test func aBadSubprotocolTokenIsRefused() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let forged = try await TestTokens().user(world.id("requestor"), roles: [.requestor])
            let bad = try await LiveClient.frames(
                port: port, token: nil, headers: [.secWebSocketProtocol: "hdms.v1, bearer.\(forged)"]) { $0.contains { $0.type == "error" } }
            #expect(bad.frames.map(\.type) == ["error"])
            #expect(bad.close?.closeCode == .policyViolation)
        }
    }

    /// Edits and deletes reach the participants' sockets as `message` frames with their `change`.
    @Test func editsAndDeletesArePushedLive() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let ticket = try await world.ticket()
            try await world.waitForSubscribers(1)
            let result = try await LiveClient.frames(port: port, token: world.token("requestor"), afterReady: {
                let message = try await world.posted("Reboot the rooter", ticket: ticket, as: "moderator")
                let path = "/api/v1/conversations/\(ticket.lowercased)/messages/\(message.id.lowercased)"
                let edited = try await world.client.json(.patch, path, token: world.token("moderator"), body: ["body": "Reboot the router"])
                #expect(edited.status == .ok)
                #expect(try await world.client.json(.delete, path, token: world.token("moderator")).status == .noContent)
            }) { frames in frames.filter { $0.type == "message" }.count >= 3 }
            let messages = result.frames.filter { $0.type == "message" }
            #expect(messages.map(\.change) == ["posted", "edited", "deleted"])
            #expect(Set(messages.map(\.id)).count == 1)
        }
    }

    /// Internal notes never reach a requestor's socket; a watcher's socket receives the ticket's public messages.
    @Test func internalNotesStayOffRequestorSocketsAndWatchersHearPublicMessages() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let ticket = try await world.ticket()
            let watch = try await world.tickets.json(
                .post, "/api/v1/tickets/\(ticket.lowercased)/watchers", token: world.token("requestor"),
                body: ["employee_id": world.id("head.hr")])
            #expect(watch.status == .noContent, "\(String(buffer: watch.body))")
            try await world.waitForSubscribers(1)
            let posted = Locked<[UUID]>([])
            let watcherReady = Locked(false)
            let watcher = Task {
                try await LiveClient.frames(port: port, token: world.token("head.hr"), afterReady: { watcherReady.withLock { $0 = true } }) { frames in
                    frames.contains { $0.type == "message" }
                }
            }
            for _ in 0..<200 where !watcherReady.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(50)) }
            let requestor = try await LiveClient.frames(port: port, token: world.token("requestor"), afterReady: {
                let note = try await world.posted("Suspect the requestor's laptop", ticket: ticket, as: "moderator", isInternal: true)
                let reply = try await world.posted("Looking into it", ticket: ticket, as: "moderator")
                posted.withLock { $0 = [note.id, reply.id] }
            }) { frames in frames.contains { $0.type == "message" } }
            let ids = posted.withLock { $0 }
            #expect(requestor.frames.filter { $0.type == "message" }.map(\.id) == [ids.last])
            let watched = try await watcher.value
            #expect(watched.frames.filter { $0.type == "message" }.map(\.id) == [ids.last])
        }
    }

    /// The server pings every `HDMS_WS_PING_SECONDS`: a client that answers stays connected, one that
    /// stops answering is dropped at the next ping.
    @Test func heartbeatsDropSocketsThatStopAnswering() async throws {
        try await CommWorld.run(setup: .live, extra: ["HDMS_WS_PING_SECONDS": "1"]) { world in
            let port = try #require(world.client.port)
            let protocols = "hdms.v1, bearer.\(world.token("requestor"))"
            async let answering = RawSocket.session(port: port, protocols: protocols, answerPings: true, for: .seconds(5))
            async let silent = RawSocket.session(port: port, protocols: protocols, answerPings: false, for: .seconds(5))
            let (alive, dead) = try await (answering, silent)
            #expect(alive.ready && dead.ready)
            #expect(alive.pings >= 3, "pinged \(alive.pings) times in 5 s")
            #expect(alive.dropped == nil, "a client that answers pings was dropped after \(String(describing: alive.dropped))")
            let dropped = try #require(dead.dropped, "a client that never answers was not dropped")
            #expect(dead.pings >= 1)
            #expect(dropped < .seconds(4), "dropped only after \(dropped)")
        }
    }

    /// Frames that break the protocol close the socket with the matching code: an unmasked frame
    /// (1002), a frame over 64 KiB (1009), a continuation with nothing to continue (1002). A plain
    /// GET of the socket's path is 426 and an upgrade of another path is 400.
    @Test func malformedFramesAndWrongUpgradesAreRefused() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let protocols = "hdms.v1, bearer.\(world.token("requestor"))"
            let length = 70_000
            let cases: [(name: String, frame: [UInt8], code: UInt16)] = [
                ("unmasked text", [0x81, 0x02] + Array("hi".utf8), 1002),
                ("oversized binary", [0x82, 0x80 | 127] + (0..<8).reversed().map { UInt8(truncatingIfNeeded: length >> ($0 * 8)) } + [0, 0, 0, 0]
                    + [UInt8](repeating: 0, count: 1_024), 1009),
                ("stray continuation", [0x80, 0x82, 0, 0, 0, 0] + Array("hi".utf8), 1002),
            ]
            for (name, frame, code) in cases {
                let session = try await RawSocket.session(port: port, protocols: protocols, sending: frame, for: .seconds(5))
                #expect(session.ready, "\(name)")
                #expect(session.closeCode == code, "\(name) closed with \(String(describing: session.closeCode))")
            }
            #expect(try await world.client.execute(uri: "/api/v1/ws", method: .get, headers: [:], body: nil).status.code == 426)
            let elsewhere = try await RawUpgrade.status(port: port, path: "/api/v1/notifications", protocols: protocols)
            #expect(elsewhere == 400)
        }
    }

    /// A server shutting down gracefully closes its sockets with 1001 (going away), so their clients
    /// reconnect to another replica and the shutdown does not wait for them.
    @Test func shuttingDownClosesSocketsWithGoingAway() async throws {
        let session = Locked<Task<RawSocket.Session, any Error>?>(nil)
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let protocols = "hdms.v1, bearer.\(world.token("requestor"))"
            session.withLock { $0 = Task { try await RawSocket.session(port: port, protocols: protocols, for: .seconds(30)) } }
            try await Task.sleep(for: .seconds(1))
        }
        let result = try await #require(session.withLock { $0 }).value
        #expect(result.ready)
        #expect(result.closeCode == 1001)
        #expect((result.dropped ?? .seconds(60)) < .seconds(15), "closed after \(String(describing: result.dropped))")
    }

    /// A socket that floods the server with frames gets an error frame and a policy-violation close.
    @Test func aFloodOfClientFramesClosesTheSocket() async throws {
        try await CommWorld.run(setup: .live, extra: ["HDMS_WS_FRAME_LIMIT": "5", "HDMS_WS_FRAME_WINDOW_SECONDS": "600"]) { world in
            let port = try #require(world.client.port)
            let result = try await LiveClient.frames(port: port, token: world.token("requestor"), flood: 20) { frames in
                frames.contains { $0.type == "error" }
            }
            #expect(result.frames.map(\.type) == ["ready", "error"])
            #expect(result.close?.closeCode == .policyViolation)
        }
    }
}

/// A WebSocket client written by hand on a blocking socket (in a thread of its own), to control
/// exactly which frames it answers.
enum RawSocket {
    struct Session: Sendable {
        var ready = false
        var pings = 0
        /// When the server sent its close frame or ended the connection, after the upgrade.
        var dropped: Duration?
        /// The status code of the server's close frame.
        var closeCode: UInt16?
    }

    /// Upgrades with `protocols` (which must authenticate), sends `frame` (raw bytes) once `ready`
    /// arrives, then reads frames `for` a while, answering pings with (masked) pongs when `answerPings`.
    static func session(
        port: Int, protocols: String, answerPings: Bool = true, sending frame: [UInt8]? = nil, for duration: Duration
    ) async throws -> Session {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    try Self.run(port: port, protocols: protocols, answerPings: answerPings, frame: frame, duration: duration)
                })
            }
        }
    }

    private static func run(port: Int, protocols: String, answerPings: Bool, frame: [UInt8]?, duration: Duration) throws -> Session {
        guard let fd = LoopbackSocket.connect(port: port, timeout: .milliseconds(200)) else { throw Problem.unavailable("cannot connect to port \(port)") }
        defer { close(fd) }
        LoopbackSocket.send(fd, RawUpgrade.request(port: port, protocols: protocols))
        let clock = ContinuousClock()
        let start = clock.now
        var session = Session()
        var received: [UInt8] = []
        var upgraded = false
        var buffer = [UInt8](repeating: 0, count: 4096)
        while clock.now - start < duration {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count == 0 {
                if upgraded { session.dropped = clock.now - start }
                break
            }
            if count > 0 { received += buffer[..<count] }
            if !upgraded {
                guard let end = received.indices.dropLast(3).first(where: { received[$0..<($0 + 4)] == [13, 10, 13, 10] }) else { continue }
                guard String(decoding: received[..<end], as: UTF8.self).hasPrefix("HTTP/1.1 101") else { throw Problem.unavailable("upgrade refused") }
                received.removeFirst(end + 4)
                upgraded = true
            }
            // Server frames are unmasked; these are all shorter than 126 bytes.
            while received.count >= 2, received.count >= 2 + Int(received[1] & 0x7F) {
                let opcode = received[0] & 0x0F, length = Int(received[1] & 0x7F)
                let payload = Array(received[2..<(2 + length)])
                received.removeFirst(2 + length)
                switch opcode {
                case 0x1 where String(decoding: payload, as: UTF8.self).contains("\"ready\""):
                    session.ready = true
                    if let frame { LoopbackSocket.send(fd, frame) }
                case 0x9:
                    session.pings += 1
                    if answerPings {
                        // FIN + pong, masked with a zero key, echoing the ping's payload.
                        LoopbackSocket.send(fd, [0x8A, 0x80 | UInt8(payload.count), 0, 0, 0, 0] + payload)
                    }
                case 0x8:
                    if session.dropped == nil { session.dropped = clock.now - start }
                    if payload.count >= 2 { session.closeCode = UInt16(payload[0]) << 8 | UInt16(payload[1]) }
                default:
                    break
                }
            }
            if session.dropped != nil { break }
        }
        return session
    }
}

/// A WebSocket upgrade done by hand, to read the server's handshake answer as it is on the wire.
enum RawUpgrade {
    /// The upgrade request for `path` (the socket's by default) with `protocols` as `Sec-WebSocket-Protocol`.
    static func request(port: Int, path: String = "/api/v1/ws", protocols: String) -> [UInt8] {
        Array(("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: \(protocols)\r\n\r\n").utf8)
    }

    /// The status code the server answers an upgrade of `path` with.
    static func status(port: Int, path: String, protocols: String) async throws -> Int {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    guard let fd = LoopbackSocket.connect(port: port, timeout: .seconds(10)) else { throw Problem.unavailable("cannot connect") }
                    defer { close(fd) }
                    LoopbackSocket.send(fd, Self.request(port: port, path: path, protocols: protocols))
                    var buffer = [UInt8](repeating: 0, count: 1024)
                    let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    let line = String(decoding: buffer[..<max(count, 0)], as: UTF8.self).split(separator: " ")
                    guard line.count >= 2, let status = Int(line[1]) else { throw Problem.unavailable("no HTTP answer") }
                    return status
                })
            }
        }
    }

    /// Sends the upgrade with `protocols` as `Sec-WebSocket-Protocol`; returns the response head and the first frame's text.
    static func open(port: Int, protocols: String) async throws -> (head: String, frame: String) {
        try await NIOThreadPool.singleton.runIfActive {
            guard let fd = LoopbackSocket.connect(port: port, timeout: .seconds(10)) else { throw Problem.unavailable("cannot connect to port \(port)") }
            defer { close(fd) }
            LoopbackSocket.send(fd, Self.request(port: port, protocols: protocols))
            var received: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            func frameIfComplete() -> (String, String)? {
                guard let end = received.indices.dropLast(3).first(where: { received[$0..<($0 + 4)] == [13, 10, 13, 10] }) else { return nil }
                let head = String(decoding: received[..<end], as: UTF8.self)
                let body = Array(received[(end + 4)...])
                guard body.count >= 2 else { return nil }
                let length = Int(body[1] & 0x7F)
                guard length < 126, body.count >= 2 + length else { return nil }
                return (head, String(decoding: body[2..<(2 + length)], as: UTF8.self))
            }
            while frameIfComplete() == nil {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                guard count > 0 else { throw Problem.unavailable("the server closed before its first frame: \(String(decoding: received, as: UTF8.self))") }
                received += buffer[..<count]
            }
            guard let result = frameIfComplete() else { throw Problem.unavailable("no frame") }
            return result
        }
    }
}
