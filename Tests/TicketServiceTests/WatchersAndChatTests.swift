import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Watchers and chat search")
struct WatchersAndChatTests {
    /// A requestor adds a colleague as watcher, who then sees the ticket; someone who only sees the
    /// ticket may watch it themselves but not add others; watchers are removed again.
    @Test func watchersSeeTheTicket() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.step(ticket.id, "submit", as: "requestor")
            let path = "/api/v1/tickets/\(ticket.id)/watchers"
            #expect(try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("ceo")).status == .notFound)
            let add = try await world.client.json(.post, path, token: world.token("requestor"), body: ["employee_id": world.ids["ceo"]!.uuidString])
            #expect(add.status == .noContent)
            #expect(try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("ceo")).status == .ok)
            let byWatcher = try await world.client.json(.post, path, token: world.token("ceo"), body: ["employee_id": world.ids["head.hr"]!.uuidString])
            #expect(byWatcher.status == .forbidden)
            #expect(try await world.client.json(.post, path, token: world.token("agent"), body: [String: String]()).status == .noContent)
            struct Watcher: Decodable { var employeeId: UUID }
            let watchers = try await world.client.json(.get, path, token: world.token("requestor")).decode(ListPage<Watcher>.self)
            #expect(Set(watchers.items.map(\.employeeId)) == [world.ids["ceo"]!, world.ids["agent"]!])
            #expect(try await world.client.json(.delete, "\(path)/\(world.ids["ceo"]!)", token: world.token("requestor")).status == .noContent)
            #expect(try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("ceo")).status == .notFound)
            #expect(try await world.auditCount(ticket.id, action: "watcher.add") == 2)
        }
    }

    /// Public chat messages from communication-service's events join the ticket's search text;
    /// edits replace them, and internal notes are never searchable.
    @Test func chatMessagesAreSearchable() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft("Monitor flickers", description: "Since Monday")
            let context = world.service.context
            func publish(_ type: EventType, _ message: MessageEventData) async throws {
                let event = EventEnvelope(type: type, actorId: message.authorId, subject: .init(kind: "message", id: message.messageId.lowercased),
                                          data: try JSONValue(encoding: message))
                try await context.redis.xadd(context.configuration.eventStream, fields: [("event", Array(try JSONEncoder.hdms.encode(event)))])
            }
            let publicMessage = UUID.v7()
            try await publish(.messagePosted, .init(messageId: publicMessage, ticketId: ticket.id, authorId: world.ids["agent"], body: "Try the displayport cable", isInternal: false))
            try await publish(.messagePosted, .init(messageId: .v7(), ticketId: ticket.id, authorId: world.ids["agent"], body: "Suspect overheating gpu", isInternal: true))
            func search(_ words: String) async throws -> [UUID] {
                try await world.client.json(.get, "/api/v1/tickets?q=\(words)", token: world.token("requestor")).decode(ListPage<TicketJSON>.self).items.map(\.id)
            }
            var found: [UUID] = []
            for _ in 0..<100 where found.isEmpty {
                found = try await search("displayport")
                if found.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(found == [ticket.id])
            #expect(try await search("overheating").isEmpty)
            try await publish(.messageEdited, .init(messageId: publicMessage, ticketId: ticket.id, authorId: world.ids["agent"], body: "Try the hdmi cable", isInternal: false))
            var edited: [UUID] = []
            for _ in 0..<100 where edited.isEmpty {
                edited = try await search("hdmi")
                if edited.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(edited == [ticket.id])
            #expect(try await search("displayport").isEmpty)
        }
    }
}
