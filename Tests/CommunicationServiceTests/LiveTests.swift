import BaseModel
@testable import CommunicationService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import HummingbirdWSClient
import Logging
import Redis
import ServiceKit
import Synchronization
import Testing
import TestSupport

@Suite("Live sockets", .serialized)
struct LiveTests {
    /// A valid token is answered `ready`; a bad one gets an error frame and a policy-violation close.
    @Test func theFirstFrameAuthenticatesTheSocket() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let good = try await LiveClient.frames(port: port, token: world.token("requestor")) { $0.contains { $0.type == "ready" } }
            #expect(good.frames.map(\.type) == ["ready"])
            let bad = try await LiveClient.frames(port: port, token: "not-a-token") { $0.contains { $0.type == "error" } }
            #expect(bad.frames.map(\.type) == ["error"])
            #expect(bad.close?.closeCode == .policyViolation)
        }
    }

    /// A socket that never authenticates is sent an error and closed once the deadline passes.
    @Test func unauthenticatedSocketsAreClosedAfterTheDeadline() async throws {
        try await CommWorld.run(setup: .live, extra: ["HDMS_WS_AUTH_TIMEOUT_SECONDS": "1"]) { world in
            let port = try #require(world.client.port)
            let started = ContinuousClock.now
            let result = try await LiveClient.frames(port: port, token: nil) { $0.contains { $0.type == "error" } }
            #expect(result.frames.map(\.type) == ["error"])
            #expect(result.close?.closeCode == .policyViolation)
            #expect(ContinuousClock.now - started >= .milliseconds(900))
        }
    }

    /// A message posted through instance A arrives on a socket connected to instance B (same database and Redis prefix).
    @Test func aMessagePostedOnOneReplicaReachesASocketOnAnother() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let replicaB = try await ServiceHarness.build(
                try CommunicationServiceApp.definition(), database: world.environment["HDMS_DB_NAME"], extra: world.environment)
            try await replicaB.application.test(.live) { clientB in
                let port = try #require(clientB.port)
                try await world.waitForSubscribers(2)
                let posted = Locked<UUID?>(nil)
                let result = try await LiveClient.frames(port: port, token: world.token("requestor"), afterReady: {
                    let message = try await world.posted("Hello from replica A", ticket: ticket, as: "moderator")
                    posted.withLock { $0 = message.id }
                }) { frames in frames.contains { $0.type == "message" } }
                let message = try #require(result.frames.first { $0.type == "message" })
                #expect(message.id == posted.withLock { $0 })
                #expect(message.ticketId == ticket)
            }
        }
    }

    /// Reconnecting with `last_id` replays exactly the notifications created while the socket was away, in order.
    @Test func reconnectingWithLastIDReplaysExactlyTheMissedNotifications() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            let ticket = try await world.ticket()
            try await world.waitForSubscribers(1)
            let first = try await LiveClient.frames(port: port, token: world.token("requestor"), afterReady: {
                _ = try await world.posted("first", ticket: ticket, as: "moderator")
            }) { frames in frames.contains { $0.type == "notification" } }
            let seen = try #require(first.frames.first { $0.type == "notification" }?.id)

            _ = try await world.posted("second", ticket: ticket, as: "moderator")
            _ = try await world.posted("third", ticket: ticket, as: "moderator")
            let stored = try await world.notifications(of: "requestor", count: 3)
            let missed = Array(stored.reversed().map(\.id).drop { $0 != seen }.dropFirst())
            #expect(missed.count == 2)

            let again = try await LiveClient.frames(port: port, token: world.token("requestor"), lastID: seen) { frames in
                frames.filter { $0.type == "notification" }.count >= 2
            }
            #expect(again.frames.map(\.type) == ["ready", "notification", "notification"])
            #expect(again.frames.filter { $0.type == "notification" }.map(\.id) == missed)
        }
    }

    /// A ticket event reaches the sockets of the people it involves as a `ticket` frame, even a
    /// requestor who muted that kind of notification (open ticket pages refresh from it).
    @Test func ticketEventsReachInvolvedSocketsAsTicketFrames() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            try await world.waitForSubscribers(1)
            let muted = try await world.client.json(
                .put, "/api/v1/notification-preferences", token: world.token("requestor"), body: ["muted_kinds": ["ticket.status_changed"]])
            #expect(muted.status == .ok)
            let consumer = world.consumer()
            let ticket = UUID()
            let event = EventEnvelope(
                type: .ticketStatusChanged, actorId: world.id("agent"), subject: .init(kind: "ticket", id: ticket.lowercased),
                data: .object([
                    "ticket_id": .string(ticket.lowercased), "status": .string("resolved"), "requestor_id": .string(world.id("requestor").lowercased),
                    "assignee_id": .string(world.id("agent").lowercased),
                ]))
            let result = try await LiveClient.frames(port: port, token: world.token("requestor"), afterReady: {
                try await consumer.process([StreamEntry(stream: "test", id: "0-1", fields: ["event": Array(JSONEncoder.hdms.encode(event))])])
            }) { frames in frames.contains { $0.type == "ticket" } }
            let frame = try #require(result.frames.first { $0.type == "ticket" })
            #expect(frame.ticketId == ticket)
            #expect(frame.id == event.id)
            #expect(!result.frames.contains { $0.type == "notification" })
        }
    }

    /// Losing HDMS access (`employee.access_changed` with `has_access: false`) closes that user's sockets.
    @Test func revokedAccessClosesTheUsersSockets() async throws {
        try await CommWorld.run(setup: .live) { world in
            let port = try #require(world.client.port)
            try await world.waitForSubscribers(1)
            let consumer = world.consumer()
            let requestor = world.id("requestor")
            let result = try await LiveClient.frames(port: port, token: world.token("requestor"), afterReady: {
                let event = EventEnvelope(
                    type: .employeeAccessChanged, actorId: world.id("admin"), subject: .init(kind: "employee", id: requestor.lowercased),
                    data: .object(["employee_id": .string(requestor.lowercased), "has_access": .bool(false)]))
                try await consumer.process([StreamEntry(stream: "test", id: "0-1", fields: ["event": Array(JSONEncoder.hdms.encode(event))])])
            }) { frames in frames.contains { $0.type == "error" } }
            #expect(result.frames.map(\.type) == ["ready", "error"])
            #expect(result.close?.closeCode == .policyViolation)
        }
    }
}

/// One frame a socket received.
struct ReceivedFrame: Decodable, Sendable {
    var type: String
    var id: UUID?
    var ticketId: UUID?
    var change: String?
}

/// A test WebSocket client of `/api/v1/ws`.
enum LiveClient {
    struct Result: Sendable {
        var frames: [ReceivedFrame]
        var close: WebSocketCloseFrame?
    }

    /// Connects, sends the auth frame (unless `token` is nil), runs `afterReady` once `ready` arrives,
    /// and collects frames until `until` holds, the server closes, or `timeout` passes.
    ///
    /// `headers` go with the upgrade request (`Sec-WebSocket-Protocol`); `flood` text frames are
    /// sent as soon as `ready` arrives.
    static func frames(
        port: Int, token: String?, lastID: UUID? = nil, headers: HTTPFields = [:], flood: Int = 0, timeout: Duration = .seconds(15),
        afterReady: @escaping @Sendable () async throws -> Void = {}, until: @escaping @Sendable ([ReceivedFrame]) -> Bool
    ) async throws -> Result {
        let collected = Locked<[ReceivedFrame]>([])
        let logger = Logger(label: "ws-test")
        let close = try await withThrowingTaskGroup(of: WebSocketCloseFrame?.self) { group in
            group.addTask {
                let configuration = WebSocketClientConfiguration(additionalHeaders: headers)
                return try await WebSocketClient.connect(
                    url: "ws://127.0.0.1:\(port)/api/v1/ws", configuration: configuration, logger: logger
                ) { inbound, outbound, _ in
                    if let token {
                        var auth: [String: String] = ["type": "auth", "token": token]
                        if let lastID { auth["last_id"] = lastID.lowercased }
                        try await outbound.write(.text(String(decoding: try JSONEncoder().encode(auth), as: UTF8.self)))
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message else { continue }
                        let frame = try JSONDecoder.hdms.decode(ReceivedFrame.self, from: Data(text.utf8))
                        let frames = collected.withLock { $0.append(frame); return $0 }
                        if frame.type == "ready" {
                            for index in 0..<flood { try await outbound.write(.text(#"{"type":"ping","n":\#(index)}"#)) }
                            try await afterReady()
                        }
                        // After an error frame the server closes: wait for its close frame rather than
                        // racing it with the client's own.
                        if until(frames) && frame.type != "error" { break }
                    }
                    try? await outbound.close(.normalClosure, reason: nil)
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Problem.unavailable("socket test timed out with \(collected.withLock { $0.map(\.type) })")
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        return Result(frames: collected.withLock { $0 }, close: close)
    }
}

extension CommWorld {
    /// Waits until `count` replicas subscribe to this world's live channels (PUBLISH counts pattern subscribers).
    func waitForSubscribers(_ count: Int) async throws {
        let channel = self.service.context.configuration.liveChannel(user: UUID())
        for _ in 0..<100 {
            if try await self.service.context.redis.publish(channel, Array("{}".utf8)) >= count { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw Problem.unavailable("live subscribers did not appear")
    }

    /// `user`'s notifications once there are `count` of them (newest first).
    func notifications(of user: String, count: Int) async throws -> [NotificationItem] {
        var items: [NotificationItem] = []
        for _ in 0..<100 {
            items = try await self.get("/api/v1/notifications", as: user).decode(NotificationPage.self).items
            if items.count >= count { return items }
            try await Task.sleep(for: .milliseconds(100))
        }
        return items
    }
}

/// A value shared between a test and the tasks it starts.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { self.mutex = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { self.mutex.withLock { body(&$0) } }
}
