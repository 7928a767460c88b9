import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit

/// `/api/v1/notifications` and `/api/v1/notification-preferences`: the caller's own inbox.
struct NotificationsController: Sendable {
    let notifications: NotificationRepository

    func register(on router: Router<AppRequestContext>) {
        router.get("api/v1/notifications", use: self.list)
        router.post("api/v1/notifications/read-all", use: self.readAll)
        router.post("api/v1/notifications/:id/read", use: self.read)
        router.get("api/v1/notification-preferences", use: self.preferences)
        router.put("api/v1/notification-preferences", use: self.savePreferences)
    }

    struct Marked: Codable, Sendable, ResponseEncodable {
        var marked: Int
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<NotificationItem> {
        let (me, _) = try context.requireUser()
        let query = request.uri.queryParameters
        let limit = try PageLimit(query["limit"].map(String.init))
        let cursor = try query["cursor"].map { (text) throws(Problem) in try Cursor(decoding: String(text), sort: "notifications") }
        let unread = query["unread"].map(String.init)
        if let unread, unread != "true" && unread != "false" {
            throw Problem.validation([.init(field: "unread", message: "must be true or false")])
        }
        return try await self.notifications.page(user: me, unreadOnly: unread == "true", after: cursor, limit: limit.value)
    }

    @Sendable func read(_ request: Request, context: AppRequestContext) async throws -> NotificationItem {
        let (me, _) = try context.requireUser()
        let id = try context.uuidParameter("id")
        guard let item = try await self.notifications.markRead(id, user: me) else { throw Problem.notFound("Notification \(id.lowercased)") }
        return item
    }

    @Sendable func readAll(_ request: Request, context: AppRequestContext) async throws -> Marked {
        let (me, _) = try context.requireUser()
        return Marked(marked: try await self.notifications.markAllRead(user: me))
    }

    @Sendable func preferences(_ request: Request, context: AppRequestContext) async throws -> NotificationPreferences {
        let (me, _) = try context.requireUser()
        return try await self.notifications.preferences(user: me)
    }

    @Sendable func savePreferences(_ request: Request, context: AppRequestContext) async throws -> NotificationPreferences {
        let (me, _) = try context.requireUser()
        let input = try await request.decode(as: NotificationPreferences.self, context: context)
        var check = Validation()
        for (index, kind) in input.mutedKinds.enumerated() where EventType(rawValue: kind) == nil {
            check.fail("muted_kinds[\(index)]", "is not a notification kind")
        }
        try check.finish()
        let preferences = NotificationPreferences(mutedKinds: Array(Set(input.mutedKinds)).sorted())
        try await self.notifications.savePreferences(preferences, user: me)
        return preferences
    }
}

extension NotificationItem: ResponseEncodable {}
