import BaseModel
@testable import CommunicationService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Conversations", .serialized)
struct ConversationTests {
    /// Requestors never see internal notes, in the thread or in its counts; staff see everything.
    @Test func internalNotesAreHiddenFromTheRequestorInListsAndCounts() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let question = try await world.posted("Is it the office VPN?", ticket: ticket, as: "requestor")
            let answer = try await world.posted("Yes, we are on it.", ticket: ticket, as: "moderator")
            let note = try await world.posted("Probably the expired certificate.", ticket: ticket, as: "moderator", isInternal: true)
            #expect(note.isInternal)

            let requestorView = try await world.page(ticket, as: "requestor")
            #expect(requestorView.items.map(\.id) == [answer.id, question.id])
            let staffView = try await world.page(ticket, as: "moderator")
            #expect(staffView.items.map(\.id) == [note.id, answer.id, question.id])

            let requestorSummary = try await world.summary(ticket, as: "requestor")
            #expect(requestorSummary.messages == 2)
            #expect(requestorSummary.unread == 1)
            let staffSummary = try await world.summary(ticket, as: "moderator")
            #expect(staffSummary.messages == 3)
            #expect(staffSummary.unread == 1)
        }
    }

    /// A requestor asking for an internal note is refused with 403 and nothing is stored.
    @Test func requestorCannotPostInternalNotes() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let response = try await world.post("secret", ticket: ticket, as: "requestor", isInternal: true)
            #expect(response.status == .forbidden)
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.messages") == 0)
        }
    }

    /// A ticket the caller may not see has no conversation for them (404), and unknown tickets neither.
    @Test func ticketsTheCallerCannotSeeAreNotFound() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let foreign = try await world.post("hello", ticket: ticket, as: "agent.ops")
            #expect(foreign.status == .notFound)
            #expect(try await world.get("/api/v1/conversations/\(ticket.lowercased)/messages", as: "agent.ops").status == .notFound)
            let unknown = try await world.post("hello", ticket: UUID(), as: "requestor")
            #expect(unknown.status == .notFound)
        }
    }

    /// Bodies must hold 1 to 10,000 characters of text.
    @Test func blankAndOverlongBodiesAreRejected() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            #expect(try await world.post("   ", ticket: ticket, as: "requestor").status == .unprocessableContent)
            #expect(try await world.post(String(repeating: "a", count: 10_001), ticket: ticket, as: "requestor").status == .unprocessableContent)
            #expect(try await world.post(String(repeating: "a", count: 10_000), ticket: ticket, as: "requestor").status == .created)
        }
    }

    /// Keyset cursors walk the whole thread newest-first and oldest-first without gaps or repeats.
    @Test func messagesPageWithCursorsInBothOrders() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            var posted: [UUID] = []
            for index in 0..<5 {
                posted.append(try await world.posted("message \(index)", ticket: ticket, as: index.isMultiple(of: 2) ? "requestor" : "moderator").id)
            }
            for (order, expected) in [("desc", Array(posted.reversed())), ("asc", posted)] {
                var seen: [UUID] = []
                var cursor: String?
                var pages = 0
                repeat {
                    let query = "?limit=2&order=\(order)" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let page = try await world.page(ticket, as: "requestor", query: query)
                    seen += page.items.map(\.id)
                    cursor = page.nextCursor
                    pages += 1
                } while cursor != nil && pages < 10
                #expect(seen == expected, "order \(order)")
                #expect(pages == 3)
            }
            let wrongSort = try await world.page(ticket, as: "requestor", query: "?limit=2&order=desc")
            let mixed = try await world.get(
                "/api/v1/conversations/\(ticket.lowercased)/messages?order=asc&cursor=\(try #require(wrongSort.nextCursor))", as: "requestor")
            #expect(mixed.status == .unprocessableContent || mixed.status == .badRequest)
        }
    }

    /// Marking read up to a message clears the unread count up to it, and markers never move back.
    @Test func readMarkersClearTheUnreadCount() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let first = try await world.posted("one", ticket: ticket, as: "moderator")
            let second = try await world.posted("two", ticket: ticket, as: "moderator")
            #expect(try await world.summary(ticket, as: "requestor").unread == 2)
            let read = try await world.client.json(
                .post, "/api/v1/conversations/\(ticket.lowercased)/read", token: world.token("requestor"), body: ["up_to": second.id])
            #expect(read.status == .ok)
            let summary = try await world.summary(ticket, as: "requestor")
            #expect(summary.unread == 0)
            #expect(summary.lastReadMessageId == second.id)
            _ = try await world.client.json(
                .post, "/api/v1/conversations/\(ticket.lowercased)/read", token: world.token("requestor"), body: ["up_to": first.id])
            #expect(try await world.summary(ticket, as: "requestor").lastReadMessageId == second.id)
            _ = try await world.posted("three", ticket: ticket, as: "moderator")
            #expect(try await world.summary(ticket, as: "requestor").unread == 1)
        }
    }

    /// Posts, edits and deletes each write an audit row and their event in the same transaction.
    @Test func changesAreAuditedAndPublishedThroughTheOutbox() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let message = try await world.posted("typo hre", ticket: ticket, as: "requestor")
            let path = "/api/v1/conversations/\(ticket.lowercased)/messages/\(message.id.lowercased)"
            let edited = try await world.client.json(.patch, path, token: world.token("requestor"), body: ["body": "typo here"])
            #expect(edited.status == .ok)
            #expect(try edited.decode(Message.self).body == "typo here")
            let deleted = try await world.client.json(.delete, path, token: world.token("requestor"))
            #expect(deleted.status == .noContent)
            #expect(try await world.page(ticket, as: "requestor").items.isEmpty)

            let types = try await world.postgres.query("SELECT type FROM comms.outbox ORDER BY seq", logger: TestServers.logger)
                .decode(String.self).reduce(into: [String]()) { $0.append($1) }
            #expect(types == ["message.posted", "message.edited", "message.deleted"])
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.audit_log WHERE entity_id = \(message.id.lowercased)") == 3)
            let payload = try #require(try await world.postgres.query(
                "SELECT payload FROM comms.outbox WHERE type = 'message.posted'", logger: TestServers.logger)
                .decode(String.self).reduce(into: [String]()) { $0.append($1) }.first)
            let event = try JSONDecoder.hdms.decode(EventEnvelope.self, from: Data(payload.utf8))
            let data = try event.data.decode(as: MessageEventData.self)
            #expect(data == MessageEventData(messageId: message.id, ticketId: ticket, authorId: world.id("requestor"), body: "typo hre", isInternal: false))
        }
    }

    /// Only the author edits or deletes a message.
    @Test func othersCannotEditOrDeleteAMessage() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let message = try await world.posted("mine", ticket: ticket, as: "requestor")
            let path = "/api/v1/conversations/\(ticket.lowercased)/messages/\(message.id.lowercased)"
            #expect(try await world.client.json(.patch, path, token: world.token("moderator"), body: ["body": "theirs"]).status == .forbidden)
            #expect(try await world.client.json(.delete, path, token: world.token("moderator")).status == .forbidden)
            #expect(try await world.page(ticket, as: "requestor").items.map(\.body) == ["mine"])
        }
    }

    /// After 15 minutes a message can no longer be edited or deleted, even by its author.
    @Test func theEditWindowClosesAfterFifteenMinutes() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let message = try await world.posted("old news", ticket: ticket, as: "requestor")
            try await world.postgres.query(
                "UPDATE comms.messages SET created_at = now() - interval '16 minutes' WHERE id = \(message.id)", logger: TestServers.logger)
            let path = "/api/v1/conversations/\(ticket.lowercased)/messages/\(message.id.lowercased)"
            #expect(try await world.client.json(.patch, path, token: world.token("requestor"), body: ["body": "new"]).status == .conflict)
            #expect(try await world.client.json(.delete, path, token: world.token("requestor")).status == .conflict)
        }
    }
}
