import BaseModel
@testable import CommunicationService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Redis
import ServiceKit
import Testing
import TestSupport

@Suite("Notifications", .serialized)
struct NotificationTests {
    /// Each event kind reaches exactly its recipients, once, even when the same event is delivered twice.
    @Test func eachEventKindReachesItsRecipientsExactlyOnce() async throws {
        try await CommWorld.run { world in
            let consumer = world.consumer()
            let ticket = UUID()
            let it = try #require(world.departments["IT"])
            let hr = try #require(world.departments["HR"])
            func summary(department: UUID = it, assignee: String? = nil) -> [String: JSONValue] {
                [
                    "ticket_id": .string(ticket.lowercased), "number": .string("HD-2026-000042"), "title": .string("Printer on fire"),
                    "status": .string("in_progress"), "requestor_id": .string(world.id("requestor").lowercased),
                    "department_id": .string(department.lowercased), "moderator_id": .string(world.id("moderator").lowercased),
                    "assignee_id": assignee.map { .string(world.id($0).lowercased) } ?? .null,
                ]
            }
            func list(_ users: String...) -> JSONValue { .array(users.map { .string(world.id($0).lowercased) }) }
            func with(_ base: [String: JSONValue], _ extra: [String: JSONValue]) -> JSONValue { .object(base.merging(extra) { $1 }) }
            let cases: [(EventType, JSONValue, UUID?, Set<String>)] = [
                (.ticketSubmitted, .object(summary()), nil, ["moderator"]),
                (.ticketAssigned, .object(summary(assignee: "agent")), world.id("moderator"), ["agent"]),
                (.ticketStatusChanged, .object(summary(assignee: "agent")), world.id("agent"), ["requestor"]),
                (.approvalRequested, with(summary(), ["recipients": list("head.hr")]), nil, ["head.hr"]),
                (.approvalDecided, with(summary(), ["transition": .string("approve")]), world.id("head.hr"), ["requestor"]),
                (.slaBreached, with(summary(department: hr, assignee: "agent"), ["recipients": list("moderator", "agent")]), nil,
                 ["moderator", "agent", "head.hr"]),
                (.reminderDue, with(summary(assignee: "agent"), ["recipients": list("agent", "moderator")]), nil, ["agent", "moderator"]),
                (.ticketAutoClosed, .object(summary()), nil, ["requestor"]),
                (.messagePosted, with(summary(assignee: "agent"), try world.messageData(ticket: ticket, author: "agent", isInternal: false)),
                 world.id("agent"), ["requestor", "moderator"]),
                (.messagePosted, with(summary(assignee: "agent"), try world.messageData(ticket: ticket, author: "moderator", isInternal: true)),
                 world.id("moderator"), ["agent"]),
            ]
            for (type, data, actor, expected) in cases {
                let event = EventEnvelope(type: type, actorId: actor, subject: .init(kind: "ticket", id: ticket.lowercased), data: data)
                let entry = try StreamEntry(stream: "test", id: "0-1", fields: ["event": Array(JSONEncoder.hdms.encode(event))])
                try await consumer.process([entry])
                try await consumer.process([entry])
                let recipients = try await world.recipients(of: event.id)
                #expect(recipients.sorted() == expected.map { world.id($0) }.sorted(), "\(type.rawValue) went to the wrong people")
                #expect(recipients.count == expected.count, "\(type.rawValue) stored more than once")
            }
        }
    }

    /// A ticket's followers, its watchers and the approvers of its steps, hear of its messages
    /// (asked of ticket-service as the service); of an internal note only the followers who are staff.
    @Test func followersAreNotifiedOfMessagesAndOnlyStaffOfInternalNotes() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            for watcher in ["head.hr", "head.finance"] {
                let watch = try await world.tickets.json(
                    .post, "/api/v1/tickets/\(ticket.lowercased)/watchers", token: world.token("requestor"), body: ["employee_id": world.id(watcher)])
                #expect(watch.status == .noContent, "\(String(buffer: watch.body))")
            }
            let consumer = world.consumer()
            let summary: [String: JSONValue] = [
                "ticket_id": .string(ticket.lowercased), "number": .string("HD-2026-000043"), "title": .string("VPN drops every hour"),
                "requestor_id": .string(world.id("requestor").lowercased), "moderator_id": .string(world.id("moderator").lowercased),
                "assignee_id": .string(world.id("agent").lowercased),
            ]
            // head.hr is a requestor only; head.finance also moderates Finance. The route's one step is
            // the head of the requestor's department (HR): head.hr, already a watcher; so the approver
            // that counts is the CEO, added as a second step.
            let route = try await world.tickets.json(
                .post, "/api/v1/approval-routes", token: world.token("admin"),
                body: ApprovalRouteBody(name: "Head, then CEO", steps: ["head_of_requestor_department", "ceo"]))
            #expect(route.status == .created, "\(String(buffer: route.body))")
            let routeID = try route.decode(Created.self).id
            for (action, fields) in [("start_review", [:]), ("request_approval", ["route_id": routeID.lowercased])] as [(String, [String: String])] {
                let step = try await world.tickets.json(
                    .post, "/api/v1/tickets/\(ticket.lowercased)/transitions", token: world.token("moderator"),
                    body: fields.merging(["action": action]) { $1 })
                #expect(step.status == .ok, "\(action): \(String(buffer: step.body))")
            }
            let approve = try await world.tickets.json(
                .post, "/api/v1/tickets/\(ticket.lowercased)/transitions", token: world.token("head.hr"), body: ["action": "approve"])
            #expect(approve.status == .ok, "\(String(buffer: approve.body))")
            // The CEO (a requestor only) now decides the second step.
            let cases: [(author: String, isInternal: Bool, expected: Set<String>)] = [
                ("agent", false, ["requestor", "moderator", "head.hr", "head.finance", "ceo"]),
                ("moderator", true, ["agent", "head.finance"]),
            ]
            for (author, isInternal, expected) in cases {
                let data = summary.merging(try world.messageData(ticket: ticket, author: author, isInternal: isInternal)) { $1 }
                let event = EventEnvelope(
                    type: .messagePosted, actorId: world.id(author), subject: .init(kind: "message", id: UUID().lowercased), data: .object(data))
                let entry = try StreamEntry(stream: "test", id: "0-1", fields: ["event": Array(JSONEncoder.hdms.encode(event))])
                try await consumer.process([entry])
                let recipients = try await world.recipients(of: event.id)
                #expect(Set(recipients) == Set(expected.map { world.id($0) }), "internal: \(isInternal)")
                #expect(recipients.count == expected.count)
            }
        }
    }

    /// A muted kind is not stored for the user who muted it, while others still get it.
    @Test func mutedKindsAreNotStored() async throws {
        try await CommWorld.run { world in
            let saved = try await world.client.json(
                .put, "/api/v1/notification-preferences", token: world.token("requestor"), body: ["muted_kinds": ["ticket.status_changed"]])
            #expect(saved.status == .ok)
            let read = try await world.get("/api/v1/notification-preferences", as: "requestor")
            #expect(try read.decode(NotificationPreferences.self).mutedKinds == ["ticket.status_changed"])
            let bad = try await world.client.json(
                .put, "/api/v1/notification-preferences", token: world.token("requestor"), body: ["muted_kinds": ["nonsense"]])
            #expect(bad.status == .unprocessableContent)

            let consumer = world.consumer()
            let ticket = UUID()
            let data: JSONValue = .object([
                "ticket_id": .string(ticket.lowercased), "number": .string("HD-2026-000043"), "title": .string("Muted"),
                "requestor_id": .string(world.id("requestor").lowercased),
            ])
            let muted = EventEnvelope(type: .ticketStatusChanged, actorId: nil, subject: .init(kind: "ticket", id: ticket.lowercased), data: data)
            let closed = EventEnvelope(type: .ticketAutoClosed, actorId: nil, subject: .init(kind: "ticket", id: ticket.lowercased), data: data)
            for event in [muted, closed] {
                try await consumer.process([StreamEntry(stream: "test", id: "0-1", fields: ["event": Array(JSONEncoder.hdms.encode(event))])])
            }
            #expect(try await world.recipients(of: muted.id).isEmpty)
            #expect(try await world.recipients(of: closed.id) == [world.id("requestor")])
        }
    }

    /// A message posted over HTTP notifies the ticket's requestor through the outbox, the stream and
    /// the consumer; the inbox pages, and marks one or all read.
    @Test func postedMessagesNotifyTheRequestorAndTheInboxMarksRead() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            _ = try await world.posted("We are looking into it.", ticket: ticket, as: "moderator")
            _ = try await world.posted("Found it.", ticket: ticket, as: "moderator")
            var items: [NotificationItem] = []
            for _ in 0..<100 {
                items = try await world.get("/api/v1/notifications", as: "requestor").decode(NotificationPage.self).items
                if items.count == 2 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(items.count == 2)
            #expect(items.allSatisfy { $0.kind == "message.posted" && $0.ticketId == ticket })
            #expect(items.first?.body == "Found it.")
            let firstPage = try await world.get("/api/v1/notifications?limit=1", as: "requestor").decode(NotificationPage.self)
            let cursor = try #require(firstPage.nextCursor)
            let secondPage = try await world.get("/api/v1/notifications?limit=1&cursor=\(cursor)", as: "requestor").decode(NotificationPage.self)
            #expect(firstPage.items.map(\.id) + secondPage.items.map(\.id) == items.map(\.id))

            let one = try await world.client.json(.post, "/api/v1/notifications/\(items[0].id.lowercased)/read", token: world.token("requestor"))
            #expect(one.status == .ok)
            #expect(try one.decode(NotificationItem.self).readAt != nil)
            let others = try await world.client.json(.post, "/api/v1/notifications/\(items[0].id.lowercased)/read", token: world.token("moderator"))
            #expect(others.status == .notFound)
            let all = try await world.client.json(.post, "/api/v1/notifications/read-all", token: world.token("requestor"))
            #expect(try all.decode(NotificationsController.Marked.self).marked == 1)
            let unread = try await world.get("/api/v1/notifications?unread=true", as: "requestor").decode(NotificationPage.self)
            #expect(unread.items.isEmpty)
        }
    }
}

struct ApprovalRouteBody: Encodable {
    var name: String
    var steps: [String]
}

private struct Created: Decodable { var id: UUID }

struct NotificationPage: Decodable {
    var items: [NotificationItem]
    var nextCursor: String?
}

extension CommWorld {
    /// A consumer running this service's notifier, for feeding it events directly.
    func consumer() -> EventConsumer {
        let context = self.service.context
        let live = LiveFanOut(redis: context.redis, configuration: context.configuration)
        let tickets = ServiceHTTPClient(
            baseURL: context.configuration.ticketsURL, audience: .tickets, tokens: context.serviceTokens,
            timeout: context.configuration.serviceCallTimeout)
        let notifier = Notifier(
            notifications: NotificationRepository(client: context.postgres, logger: context.logger), directory: context.directory,
            tickets: TicketLookup(tickets: tickets), live: live, logger: context.logger)
        return EventConsumer(
            client: context.postgres, redis: context.redis, schema: context.schema, stream: "\(context.configuration.redisPrefix):test",
            group: "test", consumer: "test", logger: context.logger
        ) { event, connection in try await notifier.handle(event, on: connection) }
    }

    /// The `data` fields of a message event.
    func messageData(ticket: UUID, author: String, isInternal: Bool) throws -> [String: JSONValue] {
        let data = MessageEventData(messageId: UUID(), ticketId: ticket, authorId: self.id(author), body: "hello", isInternal: isInternal)
        guard case .object(let fields) = try JSONValue(encoding: data) else { return [:] }
        return fields
    }

    /// Who got a notification from `event`, one entry per stored row.
    func recipients(of event: UUID) async throws -> [UUID] {
        try await self.postgres.query("SELECT user_id FROM comms.notifications WHERE event_id = \(event)", logger: TestServers.logger)
            .decode(UUID.self).reduce(into: [UUID]()) { $0.append($1) }
    }
}
