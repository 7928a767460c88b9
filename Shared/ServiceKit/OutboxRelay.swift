import BaseModel
import Foundation
import Logging
import PostgresNIO
import Redis
import ServiceLifecycle

/// Publishes committed outbox rows to the Redis stream, oldest first.
///
/// Rows are claimed with `FOR UPDATE SKIP LOCKED`, so any number of replicas relay side by side.
/// The claim is held while the batch is sent to Redis (one pipelined round trip on loopback): if the
/// process dies between sending and marking, the rows are sent again and consumers drop the
/// duplicates by event id. Published rows are kept for `retention`, so when Redis comes back without
/// the stream, or without its newest entries (an `appendfsync everysec` crash), the relay notices
/// that the stream ends before what it published and sends those rows again.
public struct OutboxRelay: Service {
    public let client: PostgresClient
    public let redis: RedisClient
    public let schema: String
    public let stream: String
    public let logger: Logger
    public var batchSize = 200
    public var pollInterval: Duration = .milliseconds(100)
    public var retention: Duration = .seconds(7 * 24 * 3600)
    public var maxStreamLength = 1_000_000
    /// When set, the relay starts once this opens (after migrations).
    public var startAfter: StartupGate?
    /// Test hook: called after the batch reached Redis and before it is marked published.
    public var afterPublish: (@Sendable () throws -> Void)?

    public init(client: PostgresClient, redis: RedisClient, schema: String, stream: String, logger: Logger) {
        self.client = client
        self.redis = redis
        self.schema = schema
        self.stream = stream
        self.logger = logger
    }

    public func run() async throws {
        await self.startAfter?.wait()
        var lastRecoveryCheck = ContinuousClock.now - .seconds(60)
        var lastCleanup = ContinuousClock.now
        while !Task.isCancelledOrShuttingDown {
            do {
                if ContinuousClock.now - lastRecoveryCheck > .seconds(2) {
                    try await self.recoverLostEntries()
                    lastRecoveryCheck = .now
                }
                if ContinuousClock.now - lastCleanup > .seconds(3600) {
                    try await self.deleteExpired()
                    lastCleanup = .now
                }
                let sent = try await self.relayBatch()
                if sent < self.batchSize { try await Task.sleep(for: self.pollInterval) }
            } catch is CancellationError {
                return
            } catch {
                self.logger.warning("outbox relay failed, retrying", metadata: ["error": "\(describeDatabaseError(error))"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Publishes one batch; returns how many rows it sent.
    @discardableResult
    public func relayBatch() async throws -> Int {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                SELECT seq, payload FROM \(unescaped: self.schema).outbox
                WHERE published_at IS NULL ORDER BY seq LIMIT \(self.batchSize) FOR UPDATE SKIP LOCKED
                """, logger: self.logger)
            var batch: [(Int64, String)] = []
            for try await row in rows.decode((Int64, String).self) { batch.append(row) }
            guard !batch.isEmpty else { return 0 }
            let commands: [[RedisArgument]] = batch.map { _, payload in
                ["XADD", .string(self.stream), "MAXLEN", "~", .int(self.maxStreamLength), "*", "event", .string(payload)]
            }
            let replies = try await self.redis.pipeline(commands)
            var sequences: [Int64] = []
            var streamIDs: [String] = []
            for ((seq, _), reply) in zip(batch, replies) {
                guard case .bulk = reply, let id = reply.string else {
                    throw RedisError.server("XADD refused: \(reply.string ?? "?")")
                }
                sequences.append(seq)
                streamIDs.append(id)
            }
            try self.afterPublish?()
            try await connection.query("""
                UPDATE \(unescaped: self.schema).outbox AS o SET published_at = now(), stream_id = v.stream_id
                FROM unnest(\(sequences)::bigint[], \(streamIDs)::text[]) AS v(seq, stream_id)
                WHERE o.seq = v.seq
                """, logger: self.logger)
            return batch.count
        }
    }

    /// Marks for republishing every retained row the stream no longer holds.
    public func recoverLostEntries() async throws {
        let rows = try await self.client.query("""
            SELECT stream_id FROM \(unescaped: self.schema).outbox
            WHERE published_at IS NOT NULL ORDER BY seq DESC LIMIT 1
            """, logger: self.logger)
        var newest: String?
        for try await id in rows.decode(String?.self) { newest = id }
        guard let newest, let newestID = StreamID(newest) else { return }
        let last = try await self.redis.lastGeneratedID(self.stream).flatMap(StreamID.init)
        if let last, !(last < newestID) { return }
        let floor = last.map { "\($0.millis)-\($0.sequence)" }
        let reset = try await self.client.query("""
            UPDATE \(unescaped: self.schema).outbox SET published_at = NULL, stream_id = NULL
            WHERE published_at IS NOT NULL
              AND (\(floor)::text IS NULL
                   OR split_part(stream_id, '-', 1)::numeric > split_part(\(floor), '-', 1)::numeric
                   OR (split_part(stream_id, '-', 1)::numeric = split_part(\(floor), '-', 1)::numeric
                       AND split_part(stream_id, '-', 2)::numeric > split_part(\(floor), '-', 2)::numeric))
            RETURNING seq
            """, logger: self.logger)
        var count = 0
        for try await _ in reset { count += 1 }
        if count > 0 {
            self.logger.warning("event stream lost entries; republishing", metadata: ["stream": "\(self.stream)", "rows": "\(count)"])
        }
    }

    private func deleteExpired() async throws {
        let seconds = Double(self.retention.components.seconds)
        try await self.client.query("""
            DELETE FROM \(unescaped: self.schema).outbox
            WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => \(seconds))
            """, logger: self.logger)
    }
}

extension Task where Success == Never, Failure == Never {
    /// True once the task is cancelled or the service group began a graceful shutdown.
    static var isCancelledOrShuttingDown: Bool { Task.isCancelled || Task.isShuttingDownGracefully }
}
