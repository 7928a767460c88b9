import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Approvals")
struct ApprovalTests {
    struct Decision: Decodable {
        var step: Int
        var position: String
        var approverId: UUID
        var decision: String
        var comment: String?
    }

    /// A ticket under review sent for approval by a moderator.
    func pendingApproval(_ world: TicketWorld) async throws -> TicketJSON {
        let ticket = try await world.draft("New laptop for the HR team", description: "Four machines, budget 6,000")
        try await world.step(ticket.id, "submit", as: "requestor")
        try await world.step(ticket.id, "start_review", as: "moderator")
        return try await world.step(ticket.id, "request_approval", as: "moderator", ["route_id": world.demoRoute.uuidString])
    }

    /// The demo route is walked by head.hr, then head.finance, then the CEO; at each step every
    /// other approver is refused; after the last step the ticket returns to review, and every
    /// decision is recorded and audited.
    @Test func fullRouteWithTheDemoApprovers() async throws {
        try await TicketWorld.run { world in
            let ticket = try await self.pendingApproval(world)
            #expect(ticket.status == "pending_approval")
            let steps = ["head.hr", "head.finance", "ceo"]
            for (index, approver) in steps.enumerated() {
                let view = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token(approver)).decode(TicketJSON.self)
                #expect(Set(view.allowedActions) == ["approve", "decline"], "\(approver)")
                for other in steps where other != approver {
                    let refused = try await world.act(ticket.id, "approve", as: other)
                    #expect(refused.status == .forbidden || refused.status == .notFound, "\(other) at step \(index + 1)")
                }
                #expect(try await world.act(ticket.id, "approve", as: "moderator").status == .forbidden)
                let approved = try await world.step(ticket.id, "approve", as: approver, ["comment": "Fine by \(approver)"])
                #expect(approved.status == (index == steps.count - 1 ? "under_review" : "pending_approval"))
            }
            let decisions = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)/approvals", token: world.token("moderator"))
                .decode(ListPage<Decision>.self).items
            #expect(decisions.map(\.approverId) == steps.map { world.ids[$0]! })
            #expect(decisions.map(\.decision) == ["approved", "approved", "approved"])
            #expect(decisions[1].position.hasPrefix("head_of_department:"))
            #expect(try await world.auditCount(ticket.id, action: "approve") == 3)
            try await world.step(ticket.id, "assign", as: "moderator", ["assignee_id": world.ids["agent"]!.uuidString])
        }
    }

    /// Declining needs a comment and rejects the ticket.
    @Test func declineRejects() async throws {
        try await TicketWorld.run { world in
            let ticket = try await self.pendingApproval(world)
            let bare = try await world.act(ticket.id, "decline", as: "head.hr")
            #expect(bare.status == .unprocessableContent)
            #expect(bare.problem?.errors?.first?.field == "comment")
            let declined = try await world.step(ticket.id, "decline", as: "head.hr", ["comment": "Not this quarter"])
            #expect(declined.status == "rejected")
            let decisions = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)/approvals", token: world.token("requestor"))
                .decode(ListPage<Decision>.self).items
            #expect(decisions.map(\.decision) == ["declined"])
            #expect(decisions.first?.comment == "Not this quarter")
        }
    }

    /// A route whose position nobody holds is refused with an error naming the position, and
    /// nothing changes; routes are admin-managed and validated.
    @Test func routesWithoutHoldersAndBadRoutes() async throws {
        try await TicketWorld.run { world in
            let create = try await world.client.json(.post, "/api/v1/approval-routes", token: world.token("admin"), body: RouteBody(
                name: "Operations head", steps: ["head_of_department:\(world.departments["Operations"]!.uuidString.lowercased())"]))
            #expect(create.status == .created)
            let route = try create.decode(Route.self)
            let ticket = try await world.draft()
            try await world.step(ticket.id, "submit", as: "requestor")
            try await world.step(ticket.id, "start_review", as: "moderator")
            let refused = try await world.act(ticket.id, "request_approval", as: "moderator", ["route_id": route.id.uuidString])
            #expect(refused.status == .conflict)
            #expect(refused.problem?.detail?.contains("head_of_department:") == true)
            #expect(try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("moderator")).decode(TicketJSON.self).status == "under_review")
            #expect(try await world.client.json(.post, "/api/v1/approval-routes", token: world.token("moderator"), body: RouteBody(name: "X", steps: ["ceo"])).status == .forbidden)
            let bad = try await world.client.json(.post, "/api/v1/approval-routes", token: world.token("admin"), body: RouteBody(name: "Bad", steps: ["king"]))
            #expect(bad.status == .unprocessableContent)
            #expect(try await world.act(ticket.id, "request_approval", as: "moderator").status == .unprocessableContent)
        }
    }

    struct RouteBody: Encodable {
        var name: String
        var steps: [String]
    }
}
