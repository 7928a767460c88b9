import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Sub-tickets")
struct SubticketTests {
    struct Split: Encodable {
        var title: String
        var description: String
        var departmentId: UUID
    }

    struct Listing: Decodable {
        var items: [TicketJSON]
        var aggregate: Aggregate
        struct Aggregate: Decodable { var count: Int; var finished: Int; var progress: Int }
    }

    /// A moderator splits a ticket for another department; the sub-ticket lands in that department's
    /// queue; the parent cannot be resolved until it is finished; the aggregate follows its progress.
    @Test func parentWaitsForItsSubtickets() async throws {
        try await TicketWorld.run { world in
            let parent = try await world.draft("New starter needs a desk and a laptop")
            try await world.force(parent.id, status: "in_progress")
            let split = try await world.client.json(.post, "/api/v1/tickets/\(parent.id)/subtickets", token: world.token("moderator"),
                                                    body: Split(title: "Desk for new starter", description: "Floor 2", departmentId: world.departments["Operations"]!))
            #expect(split.status == .created)
            let child = try split.decode(TicketJSON.self)
            #expect(child.status == "submitted")
            #expect(child.requestorId == parent.requestorId)
            let opsQueue = try await world.client.json(.get, "/api/v1/tickets", token: world.token("agent.ops")).decode(ListPage<TicketJSON>.self)
            #expect(opsQueue.items.map(\.id) == [child.id])

            let blocked = try await world.act(parent.id, "resolve", as: "agent")
            #expect(blocked.status == .conflict)
            #expect(blocked.problem?.type == "https://hdms.dev/problems/open-subtickets")

            try await world.force(child.id, status: "in_progress", assignee: "agent.ops", progress: 40)
            let halfway = try await world.client.json(.get, "/api/v1/tickets/\(parent.id)/subtickets", token: world.token("requestor")).decode(Listing.self)
            #expect(halfway.aggregate.count == 1)
            #expect(halfway.aggregate.progress == 40)
            try await world.step(child.id, "resolve", as: "agent.ops")
            let done = try await world.client.json(.get, "/api/v1/tickets/\(parent.id)/subtickets", token: world.token("requestor")).decode(Listing.self)
            #expect(done.aggregate.finished == 1)
            #expect(done.aggregate.progress == 100)
            #expect(try await world.act(parent.id, "resolve", as: "agent").status == .ok)
        }
    }

    /// Only a moderator of the parent's department splits it, and never a closed or draft ticket.
    @Test func splittingIsGuarded() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            let body = Split(title: "Part", description: "Details", departmentId: world.departments["Operations"]!)
            let path = "/api/v1/tickets/\(ticket.id)/subtickets"
            #expect(try await world.client.json(.post, path, token: world.token("requestor"), body: body).status == .forbidden)
            try await world.force(ticket.id, status: "under_review")
            #expect(try await world.client.json(.post, path, token: world.token("agent"), body: body).status == .forbidden)
            try await world.force(ticket.id, status: "closed")
            let closed = try await world.client.json(.post, path, token: world.token("moderator"), body: body)
            #expect(closed.status == .conflict)
            #expect(closed.problem?.detail?.contains("closed") == true)
            try await world.force(ticket.id, status: "under_review")
            #expect(try await world.client.json(.post, path, token: world.token("moderator"), body: ["title": "No department"]).status == .unprocessableContent)
        }
    }
}
