import AuthService
import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ServiceKit
@testable import TicketService
import TestSupport

/// ticket-service against a live auth-service with the demo organisation: real tokens, real JWKS,
/// real directory look-ups.
struct TicketWorld: Sendable {
    let client: any TestClientProtocol
    let auth: AuthServer
    let service: BuiltService
    let tokens: [String: String]
    let ids: [String: UUID]
    let departments: [String: UUID]
    /// The demo route "Department head → Finance → CEO".
    let demoRoute: UUID

    static let users = [
        "admin", "moderator", "agent", "agent.ops", "requestor", "head.hr", "head.finance", "ceo",
    ]

    static func run(_ body: @Sendable @escaping (TicketWorld) async throws -> Void) async throws {
        try await AuthServer.run(try AuthServiceApp.definition()) { auth in
            let (tokens, ids) = try await auth.signIn(users: users)
            let departments = try await auth.departments(token: tokens["admin"]!)
            // The service's own scheduler and summary job run once at start and then not again
            // during a test: tests drive them (`runOnce(now:)`, `DashboardSummaryJob.refresh`), so a
            // periodic pass never races what a test counts.
            let extra = auth.environment(for: .tickets).merging(["HDMS_JOBS_INTERVAL": "3600", "HDMS_DASHBOARD_REFRESH_SECONDS": "3600"]) { $1 }
            let service = try await ServiceHarness.build(try TicketServiceApp.definition(), extra: extra)
            try await service.application.test(.router) { client in
                try await DemoData.seed(service.context)
                let routes = try await client.json(.get, "/api/v1/approval-routes", token: tokens["admin"]).decode(ListPage<Route>.self)
                guard let route = routes.items.first(where: { $0.name == DemoData.routeName }) else { throw Problem.notFound("demo route") }
                try await body(TicketWorld(
                    client: client, auth: auth, service: service, tokens: tokens, ids: ids, departments: departments, demoRoute: route.id))
            }
        }
    }

    var postgres: PostgresClient { self.service.context.postgres }

    func token(_ user: String) -> String { self.tokens[user]! }

    struct Create: Encodable {
        var title: String
        var description: String
        var priority: String = "medium"
        var departmentId: UUID?
    }

    /// Raises a draft as `user` for department `department`.
    func draft(_ title: String = "Printer on floor 3 is jammed", description: String = "It shows error E-42 and eats paper.",
               by user: String = "requestor", department: String? = "IT") async throws -> TicketJSON {
        let response = try await self.client.json(.post, "/api/v1/tickets", token: self.token(user), body: Create(
            title: title, description: description, departmentId: department.map { self.departments[$0]! }))
        guard response.status == .created else { throw Problem.badRequest("create failed: \(String(buffer: response.body))") }
        return try response.decode(TicketJSON.self)
    }

    /// Posts a transition and returns the response.
    func act(_ ticket: UUID, _ action: String, as user: String, _ fields: [String: String] = [:]) async throws -> TestResponse {
        var body = fields
        body["action"] = action
        return try await self.client.json(.post, "/api/v1/tickets/\(ticket)/transitions", token: self.token(user), body: body.mapValues(AnyJSON.init))
    }

    /// Posts a transition that must succeed and returns the ticket.
    @discardableResult
    func step(_ ticket: UUID, _ action: String, as user: String, _ fields: [String: String] = [:]) async throws -> TicketJSON {
        let response = try await self.act(ticket, action, as: user, fields)
        guard response.status == .ok else { throw Problem.badRequest("\(action) by \(user) failed: \(String(buffer: response.body))") }
        return try response.decode(TicketJSON.self)
    }

    /// Forces a ticket into a state directly, for table-driven tests of each row.
    func force(_ ticket: UUID, status: String, assignee: String? = "agent", progress: Int = 40) async throws {
        try await self.postgres.query("""
            UPDATE tickets.tickets SET status = \(status), assignee_id = \(assignee.map { self.ids[$0]! }), progress = \(progress),
                version = version + 1
            WHERE id = \(ticket)
            """, logger: TestServers.logger)
    }

    /// How many audit rows a ticket has for an action.
    func auditCount(_ ticket: UUID, action: String? = nil) async throws -> Int {
        let rows = try await self.postgres.query("""
            SELECT count(*)::int FROM tickets.audit_log WHERE entity_id = \(ticket.uuidString.lowercased())
              AND (\(action)::text IS NULL OR action = \(action))
            """, logger: TestServers.logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }
}

/// An approval route as clients read it.
struct Route: Decodable, Sendable {
    var id: UUID
    var name: String
    var steps: [String]
}

/// A string or number in a JSON body.
struct AnyJSON: Encodable {
    let value: String
    init(_ value: String) { self.value = value }
    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let number = Int(self.value) { try container.encode(number) } else { try container.encode(self.value) }
    }
}

/// A ticket as clients read it.
struct TicketJSON: Decodable, Sendable {
    var id: UUID
    var number: String
    var title: String
    var status: String
    var progress: Int
    var reopenCount: Int
    var version: Int
    var departmentId: UUID?
    var assigneeId: UUID?
    var moderatorId: UUID?
    var requestorId: UUID
    var allowedActions: [String]
    var sla: SLA
    struct SLA: Decodable, Sendable { var paused: Bool; var breached: Bool }
}

