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
        Migration(set: "kit", version: 2, name: "audit_log", sql: """
            CREATE TABLE {schema}.audit_log (
                id uuid PRIMARY KEY,
                at timestamptz NOT NULL DEFAULT now(),
                actor_id uuid,
                action text NOT NULL,
                entity_kind text NOT NULL,
                entity_id text NOT NULL,
                before jsonb,
                after jsonb,
                details jsonb,
                request_id text
            );
            CREATE INDEX audit_log_entity ON {schema}.audit_log (entity_kind, entity_id, at);
            CREATE FUNCTION {schema}.audit_log_is_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION 'audit rows cannot be changed or deleted';
            END
            $$ LANGUAGE plpgsql;
            CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {schema}.audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION {schema}.audit_log_is_append_only();
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

/// Who made a change and in which request, for the audit trail.
public struct AuditActor: Sendable {
    public var id: UUID?
    public var requestId: String?

    public init(id: UUID?, requestId: String?) {
        self.id = id
        self.requestId = requestId
    }

    /// The scheduler and other work no person asked for.
    public static let system = AuditActor(id: nil, requestId: nil)
}

/// One audited change: who did what to which entity, with its state before and after. Recorded
/// as an append-only audit row and published as an event in the same transaction as the change.
public struct Change: Sendable {
    public var type: EventType
    /// The action's name in the audit log (`employee.create`, `access.grant`, `submit`, ...).
    public var action: String
    public var subject: EventSubject
    public var actorId: UUID?
    public var requestId: String?
    public var before: JSONValue?
    public var after: JSONValue?
    /// Further fields of the event's `data` (recipients, summaries).
    public var details: [String: JSONValue]

    public init(
        type: EventType, action: String, subject: EventSubject, actorId: UUID?, requestId: String?,
        before: JSONValue? = nil, after: JSONValue? = nil, details: [String: JSONValue] = [:]
    ) {
        self.type = type
        self.action = action
        self.subject = subject
        self.actorId = actorId
        self.requestId = requestId
        self.before = before
        self.after = after
        self.details = details
    }
}

extension Outbox {
    /// Writes the audit row and queues the event of a change; call inside its transaction.
    public func record(_ change: Change, on connection: PostgresConnection, logger: Logger) async throws {
        var data = change.details
        data["action"] = .string(change.action)
        data["service"] = ServiceName.allCases.first { $0.schema == self.schema }.map { .string($0.rawValue) } ?? .string(self.schema)
        data["before"] = change.before ?? .null
        data["after"] = change.after ?? .null
        let event = EventEnvelope(
            type: change.type, actorId: change.actorId, subject: change.subject, data: .object(data), requestId: change.requestId)
        let encoder = JSONEncoder.hdms
        let before = try change.before.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let after = try change.after.map { String(decoding: try encoder.encode($0), as: UTF8.self) }
        let details = String(decoding: try encoder.encode(change.details), as: UTF8.self)
        try await connection.query("""
            INSERT INTO \(unescaped: self.schema).audit_log
                (id, at, actor_id, action, entity_kind, entity_id, before, after, details, request_id)
            VALUES (\(event.id), \(event.occurredAt), \(change.actorId), \(change.action), \(change.subject.kind), \(change.subject.id),
                    \(before)::jsonb, \(after)::jsonb, \(details)::jsonb, \(change.requestId))
            """, logger: logger)
        try await self.enqueue(event, on: connection, logger: logger)
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
