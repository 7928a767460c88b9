import BaseModel
import Foundation
import Hummingbird
import ServiceKit

/// The notifications page, the header's unread summary (JSON for the page script) and marking
/// notifications read.
struct NotificationPages: Sendable {
    let web: Web

    struct Item: Encodable {
        var id: String
        var kind: String
        var title: String
        var body: String
        var createdAt: String
        var unread: Bool
        var ticketId: String?

        init(_ notification: NotificationDTO) {
            self.id = notification.id.lowercased
            self.kind = notification.kind
            self.title = notification.title
            self.body = notification.body
            self.createdAt = RFC3339.format(notification.createdAt)
            self.unread = notification.readAt == nil
            self.ticketId = notification.ticketId?.lowercased
        }
    }

    func register(on router: Router<AppRequestContext>) {
        self.web.page(router, "/notifications") { request, visit in
            var query = "limit=50"
            if let cursor = request.uri.queryParameters.get("cursor") { query += "&cursor=" + Form.percentEncode(cursor) }
            let listing: Listing<NotificationDTO> = try await visit.get("/api/v1/notifications?" + query)
            let page: [String: Any] = [
                "items": listing.items.map(Item.init), "empty": listing.items.isEmpty,
                "nextCursor": listing.nextCursor.map(Form.percentEncode) as Any,
            ]
            return try await self.web.render("notifications", title: "Notifications", page: page, visit: &visit)
        }
        // The header's badge and dropdown: the unread count (up to 100) and the latest few.
        self.web.page(router, "/notifications/summary") { _, visit in
            async let unread: Listing<NotificationDTO> = visit.get("/api/v1/notifications?unread=true&limit=100")
            async let latest: Listing<NotificationDTO> = visit.get("/api/v1/notifications?limit=8")
            struct Summary: Encodable { var unread: Int; var more: Bool; var items: [Item] }
            let (unreadList, latestList) = try await (unread, latest)
            return try Web.json(Summary(unread: unreadList.items.count, more: unreadList.nextCursor != nil, items: latestList.items.map(Item.init)))
        }
        self.web.action(router, "/notifications/:id/read") { request, visit in
            let id = try visit.context.uuidParameter("id")
            let item: NotificationDTO = try await visit.send(.POST, "/api/v1/notifications/\(id.lowercased)/read")
            if Web.wantsJSON(request) { return try Web.json(Item(item)) }
            return Web.redirect(item.ticketId.map { "/tickets/\($0.lowercased)" } ?? "/notifications")
        }
        self.web.action(router, "/notifications/read-all") { request, visit in
            struct Marked: Codable { var marked: Int }
            let marked: Marked = try await visit.send(.POST, "/api/v1/notifications/read-all")
            if Web.wantsJSON(request) { return try Web.json(marked) }
            try await visit.flash(notice: marked.marked == 1 ? "1 notification marked read" : "\(marked.marked) notifications marked read")
            return Web.redirect("/notifications")
        }
    }
}
