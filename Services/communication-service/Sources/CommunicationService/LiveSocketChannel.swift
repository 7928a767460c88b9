import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// The service's connections: HTTP/1.1 for the API, or, when the first request upgrades to a
/// WebSocket on `LiveSocket.path`, a live socket.
///
/// A live socket is handed to a `LiveSocketHandler` on the connection's pipeline and needs no task
/// of its own: `handle` returns at once and the connection lives on in NIO. (An HTTP connection is
/// served by Hummingbird's HTTP handling as usual.) The upgrade is only possible as a connection's
/// first request; a later one reaches the router, which answers 426.
struct LiveSocketChannel: ServerChildChannel, HTTPChannelHandler {
    enum Negotiated: Sendable {
        /// Not an upgrade: HTTP requests for the router.
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade this service refused (wrong path or version): answered 400.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// A live socket, now run by its handler.
        case socket
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let socket: LiveSocket

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let attempted = NIOLoopBoundBox(false, eventLoop: channel.eventLoop)
            let socket = self.socket
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: LiveSocket.maxMessageBytes,
                enableAutomaticErrorHandling: true,
                shouldUpgrade: { channel, head in
                    attempted.value = true
                    return channel.eventLoop.makeSucceededFuture(socket.acceptedHeaders(head))
                },
                upgradePipelineHandler: { channel, head in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = LiveSocketHandler(socket: socket, upgradeAuth: LiveSocket.upgradeAuth(head), logger: logger)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return .socket
                    }
                }
            )
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration<Negotiated>(upgraders: [upgrader]) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                    try channel.pipeline.syncOperations.addHandler(HTTPConnectionStateHandler(logger: logger))
                    let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                        wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                    return attempted.value ? .refused(http) : .http(http)
                }
            }
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrades)
            // As Hummingbird's own HTTP channel: it pipelines, handles errors and validates headers itself.
            configuration.enablePipelining = false
            configuration.enableErrorHandling = false
            configuration.enableResponseHeaderValidation = false
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await self.handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http):
                try await http.executeThenClose { _, outbound in
                    let head = HTTPResponse(status: .badRequest, headerFields: [.connection: "close", .contentLength: "0"])
                    try await outbound.write(contentsOf: [.head(head), .end(nil)])
                }
            case .socket:
                break
            }
        } catch {
            logger.debug("connection ended during its first request", metadata: ["error": "\(error)"])
        }
    }
}
