import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit
import Synchronization

/// One chat message of a ticket's thread, as clients read it.
struct Message: Codable, Sendable, Equatable, ResponseEncodable {
    var id: UUID
    var ticketId: UUID
    var authorId: UUID
    var body: String
    /// An internal note: staff only.
    var isInternal: Bool
    var attachmentIds: [UUID]
    var createdAt: Date
    var editedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, ticketId, authorId, body, attachmentIds, createdAt, editedAt
        case isInternal = "internal"
    }

    /// How long after posting its author may still edit or delete a message.
    static let editWindow: TimeInterval = 15 * 60
}

/// The sort orders of a thread page.
enum ThreadOrder: String, Sendable {
    case newestFirst = "desc"
    case oldestFirst = "asc"

    init(_ raw: String?) throws(Problem) {
        guard let raw else {
            self = .newestFirst
            return
        }
        guard let order = ThreadOrder(rawValue: raw) else {
            throw Problem.validation([.init(field: "order", message: "must be asc or desc")])
        }
        self = order
    }
}

/// A participant's position in a thread: `GET /api/v1/conversations/{ticket_id}`.
struct ConversationSummary: Codable, Sendable, ResponseEncodable {
    var ticketId: UUID
    var messages: Int
    var unread: Int
    var lastReadMessageId: UUID?
}

/// The people a ticket involves, as ticket-service shows the ticket to the caller.
struct TicketParticipants: Decodable, Sendable {
    var id: UUID
    var requestorId: UUID?
    var assigneeId: UUID?
    var moderatorId: UUID?
    var departmentId: UUID?
    var title: String?
    var number: String?
}

/// Whether a caller may see a ticket, asked of ticket-service with the caller's own token (it
/// applies their visibility), and who the ticket involves. The ticket itself is not cached: a post
/// needs the current participants to route its notifications. Its followers (watchers and
/// approvers, for live frames and notifications) are remembered per ticket for ten seconds.
struct TicketLookup: Sendable {
    let tickets: ServiceHTTPClient
    var followerCache = FollowerCache(ttl: .seconds(10))

    /// The ticket as `identity` may see it; nil when it does not exist for them.
    func ticket(_ id: UUID, for identity: Identity) async throws -> TicketParticipants? {
        do {
            return try await self.tickets.get(
                "/api/v1/tickets/\(id.lowercased)", as: TicketParticipants.self, userToken: identity.isService ? nil : identity.token)
        } catch let problem as Problem where problem.statusCode == 403 {
            return nil
        }
    }

    private struct WatcherPage: Decodable {
        var items: [Item]
        struct Item: Decodable { var employeeId: UUID }
    }

    private struct ApprovalPage: Decodable {
        var items: [Item]
        struct Item: Decodable { var approverId: UUID }
    }

    /// Whom a ticket's conversation reaches besides its requestor, assignee and moderator: its
    /// watchers and the approvers of its approval steps (asked as `identity`, who may see the
    /// ticket, or as this service when nil); empty when they cannot be listed.
    func followers(of ticket: UUID, for identity: Identity?) async -> Set<UUID> {
        if let cached = self.followerCache.get(ticket) { return cached }
        let token = identity.flatMap { $0.isService ? nil : $0.token }
        let path = "/api/v1/tickets/\(ticket.lowercased)"
        async let watchers = try? self.tickets.get("\(path)/watchers", as: WatcherPage.self, userToken: token)
        async let approvals = try? self.tickets.get("\(path)/approvals", as: ApprovalPage.self, userToken: token)
        let (watching, approving) = await (watchers, approvals)
        let followers = Set((watching?.items.map(\.employeeId) ?? []) + (approving?.items.map(\.approverId) ?? []))
        if watching != nil && approving != nil { self.followerCache.put(ticket, followers) }
        return followers
    }
}

/// Followers per ticket, each set kept for `ttl` (at most 10,000 tickets).
final class FollowerCache: Sendable {
    private let entries = Mutex<[UUID: (followers: Set<UUID>, expires: ContinuousClock.Instant)]>([:])
    let ttl: Duration

    init(ttl: Duration) { self.ttl = ttl }

    func get(_ ticket: UUID) -> Set<UUID>? {
        self.entries.withLock { entries in
            guard let entry = entries[ticket], entry.expires > .now else { return nil }
            return entry.followers
        }
    }

    func put(_ ticket: UUID, _ followers: Set<UUID>) {
        self.entries.withLock { entries in
            if entries.count >= 10_000 { entries.removeAll(keepingCapacity: true) }
            entries[ticket] = (followers, .now + self.ttl)
        }
    }
}
