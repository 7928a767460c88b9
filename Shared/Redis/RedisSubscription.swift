import Logging
import NIOPosix
import Synchronization

/// A message received on a Pub/Sub channel.
public struct PubSubMessage: Sendable, Equatable {
    /// The channel it was published on.
    public var channel: String
    /// The pattern that matched, for pattern subscriptions.
    public var pattern: String?
    public var payload: [UInt8]
}

extension RedisClient {
    /// Subscribes to channels and patterns on a connection of its own, served by a thread of its own.
    ///
    /// The stream goes on across Redis restarts: the subscriber reconnects with back-off and
    /// subscribes again (messages published while it was away are lost, as Pub/Sub always does;
    /// durable delivery uses Streams). Cancelling the consuming task ends it within ~250 ms.
    public func subscribe(channels: [String] = [], patterns: [String] = []) -> AsyncStream<PubSubMessage> {
        let configuration = self.configuration
        let logger = self.logger
        let (stream, continuation) = AsyncStream.makeStream(of: PubSubMessage.self, bufferingPolicy: .bufferingNewest(10_000))
        let thread = NIOThreadPool(numberOfThreads: 1)
        thread.start()
        let box = StopFlag()
        continuation.onTermination = { _ in box.stop() }
        thread.submit { _ in
            var backoffMillis: UInt32 = 50
            while !box.isStopped {
                do {
                    let connection = try RedisConnection(
                        host: configuration.host, port: configuration.port, timeoutMillis: configuration.timeoutMillis
                    )
                    if !channels.isEmpty { try connection.append([Array("SUBSCRIBE".utf8)] + channels.map { Array($0.utf8) }) }
                    if !patterns.isEmpty { try connection.append([Array("PSUBSCRIBE".utf8)] + patterns.map { Array($0.utf8) }) }
                    try connection.flush()
                    backoffMillis = 50
                    while !box.isStopped {
                        while let reply = try connection.bufferedReply() {
                            if let message = PubSubMessage(reply) { continuation.yield(message) }
                        }
                        _ = try connection.waitAndRead(timeoutMillis: 250)
                    }
                } catch {
                    logger.warning("redis subscriber disconnected, retrying", metadata: ["error": "\(error)"])
                    usleep(backoffMillis * 1000)
                    backoffMillis = min(backoffMillis * 2, 2_000)
                }
            }
            continuation.finish()
            thread.shutdownGracefully { _ in }
        }
        return stream
    }
}

/// Set by the stream's termination handler, read by the subscriber thread.
private final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isStopped: Bool { self.flag.load(ordering: .acquiring) }
    func stop() { self.flag.store(true, ordering: .releasing) }
}

extension PubSubMessage {
    init?(_ reply: RESPValue) {
        let parts = reply.array
        switch parts.first?.string {
        case "message" where parts.count == 3:
            guard let channel = parts[1].string, case .bulk(let payload) = parts[2] else { return nil }
            self.init(channel: channel, pattern: nil, payload: payload)
        case "pmessage" where parts.count == 4:
            guard let pattern = parts[1].string, let channel = parts[2].string, case .bulk(let payload) = parts[3] else { return nil }
            self.init(channel: channel, pattern: pattern, payload: payload)
        default:
            return nil
        }
    }
}
