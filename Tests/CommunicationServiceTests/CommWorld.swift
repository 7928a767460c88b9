import AuthService
import BaseModel
@testable import CommunicationService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import ServiceKit
import Testing
import TestSupport
import TicketService

/// communication-service against a live auth-service (demo organisation, real tokens) and a live
/// ticket-service it asks about ticket visibility.
struct CommWorld: Sendable {
    let client: any TestClientProtocol
    let tickets: any TestClientProtocol
    let service: BuiltService
    let tokens: [String: String]
    let ids: [String: UUID]
    let departments: [String: UUID]
    /// The environment the communication-service was built with, for building a second replica.
    let environment: [String: String]

    static let users = ["admin", "moderator", "agent", "agent.ops", "requestor", "head.hr", "head.finance"]

    /// Runs `body` with communication-service reached through `setup`.
    static func run(
        setup: TestingSetup = .router, extra settings: [String: String] = [:], _ body: @Sendable @escaping (CommWorld) async throws -> Void) async throws {
        try await AuthServer.run(try AuthServiceApp.definition()) { auth in
            let (tokens, ids) = try await auth.signIn(users: users)
            let departments = try await auth.departments(token: tokens["admin"] ?? "")
            let ticketService = try await ServiceHarness.build(try TicketServiceApp.definition(), extra: auth.environment(for: .tickets))
            try await ticketService.application.test(.live) { tickets in
                let port = try #require(tickets.port)
                var extra = auth.environment(for: .communication)
                extra["HDMS_TICKETS_URL"] = "http://127.0.0.1:\(port)"
                extra["HDMS_REDIS_PREFIX"] = "t" + UUID().uuidString.prefix(8).lowercased()
                extra.merge(settings) { $1 }
                let service = try await ServiceHarness.build(try CommunicationServiceApp.definition(), extra: extra)
                extra["HDMS_DB_NAME"] = service.context.configuration.database.name
                let environment = extra
                try await service.application.test(setup) { client in
                    try await body(CommWorld(
                        client: client, tickets: tickets, service: service, tokens: tokens, ids: ids,
                        departments: departments, environment: environment))
                }
            }
        }
    }

    func token(_ user: String) -> String { self.tokens[user] ?? "" }
    func id(_ user: String) -> UUID { self.ids[user] ?? UUID() }
    var postgres: PostgresClient { self.service.context.postgres }

    private struct Draft: Encodable {
        var title: String
        var description: String
        var priority = "medium"
        var departmentId: UUID?
    }

    private struct Created: Decodable { var id: UUID }

    /// A ticket raised by `user` for `department` through ticket-service's API, submitted.
    func ticket(by user: String = "requestor", department: String = "IT") async throws -> UUID {
        let draft = Draft(title: "VPN drops every hour", description: "Since Monday.", departmentId: self.departments[department])
        let created = try await self.tickets.json(.post, "/api/v1/tickets", token: self.token(user), body: draft)
        guard created.status == .created else { throw Problem.badRequest("create failed: \(String(buffer: created.body))") }
        let id = try created.decode(Created.self).id
        let submitted = try await self.tickets.json(
            .post, "/api/v1/tickets/\(id.lowercased)/transitions", token: self.token(user), body: ["action": "submit"])
        guard submitted.status == .ok else { throw Problem.badRequest("submit failed: \(String(buffer: submitted.body))") }
        return id
    }

    struct PostBody: Encodable {
        var body: String
        var isInternal: Bool?
        enum CodingKeys: String, CodingKey {
            case body
            case isInternal = "internal"
        }
    }

    /// POSTs a message as `user`.
    func post(_ text: String, ticket: UUID, as user: String, isInternal: Bool? = nil) async throws -> TestResponse {
        try await self.client.json(
            .post, "/api/v1/conversations/\(ticket.lowercased)/messages", token: self.token(user),
            body: PostBody(body: text, isInternal: isInternal))
    }

    /// Posts a message that must be accepted.
    func posted(_ text: String, ticket: UUID, as user: String, isInternal: Bool? = nil) async throws -> Message {
        let response = try await self.post(text, ticket: ticket, as: user, isInternal: isInternal)
        guard response.status == .created else { throw Problem.badRequest("post failed: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(Message.self)
    }

    /// GETs `path` as `user`.
    func get(_ path: String, as user: String) async throws -> TestResponse {
        try await self.client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(self.token(user))"], body: nil)
    }

    /// A page of a thread as `user`.
    func page(_ ticket: UUID, as user: String, query: String = "") async throws -> MessagePage {
        let response = try await self.get("/api/v1/conversations/\(ticket.lowercased)/messages\(query)", as: user)
        guard response.status == .ok else { throw Problem.badRequest("list failed: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(MessagePage.self)
    }

    /// The conversation summary as `user`.
    func summary(_ ticket: UUID, as user: String) async throws -> ConversationSummary {
        let response = try await self.get("/api/v1/conversations/\(ticket.lowercased)", as: user)
        guard response.status == .ok else { throw Problem.badRequest("summary failed: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(ConversationSummary.self)
    }

    func scalar(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await self.postgres.query(query, logger: TestServers.logger).decode(Int.self) { return value }
        return 0
    }
}

struct MessagePage: Decodable {
    var items: [Message]
    var nextCursor: String?
}
