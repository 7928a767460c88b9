import AuthService
import BaseModel
@testable import CommunicationService
import FileService
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
    /// file-service, when the world was run with `files: true`.
    let files: (any TestClientProtocol)?
    let service: BuiltService
    let tokens: [String: String]
    let ids: [String: UUID]
    let departments: [String: UUID]
    /// The environment the communication-service was built with, for building a second replica.
    let environment: [String: String]

    static let users = ["admin", "moderator", "agent", "agent.ops", "requestor", "head.hr", "head.finance", "ceo"]

    /// Runs `body` with communication-service reached through `setup`; with `files`, a live
    /// file-service (its store in a temporary folder) is what it asks about attachments.
    static func run(
        setup: TestingSetup = .router, files: Bool = false, extra settings: [String: String] = [:],
        _ body: @Sendable @escaping (CommWorld) async throws -> Void
    ) async throws {
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
                let base = extra
                try await Self.withFileService(files, auth: auth, ticketsPort: port) { fileClient in
                    var extra = base
                    if let filePort = fileClient?.port { extra["HDMS_FILES_URL"] = "http://127.0.0.1:\(filePort)" }
                    let service = try await ServiceHarness.build(try CommunicationServiceApp.definition(), extra: extra)
                    extra["HDMS_DB_NAME"] = service.context.configuration.database.name
                    let environment = extra
                    try await service.application.test(setup) { client in
                        try await body(CommWorld(
                            client: client, tickets: tickets, files: fileClient, service: service, tokens: tokens, ids: ids,
                            departments: departments, environment: environment))
                    }
                }
            }
        }
    }

    /// Runs `body` with a live file-service when `enabled` (nil otherwise).
    private static func withFileService(
        _ enabled: Bool, auth: AuthServer, ticketsPort: Int, _ body: @Sendable @escaping ((any TestClientProtocol)?) async throws -> Void
    ) async throws {
        guard enabled else { return try await body(nil) }
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("hdms-comms-files-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: store) }
        var extra = auth.environment(for: .files)
        extra["HDMS_TICKETS_URL"] = "http://127.0.0.1:\(ticketsPort)"
        extra["HDMS_FILES_DIR"] = store.path
        let fileService = try await ServiceHarness.build(try FileServiceApp.definition(), extra: extra)
        try await fileService.application.test(.live) { client in try await body(client) }
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
        var attachmentIds: [UUID]?
        enum CodingKeys: String, CodingKey {
            case body, attachmentIds
            case isInternal = "internal"
        }
    }

    /// POSTs a message as `user`.
    func post(_ text: String, ticket: UUID, as user: String, isInternal: Bool? = nil, attachments: [UUID]? = nil) async throws -> TestResponse {
        try await self.client.json(
            .post, "/api/v1/conversations/\(ticket.lowercased)/messages", token: self.token(user),
            body: PostBody(body: text, isInternal: isInternal, attachmentIds: attachments))
    }

    private struct UploadedFile: Decodable { var id: UUID }

    /// Uploads a small text file to `ticket` through file-service as `user`; returns its id.
    func upload(to ticket: UUID, as user: String, isInternal: Bool = false) async throws -> UUID {
        let files = try #require(self.files, "the world runs without file-service")
        let response = try await files.execute(
            uri: "/api/v1/files?ticket_id=\(ticket.lowercased)&filename=notes.txt&internal=\(isInternal)", method: .post,
            headers: [.authorization: "Bearer \(self.token(user))", .contentType: "text/plain"], body: ByteBuffer(string: "meeting notes"))
        guard response.status == .created else { throw Problem.badRequest("upload failed: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(UploadedFile.self).id
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
