import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// What one event tells a set of people.
struct NotificationPlan: Sendable, Equatable {
    var kind: String
    var ticketId: UUID?
    var title: String
    var body: String
    var recipients: Set<UUID>
}

/// The `comms.notifications` and `comms.notification_preferences` tables. Interpolated values are
/// bind parameters; `unescaped:` is used only for compile-time column lists.
struct NotificationRepository: Sendable {
    let client: PostgresClient
    let logger: Logger

    private static let columns = "id, kind, ticket_id, title, body, created_at, read_at"
    private typealias Row = (UUID, String, UUID?, String, String, Date, Date?)

    /// Stores `plan` once per recipient who has not muted its kind, inside the consumer's
    /// transaction; (user, event) is unique, so a second delivery adds nothing. Returns the new rows
    /// with their recipients.
    func insert(_ plan: NotificationPlan, event: UUID, on connection: PostgresConnection) async throws -> [(UUID, NotificationItem)] {
        var created: [(UUID, NotificationItem)] = []
        for user in plan.recipients.sorted(by: { $0.uuidString < $1.uuidString }) {
            let rows = try await connection.query("""
                INSERT INTO comms.notifications (id, user_id, event_id, kind, ticket_id, title, body)
                SELECT \(UUID.v7()), \(user), \(event), \(plan.kind), \(plan.ticketId), \(plan.title), \(plan.body)
                WHERE NOT EXISTS (
                    SELECT 1 FROM comms.notification_preferences p WHERE p.user_id = \(user) AND \(plan.kind) = ANY (p.muted_kinds))
                ON CONFLICT (user_id, event_id) DO NOTHING
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            for try await row in rows.decode(Row.self) { created.append((user, Self.item(row))) }
        }
        return created
    }

    /// One page of `user`'s notifications, newest first, after `cursor`.
    func page(user: UUID, unreadOnly: Bool, after cursor: Cursor?, limit: Int) async throws -> Page<NotificationItem> {
        let key = cursor.flatMap { Int64($0.key) }
        let cursorID = cursor?.id
        let rows = try await self.client.query("""
            SELECT \(unescaped: Self.columns), (extract(epoch FROM created_at) * 1000000)::bigint
            FROM comms.notifications
            WHERE user_id = \(user) AND (NOT \(unreadOnly) OR read_at IS NULL)
              AND (\(key)::bigint IS NULL
                   OR (created_at, id) < ('epoch'::timestamptz + \(key)::bigint * interval '1 microsecond', \(cursorID)::uuid))
            ORDER BY created_at DESC, id DESC
            LIMIT \(limit + 1)
            """, logger: self.logger)
        var items: [(NotificationItem, Int64)] = []
        for try await row in rows.decode((UUID, String, UUID?, String, String, Date, Date?, Int64).self) {
            items.append((Self.item((row.0, row.1, row.2, row.3, row.4, row.5, row.6)), row.7))
        }
        var next: String?
        if items.count > limit {
            items.removeLast()
            if let last = items.last { next = Cursor(key: String(last.1), id: last.0.id, sort: "notifications").encoded }
        }
        return Page(items: items.map(\.0), nextCursor: next)
    }

    /// `user`'s notifications created after `last` (oldest first), for a reconnecting socket; at most `limit`.
    func after(_ last: UUID, user: UUID, limit: Int = 500) async throws -> [NotificationItem] {
        let rows = try await self.client.query("""
            SELECT \(unescaped: Self.columns) FROM comms.notifications n
            WHERE n.user_id = \(user)
              AND (n.created_at, n.id) > (SELECT l.created_at, l.id FROM comms.notifications l WHERE l.id = \(last) AND l.user_id = \(user))
            ORDER BY n.created_at, n.id
            LIMIT \(limit)
            """, logger: self.logger)
        var items: [NotificationItem] = []
        for try await row in rows.decode(Row.self) { items.append(Self.item(row)) }
        return items
    }

    /// Marks one of `user`'s notifications read (keeping the first read time); nil when it is not theirs.
    func markRead(_ id: UUID, user: UUID) async throws -> NotificationItem? {
        let rows = try await self.client.query("""
            UPDATE comms.notifications SET read_at = COALESCE(read_at, now()) WHERE id = \(id) AND user_id = \(user)
            RETURNING \(unescaped: Self.columns)
            """, logger: self.logger)
        for try await row in rows.decode(Row.self) { return Self.item(row) }
        return nil
    }

    /// Marks all of `user`'s unread notifications read; returns how many.
    func markAllRead(user: UUID) async throws -> Int {
        let rows = try await self.client.query("""
            WITH marked AS (
                UPDATE comms.notifications SET read_at = now() WHERE user_id = \(user) AND read_at IS NULL RETURNING 1)
            SELECT count(*)::int FROM marked
            """, logger: self.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }

    func preferences(user: UUID) async throws -> NotificationPreferences {
        let rows = try await self.client.query(
            "SELECT muted_kinds FROM comms.notification_preferences WHERE user_id = \(user)", logger: self.logger)
        for try await muted in rows.decode([String].self) { return NotificationPreferences(mutedKinds: muted) }
        return NotificationPreferences(mutedKinds: [])
    }

    func savePreferences(_ preferences: NotificationPreferences, user: UUID) async throws {
        try await self.client.query("""
            INSERT INTO comms.notification_preferences (user_id, muted_kinds) VALUES (\(user), \(preferences.mutedKinds))
            ON CONFLICT (user_id) DO UPDATE SET muted_kinds = EXCLUDED.muted_kinds, updated_at = now()
            """, logger: self.logger)
    }

    private static func item(_ row: Row) -> NotificationItem {
        NotificationItem(id: row.0, kind: row.1, ticketId: row.2, title: row.3, body: row.4, createdAt: row.5, readAt: row.6)
    }
}
