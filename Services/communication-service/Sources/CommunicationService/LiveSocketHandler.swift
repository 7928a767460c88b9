import BaseModel
import Foundation
import HDMSProtocol
import Logging
import NIOCore
import NIOWebSocket
import ServiceKit

/// One live socket, run on its connection's event loop (`LiveSocket` describes the protocol).
///
/// Nothing waits on an idle socket: client frames arrive as `channelRead`, live frames as
/// `deliver` calls hopped onto the loop, and the authentication deadline and the heartbeat are
/// timers of the loop. Only the token check and the replay, which await other services, run in
/// short tasks whose results come back to the loop.
final class LiveSocketHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private enum State {
        /// Waiting for the auth frame (or the upgrade's token to be checked).
        case unauthenticated
        case authenticating
        /// Registered in `sessions`; live frames wait in `waiting` while `held` (until the replay is written).
        case open(user: UUID, isStaff: Bool)
        /// A close frame was sent; the connection ends when the client answers or a timeout passes.
        case closing
        case closed
    }

    /// At most this many live frames wait for a socket that cannot take them (a slow client);
    /// older ones are dropped first (notifications replay after a reconnect, messages are in the thread).
    static let maxWaitingFrames = 1_000

    private let socket: LiveSocket
    private let upgradeAuth: LiveSocket.UpgradeAuth?
    private let logger: Logger
    private var state = State.unauthenticated
    private var context: ChannelHandlerContext?
    /// The user and mailbox this socket is registered under in `sessions`.
    private var registration: (user: UUID, mailbox: LiveMailbox)?
    /// Live frames not written yet: held until the replay is done, or while the socket is full.
    private var waiting: [LiveEvent] = []
    private var held = true
    private var replayed: Set<UUID> = []
    private var window = (start: NIODeadline.now(), frames: 0)
    /// A message the client sends in fragments.
    private var fragments: ByteBuffer?
    private var authDeadline: Scheduled<Void>?
    private var heartbeat: RepeatedTask?
    private var awaitingPong = false

    /// A close frame went out, or the connection is gone.
    private var isClosing: Bool {
        switch self.state {
        case .closing, .closed: true
        default: false
        }
    }

    init(socket: LiveSocket, upgradeAuth: LiveSocket.UpgradeAuth?, logger: Logger) {
        self.socket = socket
        self.upgradeAuth = upgradeAuth
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        self.heartbeat = loop.scheduleRepeatedTask(initialDelay: .init(self.socket.pingInterval), delay: .init(self.socket.pingInterval)) { _ in
            bound.value.beat()
        }
        if let auth = self.upgradeAuth {
            self.authenticate(auth.token, lastID: auth.lastId)
        } else {
            let deadline = self.socket.authTimeout
            self.authDeadline = loop.scheduleTask(in: .init(deadline)) {
                guard case .unauthenticated = bound.value.state else { return }
                bound.value.refuse("No authentication within \(deadline)", reason: "unauthenticated")
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.finish()
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.logger.debug("live socket error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }

    /// The server is shutting down gracefully: the socket says so (1001), and the client reconnects
    /// to another replica. The server waits for its connections to close.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is ChannelShouldQuiesceEvent {
            self.close(code: .goingAway, reason: "server shutting down")
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { self.writeWaiting() }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Client frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = self.unwrapInboundIn(data)
        // Clients mask every frame (RFC 6455 5.1).
        guard frame.maskKey != nil else { return self.close(code: .protocolError, reason: "unmasked frame") }
        switch frame.opcode {
        case .connectionClose:
            if self.isClosing {
                context.close(promise: nil)
            } else {
                // Answer with the client's own status code, then end the connection.
                var data = frame.unmaskedData
                let code = data.readInteger(as: UInt16.self).map { WebSocketErrorCode(codeNumber: Int($0)) } ?? .normalClosure
                self.state = .closing
                let channel = context.channel
                self.sendClose(code, reason: nil, context).whenComplete { _ in channel.close(promise: nil) }
            }
        case .ping:
            guard frame.fin else { return self.close(code: .protocolError, reason: "fragmented ping") }
            context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .pong, data: frame.unmaskedData)), promise: nil)
        case .pong:
            self.awaitingPong = false
        case .text, .binary, .continuation:
            self.received(frame)
        default:
            self.close(code: .protocolError, reason: "unknown opcode")
        }
    }

    /// A data frame: counted against the flood limit, then put together into a message.
    private func received(_ frame: WebSocketFrame) {
        let now = NIODeadline.now()
        if now - self.window.start >= .init(self.socket.frameWindow) { self.window = (now, 0) }
        self.window.frames += 1
        if self.window.frames > self.socket.frameLimit {
            return self.refuse("More than \(self.socket.frameLimit) frames in \(self.socket.frameWindow)", reason: "too many frames")
        }
        var data = frame.unmaskedData
        if frame.opcode == .continuation {
            guard var message = self.fragments else { return self.close(code: .protocolError, reason: "unexpected continuation") }
            guard message.readableBytes + data.readableBytes <= LiveSocket.maxMessageBytes else {
                return self.close(code: .messageTooLarge, reason: "message too large")
            }
            message.writeBuffer(&data)
            self.fragments = message
        } else {
            guard self.fragments == nil else { return self.close(code: .protocolError, reason: "expected a continuation") }
            // A binary message is never an auth frame; it is read as empty text.
            self.fragments = frame.opcode == .text ? data : ByteBuffer()
        }
        guard frame.fin, let message = self.fragments else { return }
        self.fragments = nil
        self.message(String(buffer: message))
    }

    private struct AuthFrame: Decodable {
        var type: String
        var token: String?
        var lastId: UUID?
    }

    /// A whole client message: the auth frame while unauthenticated, otherwise ignored.
    private func message(_ text: String) {
        guard case .unauthenticated = self.state else { return }
        guard let frame = try? JSONDecoder.hdms.decode(AuthFrame.self, from: Data(text.utf8)), frame.type == "auth", let token = frame.token else {
            return self.refuse(#"The first frame must be {"type":"auth","token":...}"#, reason: "unauthenticated")
        }
        self.authenticate(token, lastID: frame.lastId)
    }

    // MARK: Authentication and replay

    /// Checks the token in a task; back on the loop, registers the socket, answers `ready` and
    /// replays the notifications after `lastID` before letting live frames through.
    private func authenticate(_ token: String, lastID: UUID?) {
        guard let loop = self.context?.eventLoop else { return }
        self.state = .authenticating
        let bound = NIOLoopBound(self, eventLoop: loop)
        let socket = self.socket
        Task {
            let identity = await socket.identity(token)
            loop.execute { bound.value.authenticated(identity, lastID: lastID) }
        }
    }

    private func authenticated(_ identity: Identity?, lastID: UUID?) {
        guard case .authenticating = self.state, let context = self.context else { return }
        guard let identity, let user = identity.userID else {
            self.state = .unauthenticated
            return self.refuse("The access token is invalid or expired", reason: "unauthenticated")
        }
        self.authDeadline?.cancel()
        self.state = .open(user: user, isStaff: identity.isStaff)
        // Registered before the replay, so that nothing falls between the replay and live frames.
        let mailbox = LiveMailbox(NIOLoopBound(self, eventLoop: context.eventLoop))
        self.registration = (user, mailbox)
        self.socket.sessions.add(user: user, mailbox)
        self.send(#"{"type":"ready"}"#)
        guard let lastID else { return self.release() }
        let (notifications, loop) = (self.socket.notifications, context.eventLoop)
        let bound = NIOLoopBound(self, eventLoop: loop)
        Task {
            do {
                let missed = try await notifications.after(lastID, user: user)
                let frames = try missed.map { item in
                    (item.id, String(decoding: try JSONEncoder.hdms.encode(
                        LiveFrame(type: "notification", id: item.id, ticketId: item.ticketId, notification: item)), as: UTF8.self))
                }
                loop.execute { bound.value.replay(frames) }
            } catch {
                loop.execute { bound.value.close(code: .unexpectedServerError, reason: "replay failed") }
            }
        }
    }

    private func replay(_ frames: [(id: UUID, text: String)]) {
        guard case .open = self.state else { return }
        for frame in frames {
            self.replayed.insert(frame.id)
            self.send(frame.text)
        }
        self.release()
    }

    /// Lets live frames through.
    private func release() {
        self.held = false
        self.writeWaiting()
    }

    // MARK: Live frames

    /// A live event for this socket's user (on the loop).
    func deliver(_ event: LiveEvent) {
        guard case .open(_, let isStaff) = self.state else { return }
        switch event {
        case .revoked:
            // At once, ahead of whatever still waits.
            return self.refuse("HDMS access was revoked", reason: "access revoked")
        case .frame(_, _, let staffOnly, _):
            if staffOnly && !isStaff { return }
        }
        if self.waiting.count >= Self.maxWaitingFrames { self.waiting.removeFirst() }
        self.waiting.append(event)
        self.writeWaiting()
    }

    /// Writes waiting frames while the socket takes them.
    private func writeWaiting() {
        guard !self.held, let context = self.context else { return }
        while !self.waiting.isEmpty, context.channel.isWritable {
            guard case .open = self.state else { return self.waiting.removeAll() }
            switch self.waiting.removeFirst() {
            case .frame(let type, let id, _, let text):
                if type == "notification" && self.replayed.contains(id) { continue }
                self.send(text)
            case .revoked:
                self.refuse("HDMS access was revoked", reason: "access revoked")
            }
        }
    }

    // MARK: Heartbeat and closing

    /// Pings, or drops a socket whose client did not answer the previous ping.
    private func beat() {
        guard let context = self.context, !self.isClosing else { return }
        if self.awaitingPong {
            self.logger.debug("live socket dropped: no pong")
            return self.close(code: .goingAway, reason: "ping timeout")
        }
        self.awaitingPong = true
        context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())), promise: nil)
    }

    private func send(_ text: String) {
        guard let context = self.context else { return }
        let frame = WebSocketFrame(fin: true, opcode: .text, data: context.channel.allocator.buffer(string: text))
        context.writeAndFlush(self.wrapOutboundOut(frame), promise: nil)
    }

    /// An error frame, then a close (1008).
    private func refuse(_ message: String, reason: String) {
        guard let text = try? JSONEncoder.hdms.encode(["type": "error", "message": message]) else { return }
        self.send(String(decoding: text, as: UTF8.self))
        self.close(code: .policyViolation, reason: reason)
    }

    /// Sends a close frame; the connection ends when the client answers, or after two seconds.
    private func close(code: WebSocketErrorCode, reason: String?) {
        guard let context = self.context, !self.isClosing else { return }
        self.state = .closing
        self.unregister()
        _ = self.sendClose(code, reason: reason, context)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    private func sendClose(_ code: WebSocketErrorCode, reason: String?, _ context: ChannelHandlerContext) -> EventLoopFuture<Void> {
        var data = context.channel.allocator.buffer(capacity: 2 + (reason?.utf8.count ?? 0))
        data.write(webSocketErrorCode: code)
        if let reason { data.writeString(reason) }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(self.wrapOutboundOut(WebSocketFrame(fin: true, opcode: .connectionClose, data: data)), promise: promise)
        return promise.futureResult
    }

    private func unregister() {
        if let (user, mailbox) = self.registration { self.socket.sessions.remove(user: user, mailbox) }
        self.registration = nil
        self.waiting.removeAll()
    }

    /// The connection is gone: leave the sessions and stop the timers.
    private func finish() {
        self.unregister()
        self.state = .closed
        self.authDeadline?.cancel()
        self.heartbeat?.cancel()
        self.heartbeat = nil
    }
}
