import Logging
import NIOPosix
import Synchronization

/// An async Redis client on hiredis.
///
/// Commands run on a dedicated thread pool with pooled blocking connections, so no hiredis call ever
/// runs on a NIO event loop. A connection that fails is dropped and a new one is made on the next
/// call, so the client recovers by itself when Redis comes back.
public final class RedisClient: Sendable {
    /// Where the server is.
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// Connect and per-reply timeout.
        public var timeoutMillis: Int
        /// Connections kept idle for reuse.
        public var maxIdleConnections: Int

        public init(host: String, port: Int, timeoutMillis: Int = 5_000, maxIdleConnections: Int = 8) {
            self.host = host
            self.port = port
            self.timeoutMillis = timeoutMillis
            self.maxIdleConnections = maxIdleConnections
        }
    }

    /// Threads for blocking hiredis calls, shared by every client in the process.
    static let threadPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 16)
        pool.start()
        return pool
    }()

    public let configuration: Configuration
    let logger: Logger
    private let idle = Mutex<[RedisConnection]>([])

    public init(configuration: Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Runs one command. Arguments are binary-safe.
    @discardableResult
    public func send(_ arguments: [RedisArgument]) async throws -> RESPValue {
        let bytes = arguments.map(\.bytes)
        let (connection, reused) = try await self.checkout()
        do {
            let reply = try await self.run { try connection.execute(bytes) }
            self.checkin(connection)
            return reply
        } catch RedisError.server(let message) {
            self.checkin(connection)
            throw RedisError.server(message)
        } catch {
            // A pooled connection may have gone stale while idle (server restart): retry once on a
            // fresh one. A fresh connection that fails means the server really is unreachable.
            guard reused else { throw error }
            self.logger.debug("redis connection dropped, reconnecting", metadata: ["error": "\(error)"])
            let (fresh, _) = try await self.checkout(fresh: true)
            let reply = try await self.run { try fresh.execute(bytes) }
            self.checkin(fresh)
            return reply
        }
    }

    /// Runs one command given as strings.
    @discardableResult
    public func send(_ arguments: String...) async throws -> RESPValue {
        try await self.send(arguments.map { RedisArgument.string($0) })
    }

    /// Runs several commands in one round trip (a pipeline) and returns their replies in order;
    /// an error reply of one command is returned as `.status("ERR ...")` in its place.
    public func pipeline(_ commands: [[RedisArgument]]) async throws -> [RESPValue] {
        let bytes = commands.map { $0.map(\.bytes) }
        let (connection, _) = try await self.checkout()
        let replies: [RESPValue] = try await self.run {
            for command in bytes { try connection.append(command) }
            var replies: [RESPValue] = []
            for _ in bytes {
                do {
                    replies.append(try connection.readReply())
                } catch RedisError.server(let message) {
                    replies.append(.status(message))
                }
            }
            return replies
        }
        self.checkin(connection)
        return replies
    }

    private func checkout(fresh: Bool = false) async throws -> (RedisConnection, reused: Bool) {
        if !fresh, let connection = self.idle.withLock({ $0.popLast() }) {
            return (connection, true)
        }
        let configuration = self.configuration
        let connection = try await self.run {
            try RedisConnection(host: configuration.host, port: configuration.port, timeoutMillis: configuration.timeoutMillis)
        }
        return (connection, false)
    }

    private func checkin(_ connection: RedisConnection) {
        guard !connection.isBroken else { return }
        let limit = self.configuration.maxIdleConnections
        self.idle.withLock { idle in
            if idle.count < limit { idle.append(connection) }
        }
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await RedisClient.threadPool.runIfActive(body)
        } catch let error as RedisError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            throw RedisError.shutdown
        }
    }
}

/// One argument of a command: text or raw bytes.
public struct RedisArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let bytes: [UInt8]

    public init(stringLiteral value: String) { self.bytes = Array(value.utf8) }
    public init(integerLiteral value: Int) { self.bytes = Array(String(value).utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }

    public static func string(_ value: String) -> RedisArgument { RedisArgument(bytes: Array(value.utf8)) }
    public static func int(_ value: Int) -> RedisArgument { RedisArgument(bytes: Array(String(value).utf8)) }
}
