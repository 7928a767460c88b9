import BaseModel
import Foundation
import HDMSProtocol
import ServiceKit
import Synchronization

/// Whether a caller may see a ticket, as ticket-service answers it for that caller: a file is
/// readable by exactly those who may see its ticket, so the rule lives in one place.
///
/// Users are asked about with their own token (ticket-service applies their visibility); other
/// services with file-service's service token. Yes answers are remembered for `ttl` per caller and
/// ticket, so a page of attachments costs one call; no answers are not, so a grant shows at once.
final class TicketAccess: Sendable {
    private struct Key: Hashable {
        var caller: String
        var ticket: UUID
    }

    private struct TicketReference: Decodable {
        var id: UUID
    }

    private let tickets: ServiceHTTPClient
    private let ttl: Duration
    private let granted = Mutex<[Key: ContinuousClock.Instant]>([:])
    private static let cacheLimit = 10_000

    init(tickets: ServiceHTTPClient, ttl: Duration) {
        self.tickets = tickets
        self.ttl = ttl
    }

    /// True when `identity` may see `ticket`; false when ticket-service says it does not exist for them.
    func canSee(_ ticket: UUID, _ identity: Identity) async throws -> Bool {
        let key = Key(caller: Self.caller(identity), ticket: ticket)
        if let expires = self.granted.withLock({ $0[key] }), expires > .now { return true }
        let userToken = identity.isService ? nil : identity.token
        guard try await self.tickets.get("/api/v1/tickets/\(ticket.lowercased)", as: TicketReference.self, userToken: userToken) != nil else {
            return false
        }
        guard self.ttl > .zero else { return true }
        self.granted.withLock { granted in
            if granted.count >= Self.cacheLimit {
                let now = ContinuousClock.now
                granted = granted.filter { $0.value > now }
                if granted.count >= Self.cacheLimit { granted.removeAll(keepingCapacity: true) }
            }
            granted[key] = .now + self.ttl
        }
        return true
    }

    private static func caller(_ identity: Identity) -> String {
        switch identity.kind {
        case .user(let id): "user:\(id.lowercased)"
        case .service(let name): "service:\(name.rawValue)"
        }
    }
}
