import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Ticket lifecycle")
struct LifecycleTests {
    /// The whole happy path through HTTP with the demo users of each role: draft, submit, review,
    /// assign, acknowledge, progress, resolve, confirm; the history names each step.
    @Test func happyPathFromDraftToClosed() async throws {
        try await TicketWorld.run { world in
            let draft = try await world.draft()
            #expect(draft.status == "draft")
            #expect(draft.number.range(of: #"^HD-\d{4}-\d{6}$"#, options: .regularExpression) != nil)
            #expect(Set(draft.allowedActions) == ["submit", "withdraw"])
            let moderatorSeesDraft = try await world.client.json(.get, "/api/v1/tickets/\(draft.id)", token: world.token("moderator"))
            #expect(moderatorSeesDraft.status == .notFound)

            try await world.step(draft.id, "submit", as: "requestor")
            let review = try await world.step(draft.id, "start_review", as: "moderator")
            #expect(review.moderatorId == world.ids["moderator"])
            let assigned = try await world.step(draft.id, "assign", as: "moderator", ["assignee_id": world.ids["agent"]!.uuidString])
            #expect(assigned.status == "assigned")
            #expect(assigned.assigneeId == world.ids["agent"])
            let agentView = try await world.client.json(.get, "/api/v1/tickets/\(draft.id)", token: world.token("agent")).decode(TicketJSON.self)
            #expect(agentView.allowedActions == ["acknowledge"])
            try await world.step(draft.id, "acknowledge", as: "agent")
            try await world.step(draft.id, "update_progress", as: "agent", ["progress": "60"])
            let resolved = try await world.step(draft.id, "resolve", as: "agent")
            #expect(resolved.progress == 100)
            #expect(Set(try await world.client.json(.get, "/api/v1/tickets/\(draft.id)", token: world.token("requestor")).decode(TicketJSON.self).allowedActions) == ["confirm", "reopen"])
            let closed = try await world.step(draft.id, "confirm", as: "requestor")
            #expect(closed.status == "closed")
            #expect(closed.allowedActions.isEmpty)

            struct History: Decodable { var items: [Item]; struct Item: Decodable { var action: String; var fromStatus: String?; var toStatus: String?; var actorId: UUID? } }
            let history = try await world.client.json(.get, "/api/v1/tickets/\(draft.id)/history", token: world.token("requestor")).decode(History.self)
            #expect(history.items.map(\.action) == ["create", "submit", "start_review", "assign", "acknowledge", "update_progress", "resolve", "confirm"])
            #expect(history.items[1].fromStatus == "draft")
            #expect(history.items[1].toStatus == "submitted")
            #expect(history.items[3].actorId == world.ids["moderator"])
            let events = try await world.postgres.query("SELECT type FROM tickets.outbox ORDER BY seq", logger: TestServers.logger)
            var types: [String] = []
            for try await type in events.decode(String.self) { types.append(type) }
            #expect(types == [
                "ticket.created", "ticket.submitted", "ticket.status_changed", "ticket.assigned", "ticket.status_changed",
                "ticket.updated", "ticket.status_changed", "ticket.status_changed",
            ], "update_progress keeps the status, so it publishes ticket.updated")
        }
    }

    /// Parameters each action needs to succeed.
    static func fields(for action: TicketAction, _ world: TicketWorld) -> [String: String] {
        switch action {
        case .reject, .close, .reopen, .requestInfo: ["reason": "Because the table says so"]
        case .postpone: ["reason": "Waiting for parts", "resume_at": RFC3339.format(Date().addingTimeInterval(86_400))]
        case .provideInfo: ["comment": "Here is what you asked"]
        case .updateProgress: ["progress": "70"]
        case .assign, .reassign: ["assignee_id": world.ids["agent"]!.uuidString]
        case .requestApproval: ["route_id": world.demoRoute.uuidString]
        default: [:]
        }
    }

    /// A demo user standing as `party` to a ticket raised by requestor@ for IT and held by agent@.
    static func user(for party: Party) -> String? {
        switch party {
        case .owner: "requestor"
        case .moderator: "moderator"
        case .assignee: "agent"
        case .admin: "admin"
        case .approver, .system: nil
        }
    }

    /// A demo user who can see the ticket but is none of the parties of `row`.
    static func outsider(for row: Transition) -> String {
        if !row.by.contains(.owner) { return "requestor" }
        return "agent"
    }

    /// Every row of the lifecycle table: allowed from each of its states for its party, refused with
    /// 403 for a party that may never do it, and with 409 naming the state from a state it does not
    /// leave. A new row is tested by being added to the table.
    @Test func everyTableRowIsEnforced() async throws {
        try await TicketWorld.run { world in
            for row in Lifecycle.table {
                for from in row.from.sorted(by: { $0.rawValue < $1.rawValue }) {
                    for party in row.by.sorted(by: { "\($0)" < "\($1)" }) {
                        guard let user = Self.user(for: party) else { continue }
                        let ticket = try await world.draft("Row \(row.action.rawValue) from \(from.rawValue)")
                        try await world.force(ticket.id, status: from.rawValue)
                        let response = try await world.act(ticket.id, row.action.rawValue, as: user, Self.fields(for: row.action, world))
                        #expect(response.status == .ok, "\(row.action) by \(user) from \(from): \(String(buffer: response.body))")
                        if response.status == .ok {
                            #expect(try response.decode(TicketJSON.self).status == row.to.rawValue)
                        }
                    }
                }
                let ticket = try await world.draft("Refusals of \(row.action.rawValue)")
                let from = row.from.sorted(by: { $0.rawValue < $1.rawValue })[0]
                try await world.force(ticket.id, status: from.rawValue)
                let outsider = Self.outsider(for: row)
                let forbidden = try await world.act(ticket.id, row.action.rawValue, as: outsider, Self.fields(for: row.action, world))
                // A draft is its requestor's alone: to anyone else it does not exist.
                #expect(forbidden.status == (from == .draft ? .notFound : .forbidden), "\(row.action) by \(outsider)")
                // Rows only the scheduler takes are covered by the scheduler's tests.
                guard let party = row.by.sorted(by: { "\($0)" < "\($1)" }).compactMap(Self.user(for:)).first else { continue }
                let wrongState = TicketStatus.allCases.first { !row.from.contains($0) && $0 != .draft } ?? .closed
                try await world.force(ticket.id, status: wrongState.rawValue)
                let conflict = try await world.act(ticket.id, row.action.rawValue, as: party, Self.fields(for: row.action, world))
                #expect(conflict.status == .conflict, "\(row.action) from \(wrongState)")
                #expect(conflict.problem?.detail?.contains(wrongState.rawValue) == true)
                #expect(conflict.problem?.type == "https://hdms.dev/problems/invalid-transition")
            }
        }
    }

    /// A ticket reopens at most twice; the third reopen is refused with a clear 409.
    @Test func reopenLimit() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.force(ticket.id, status: "resolved")
            for attempt in 1...2 {
                let reopened = try await world.step(ticket.id, "reopen", as: "requestor", ["reason": "Still broken (\(attempt))"])
                #expect(reopened.reopenCount == attempt)
                try await world.step(ticket.id, "resolve", as: "agent")
            }
            let third = try await world.act(ticket.id, "reopen", as: "requestor", ["reason": "Once more"])
            #expect(third.status == .conflict)
            #expect(third.problem?.type == "https://hdms.dev/problems/reopen-limit")
        }
    }

    /// 50 concurrent transitions on one ticket: exactly one wins, the others get 409, and exactly one
    /// audit row is written.
    @Test func concurrentTransitionsHaveOneWinner() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.step(ticket.id, "submit", as: "requestor")
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await world.act(ticket.id, "start_review", as: "moderator").status }
                }
                return try await group.reduce(into: [HTTPResponse.Status]()) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .ok }.count == 1)
            #expect(statuses.filter { $0 == .conflict }.count == 49)
            #expect(try await world.auditCount(ticket.id, action: "start_review") == 1)
        }
    }

    /// Bad input is refused with problem+json and changes nothing: unknown action, missing reason,
    /// progress out of range, a decrease without reason, stale version, unknown ticket, oversized title.
    @Test func badInputChangesNothing() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.force(ticket.id, status: "in_progress", progress: 50)
            let before = try await world.auditCount(ticket.id)
            let cases: [(String, String, [String: String], HTTPResponse.Status)] = [
                ("fly", "agent", [:], .unprocessableContent),
                ("request_info", "agent", [:], .unprocessableContent),
                ("update_progress", "agent", ["progress": "150"], .unprocessableContent),
                ("update_progress", "agent", ["progress": "20"], .unprocessableContent),
                ("update_progress", "agent", ["progress": "60", "version": "1"], .conflict),
                ("close", "moderator", [:], .unprocessableContent),
            ]
            for (action, user, fields, expected) in cases {
                let response = try await world.act(ticket.id, action, as: user, fields)
                #expect(response.status == expected, "\(action) \(fields)")
                #expect(response.headers[.contentType] == "application/problem+json")
            }
            #expect(try await world.auditCount(ticket.id) == before)
            let unchanged = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token("agent")).decode(TicketJSON.self)
            #expect(unchanged.progress == 50)
            #expect(unchanged.status == "in_progress")
            #expect(try await world.act(UUID(), "submit", as: "requestor").status == .notFound)
            let long = try await world.client.json(.post, "/api/v1/tickets", token: world.token("requestor"),
                                                   body: TicketWorld.Create(title: String(repeating: "x", count: 201), description: ""))
            #expect(long.status == .unprocessableContent)
            #expect(long.problem?.errors?.first?.field == "title")
            #expect(try await world.client.json(.post, "/api/v1/tickets", token: world.token("agent"),
                                                body: TicketWorld.Create(title: "Agents do not raise", description: "")).status == .forbidden)
            let submitEmpty = try await world.draft("No description", description: "")
            let refused = try await world.act(submitEmpty.id, "submit", as: "requestor")
            #expect(refused.status == .unprocessableContent)
            #expect(refused.problem?.errors?.map(\.field) == ["description"])
        }
    }
}
