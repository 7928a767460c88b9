import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit

/// A notification as its recipient reads it.
struct NotificationItem: Codable, Sendable, Equatable {
    var id: UUID
    var kind: String
    var ticketId: UUID?
    var title: String
    var body: String
    var createdAt: Date
    var readAt: Date?
}

/// `GET/PUT /api/v1/notification-preferences`: the kinds a user does not want.
struct NotificationPreferences: Codable, Sendable, Equatable, ResponseEncodable {
    var mutedKinds: [String]
}
