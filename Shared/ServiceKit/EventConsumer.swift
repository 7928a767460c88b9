import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import Redis
import ServiceLifecycle

/// Consumes the event stream as one consumer group (one group per consuming service), at least once.
///
/// Each event is handed to `handle` inside a database transaction that first records the event id
/// in the schema's `processed_events`: an event seen before is skipped, so a redelivery (after a
/// crash, a relay retry or a stream replay) has no effect. Entries are acknowledged only after their
/// transaction commits; entries a dead replica read but never acknowledged are claimed after
/// `claimIdle`. If Redis lost the stream or the group, the group is created again from the start
/// and the ledger absorbs the replay.
public struct EventConsumer: Service {
    public typealias Handler = @Sendable (EventEnvelope, PostgresConnection) async throws -> Void

    public let client: PostgresClient
    public let redis: RedisClient
    public let schema: String
    public let stream: String
    public let group: String
    public let consumer: String
    public let logger: Logger
    public let handle: Handler
    public var batchSize = 100
    public var blockMillis = 1_000
    public var claimIdle: Duration = .seconds(30)
    /// When set, consumption starts once this opens (after migrations).
    public var startAfter: StartupGate?

    public init(
        client: PostgresClient, redis: RedisClient, schema: String, stream: String, group: String,
        consumer: String, logger: Logger, handle: @escaping Handler
    ) {
        self.client = client
        self.redis = redis
        self.schema = schema
        self.stream = stream
        self.group = group
        self.consumer = consumer
        self.logger = logger
        self.handle = handle
    }

    public func run() async throws {
        await self.startAfter?.wait()
        var groupReady = false
        var lastClaim = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                if !groupReady {
                    try await self.redis.createGroup(self.stream, group: self.group)
                    groupReady = true
                }
                if ContinuousClock.now - lastClaim > self.claimIdle / 2 {
                    let claimed = try await self.redis.autoClaim(
                        self.stream, group: self.group, consumer: self.consumer,
                        minIdleMillis: Int(self.claimIdle.components.seconds) * 1000, count: self.batchSize)
                    try await self.process(claimed)
                    lastClaim = .now
                }
                let entries = try await self.redis.readGroup(
                    group: self.group, consumer: self.consumer, streams: [self.stream],
                    count: self.batchSize, blockMillis: self.blockMillis)
                try await self.process(entries)
            } catch is CancellationError {
                return
            } catch RedisError.server(let message) where message.hasPrefix("NOGROUP") {
                self.logger.warning("consumer group missing, creating it again", metadata: ["group": "\(self.group)"])
                groupReady = false
            } catch {
                self.logger.warning("event consumer failed, retrying", metadata: ["error": "\(describeDatabaseError(error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Handles entries in order and acknowledges each once its transaction committed.
    public func process(_ entries: [StreamEntry]) async throws {
        for entry in entries {
            guard let bytes = entry.fields["event"],
                  let event = try? JSONDecoder.hdms.decode(EventEnvelope.self, from: Data(bytes))
            else {
                self.logger.error("dropping unreadable stream entry", metadata: ["entry": "\(entry.id)"])
                try await self.redis.ack(self.stream, group: self.group, ids: [entry.id])
                continue
            }
            try await self.client.transaction(logger: self.logger) { connection in
                let inserted = try await connection.query("""
                    INSERT INTO \(unescaped: self.schema).processed_events (id) VALUES (\(event.id))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """, logger: self.logger)
                var isNew = false
                for try await _ in inserted { isNew = true }
                if isNew { try await self.handle(event, connection) }
            }
            try await self.redis.ack(self.stream, group: self.group, ids: [entry.id])
        }
    }
}
