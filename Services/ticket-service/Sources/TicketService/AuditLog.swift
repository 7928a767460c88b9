import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// The organisation-wide audit log: filled from every service's audited events, read by admins.
struct AuditLog: Sendable {
    let client: PostgresClient
    let logger: Logger

    /// Stores an audited event (one carrying `action`); other events are ignored. Idempotent by event id.
    static func store(_ event: EventEnvelope, on connection: PostgresConnection, logger: Logger) async throws {
        guard let action = event.data["action"]?.stringValue else { return }
        let encoder = JSONEncoder.hdms
        func json(_ value: JSONValue?) throws -> String? {
            guard let value, value != .null else { return nil }
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        }
        try await connection.query("""
            INSERT INTO tickets.org_audit (id, at, service, actor_id, entity_kind, entity_id, action, before, after, request_id)
            VALUES (\(event.id), \(event.occurredAt), \(event.data["service"]?.stringValue ?? "unknown"), \(event.actorId),
                    \(event.subject.kind), \(event.subject.id), \(action), \(try json(event.data["before"]))::jsonb,
                    \(try json(event.data["after"]))::jsonb, \(event.requestId))
            ON CONFLICT (id) DO NOTHING
            """, logger: logger)
    }

    struct Entry: Encodable, Sendable {
        var id: UUID
        var at: Date
        var service: String
        var actorId: UUID?
        var entityKind: String
        var entityId: String
        var action: String
        var before: JSONValue?
        var after: JSONValue?
        var requestId: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(self.id, forKey: .id)
            try container.encode(self.at, forKey: .at)
            try container.encode(self.service, forKey: .service)
            try container.encode(self.actorId, forKey: .actorId)
            try container.encode(self.entityKind, forKey: .entityKind)
            try container.encode(self.entityId, forKey: .entityId)
            try container.encode(self.action, forKey: .action)
            try container.encode(self.before, forKey: .before)
            try container.encode(self.after, forKey: .after)
            try container.encode(self.requestId, forKey: .requestId)
        }

        enum CodingKeys: String, CodingKey { case id, at, service, actorId, entityKind, entityId, action, before, after, requestId }
    }

    struct Filter: Sendable {
        var actorId: UUID?
        var entityKind: String?
        var entityId: String?
        var action: String?
        var from: Date?
        var to: Date?
        var cursor: Cursor?
        var limit: Int?
    }

    /// Entries newest first, after the cursor; all of them when `limit` is nil (CSV export).
    func entries(_ filter: Filter) async throws -> PostgresRowSequence {
        try await self.client.query("""
            SELECT id, at, service, actor_id, entity_kind, entity_id, action, before::text, after::text, request_id,
                   (extract(epoch FROM at) * 1000000)::bigint::text
            FROM tickets.org_audit
            WHERE (\(filter.actorId)::uuid IS NULL OR actor_id = \(filter.actorId))
              AND (\(filter.entityKind)::text IS NULL OR entity_kind = \(filter.entityKind))
              AND (\(filter.entityId)::text IS NULL OR entity_id = \(filter.entityId))
              AND (\(filter.action)::text IS NULL OR action = \(filter.action))
              AND (\(filter.from)::timestamptz IS NULL OR at >= \(filter.from))
              AND (\(filter.to)::timestamptz IS NULL OR at < \(filter.to))
              AND (\(filter.cursor?.key)::text IS NULL
                   OR (at, id) < (to_timestamp(\(filter.cursor?.key)::bigint / 1000000.0), \(filter.cursor?.id)::uuid))
            ORDER BY at DESC, id DESC
            LIMIT \(filter.limit.map { $0 + 1 } ?? Int(Int32.max))
            """, logger: self.logger)
    }

    static func entry(_ row: PostgresRow) throws -> (Entry, key: String) {
        let (id, at, service, actor, kind, entity, action, before, after, request, key) = try row.decode(
            (UUID, Date, String, UUID?, String, String, String, String?, String?, String?, String).self, context: .default)
        func json(_ text: String?) throws -> JSONValue? { try text.map { try JSONDecoder().decode(JSONValue.self, from: Data($0.utf8)) } }
        return (Entry(id: id, at: at, service: service, actorId: actor, entityKind: kind, entityId: entity, action: action,
                      before: try json(before), after: try json(after), requestId: request), key)
    }
}

/// `GET /api/v1/audit` (admin): JSON pages with cursors, or the whole filtered log as streamed CSV
/// (`Accept: text/csv` or `?format=csv`).
struct AuditController: Sendable {
    let audit: AuditLog

    func register(on router: Router<AppRequestContext>) {
        router.get("api/v1/audit", use: self.list)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Response {
        try context.require(.admin)
        let query = request.uri.queryParameters
        var reader = QueryReader(query)
        let (actor, from, to) = (reader.uuid("actor_id"), reader.date("from"), reader.date("to"))
        var check = reader.check
        var filter = AuditLog.Filter(
            actorId: actor, entityKind: check.limit(query.get("entity_kind"), "entity_kind", maxLength: 100),
            entityId: check.limit(query.get("entity_id"), "entity_id", maxLength: 200), action: check.limit(query.get("action"), "action", maxLength: 100),
            from: from, to: to)
        let csv = query.get("format") == "csv" || (request.headers[.accept]?.contains("text/csv") ?? false)
        if !csv {
            do { filter.limit = try PageLimit(query.get("limit")).value } catch { check.fail("limit", "must be an integer between 1 and \(PageLimit.maximum)") }
            if let raw = query.get("cursor") {
                do { filter.cursor = try Cursor(decoding: raw, sort: "audit") } catch { check.fail("cursor", "is not valid") }
            }
        }
        try check.finish()
        return csv ? try await self.csv(filter, context: context) : try await self.page(filter)
    }

    private func page(_ filter: AuditLog.Filter) async throws -> Response {
        let limit = filter.limit ?? PageLimit.default
        var items: [AuditLog.Entry] = []
        var lastKey: String?
        for try await row in try await self.audit.entries(filter) {
            let (entry, key) = try AuditLog.entry(row)
            items.append(entry)
            lastKey = key
            if items.count == limit { break }
        }
        let next = items.count == limit ? lastKey.flatMap { key in items.last.map { Cursor(key: key, id: $0.id, sort: "audit").encoded } } : nil
        return try JSONEncoder.hdmsResponse(Page(items: items, nextCursor: next), status: .ok)
    }

    /// Streams rows as they come from the database, so memory stays flat whatever the size.
    private func csv(_ filter: AuditLog.Filter, context: AppRequestContext) async throws -> Response {
        let audit = self.audit
        let body = ResponseBody { writer in
            try await writer.write(ByteBuffer(string: CSVFormat.record(
                ["id", "at", "service", "actor_id", "entity_kind", "entity_id", "action", "before", "after", "request_id"])))
            var chunk = ""
            for try await row in try await audit.entries(filter) {
                let (entry, _) = try AuditLog.entry(row)
                let encoder = JSONEncoder.hdms
                func json(_ value: JSONValue?) -> String { value.flatMap { try? encoder.encode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? "" }
                chunk += CSVFormat.record([
                    entry.id.lowercased, RFC3339.format(entry.at), entry.service, entry.actorId?.lowercased ?? "", entry.entityKind,
                    entry.entityId, entry.action, json(entry.before), json(entry.after), entry.requestId ?? "",
                ])
                if chunk.utf8.count > 32_768 {
                    try await writer.write(ByteBuffer(string: chunk))
                    chunk = ""
                }
            }
            if !chunk.isEmpty { try await writer.write(ByteBuffer(string: chunk)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"hdms-audit.csv\"",
        ], body: body)
    }
}
