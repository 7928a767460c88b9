import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO

/// The kit's own tables, created in every service schema before the service's migrations:
/// the transactional outbox and the ledger of consumed events.
public enum KitMigrations {
    public static let all: [Migration] = [
        Migration(set: "kit", version: 1, name: "outbox_and_inbox", sql: """
            CREATE TABLE {schema}.outbox (
                seq bigserial PRIMARY KEY,
                id uuid NOT NULL UNIQUE,
                type text NOT NULL,
                payload text NOT NULL,
                created_at timestamptz NOT NULL DEFAULT now(),
                published_at timestamptz,
                stream_id text
            );
            CREATE INDEX outbox_unpublished ON {schema}.outbox (seq) WHERE published_at IS NULL;
            CREATE INDEX outbox_published ON {schema}.outbox (published_at) WHERE published_at IS NOT NULL;
            CREATE TABLE {schema}.processed_events (
                id uuid PRIMARY KEY,
                processed_at timestamptz NOT NULL DEFAULT now()
            );
            """),
    ]
}

/// Writes events in the same transaction as the change they describe (the transactional outbox).
/// A rolled-back change never publishes its event; a committed one is published by `OutboxRelay`.
public struct Outbox: Sendable {
    public let schema: String

    public init(schema: String) { self.schema = schema }

    /// Queues an event; call inside the transaction that makes the change.
    public func enqueue(_ event: EventEnvelope, on connection: PostgresConnection, logger: Logger) async throws {
        let payload = String(decoding: try JSONEncoder.hdms.encode(event), as: UTF8.self)
        try await connection.query("""
            INSERT INTO \(unescaped: self.schema).outbox (id, type, payload) VALUES (\(event.id), \(event.type), \(payload))
            """, logger: logger)
    }
}

/// A Redis stream entry id (`<millis>-<sequence>`), ordered as Redis orders them.
struct StreamID: Comparable {
    var millis: UInt64
    var sequence: UInt64

    init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let millis = UInt64(parts[0]), let sequence = UInt64(parts[1]) else { return nil }
        self.millis = millis
        self.sequence = sequence
    }

    static func < (lhs: StreamID, rhs: StreamID) -> Bool {
        (lhs.millis, lhs.sequence) < (rhs.millis, rhs.sequence)
    }
}
