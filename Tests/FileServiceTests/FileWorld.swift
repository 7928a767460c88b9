import AuthService
import BaseModel
import Crypto
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

/// file-service against a live auth-service (demo organisation, real tokens) and a live
/// ticket-service it asks about ticket visibility, with a file store in a folder of its own.
struct FileWorld: Sendable {
    let client: any TestClientProtocol
    let tickets: any TestClientProtocol
    let service: BuiltService
    /// The folder the store lives in (`store/` inside it); nothing else may ever appear here.
    let sandbox: URL
    let tokens: [String: String]
    let ids: [String: UUID]
    let departments: [String: UUID]

    static let users = ["admin", "moderator", "agent", "agent.ops", "requestor", "head.hr"]

    /// Runs `body` with file-service reached through its router (or live, for raw HTTP tests).
    ///
    /// With `s3` (an endpoint), the store is that S3-compatible server's bucket `s3Bucket` instead of a folder.
    static func run(
        maxUploadBytes: Int? = nil, setup: TestingSetup = .router, s3: String? = nil, s3Bucket: String = "hdms-files",
        _ body: @Sendable @escaping (FileWorld) async throws -> Void
    ) async throws {
        try await AuthServer.run(try AuthServiceApp.definition()) { auth in
            let (tokens, ids) = try await auth.signIn(users: users)
            let departments = try await auth.departments(token: tokens["admin"] ?? "")
            let ticketService = try await ServiceHarness.build(try TicketServiceApp.definition(), extra: auth.environment(for: .tickets))
            try await ticketService.application.test(.live) { tickets in
                let port = try #require(tickets.port)
                let sandbox = FileManager.default.temporaryDirectory.appendingPathComponent("hdms-files-\(UUID().uuidString.prefix(8))")
                var extra = auth.environment(for: .files)
                extra["HDMS_TICKETS_URL"] = "http://127.0.0.1:\(port)"
                extra["HDMS_FILES_DIR"] = sandbox.appendingPathComponent("store").path
                if let maxUploadBytes { extra["HDMS_MAX_UPLOAD_BYTES"] = String(maxUploadBytes) }
                if let s3 {
                    extra.merge([
                        "HDMS_FILES_STORE": "s3", "HDMS_S3_ENDPOINT": s3, "HDMS_S3_BUCKET": s3Bucket, "HDMS_S3_REGION": "us-east-1",
                        "HDMS_S3_ACCESS_KEY_ID": "hdms-test", "HDMS_S3_SECRET_ACCESS_KEY": "hdms-test-secret", "HDMS_S3_PART_BYTES": String(5 << 20),
                    ]) { $1 }
                }
                let service = try await ServiceHarness.build(try FileServiceApp.definition(), extra: extra)
                do {
                    try await service.application.test(setup) { client in
                        try await body(FileWorld(
                            client: client, tickets: tickets, service: service, sandbox: sandbox, tokens: tokens, ids: ids,
                            departments: departments))
                    }
                } catch {
                    try? FileManager.default.removeItem(at: sandbox)
                    throw error
                }
                try? FileManager.default.removeItem(at: sandbox)
            }
        }
    }

    func token(_ user: String) -> String { self.tokens[user] ?? "" }

    var store: URL { self.sandbox.appendingPathComponent("store") }
    var postgres: PostgresClient { self.service.context.postgres }

    private struct Draft: Encodable {
        var title: String
        var description: String
        var priority = "medium"
        var departmentId: UUID?
    }

    private struct Created: Decodable { var id: UUID }

    /// A ticket raised by `user` for `department` through ticket-service's API, submitted unless `submit` is false.
    func ticket(by user: String = "requestor", department: String = "IT", submit: Bool = true) async throws -> UUID {
        let draft = Draft(title: "Scanner output is garbled", description: "See the attached scans.", departmentId: self.departments[department])
        let created = try await self.tickets.json(.post, "/api/v1/tickets", token: self.token(user), body: draft)
        guard created.status == .created else { throw Problem.badRequest("create failed: \(String(buffer: created.body))") }
        let id = try created.decode(Created.self).id
        if submit {
            let submitted = try await self.tickets.json(
                .post, "/api/v1/tickets/\(id.lowercased)/transitions", token: self.token(user), body: ["action": "submit"])
            guard submitted.status == .ok else { throw Problem.badRequest("submit failed: \(String(buffer: submitted.body))") }
        }
        return id
    }

    /// Uploads `bytes` as `filename` with the declared `type`.
    func upload(
        _ bytes: [UInt8], filename: String, type: String?, ticket: UUID, as user: String = "requestor", isInternal: Bool? = nil
    ) async throws -> TestResponse {
        var uri = "/api/v1/files?ticket_id=\(ticket.lowercased)&filename=\(Self.queryEncoded(filename))"
        if let isInternal { uri += "&internal=\(isInternal)" }
        var headers: HTTPFields = [.authorization: "Bearer \(self.token(user))"]
        if let type { headers[.contentType] = type }
        return try await self.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: bytes))
    }

    /// Uploads `form` (a `multipart/form-data` body delimited by `boundary`), with `filename` in the
    /// query only when given.
    func upload(
        form: [UInt8], boundary: String = "hdms-form-boundary", filename: String? = nil, ticket: UUID, as user: String = "requestor"
    ) async throws -> TestResponse {
        var uri = "/api/v1/files?ticket_id=\(ticket.lowercased)"
        if let filename { uri += "&filename=\(Self.queryEncoded(filename))" }
        let headers: HTTPFields = [
            .authorization: "Bearer \(self.token(user))", .contentType: "multipart/form-data; boundary=\"\(boundary)\"",
        ]
        return try await self.client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(bytes: form))
    }

    /// Uploads a file that must be accepted and returns its metadata.
    func uploaded(
        _ bytes: [UInt8], filename: String = "notes.txt", type: String = "text/plain", ticket: UUID, as user: String = "requestor",
        isInternal: Bool? = nil
    ) async throws -> FileJSON {
        let response = try await self.upload(bytes, filename: filename, type: type, ticket: ticket, as: user, isInternal: isInternal)
        guard response.status == .created else { throw Problem.badRequest("upload failed: \(response.status) \(String(buffer: response.body))") }
        return try response.decode(FileJSON.self)
    }

    /// GETs a path of file-service as `user` (no token when nil).
    func get(_ path: String, as user: String?, headers: HTTPFields = [:]) async throws -> TestResponse {
        var headers = headers
        if let user { headers[.authorization] = "Bearer \(self.token(user))" }
        return try await self.client.execute(uri: path, method: .get, headers: headers, body: nil)
    }

    func delete(_ file: UUID, as user: String) async throws -> TestResponse {
        try await self.client.execute(
            uri: "/api/v1/files/\(file.lowercased)", method: .delete, headers: [.authorization: "Bearer \(self.token(user))"], body: nil)
    }

    /// Every regular file under the sandbox, as paths relative to it.
    func filesOnDisk() -> [String] {
        guard let walker = FileManager.default.enumerator(at: self.sandbox, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        let base = self.sandbox.resolvingSymlinksInPath().path + "/"
        return walker.compactMap { item -> String? in
            guard let url = item as? URL, (try? url.resourceValues(forKeys: [.isRegularFileKey]))?.isRegularFile == true else { return nil }
            return url.resolvingSymlinksInPath().path.replacingOccurrences(of: base, with: "")
        }.sorted()
    }

    /// Where the store keeps a finished file.
    func objectPath(_ id: UUID) -> String {
        let name = id.lowercased
        return "store/objects/\(name.suffix(2))/\(name)"
    }

    /// The number of rows in `files.files`, deleted ones included.
    func rowCount() async throws -> Int {
        try await self.scalar("SELECT count(*)::int FROM files.files")
    }

    func scalar(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await self.postgres.query(query, logger: TestServers.logger).decode(Int.self) { return value }
        return 0
    }

    private static func queryEncoded(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")
        return value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value
    }
}

/// A file's metadata as clients read it.
struct FileJSON: Decodable, Sendable, Equatable {
    var id: UUID
    var ticketId: UUID
    var messageId: UUID?
    var uploaderId: UUID
    var filename: String
    var contentType: String
    var size: Int
    var sha256: String
    var `internal`: Bool
    var createdAt: Date
}

/// Test content of each kind.
enum Sample {
    static func random(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    static func pdf(_ count: Int) -> [UInt8] { Array("%PDF-1.7\n".utf8) + random(max(0, count - 9)) }
    static func png(_ count: Int = 4_096) -> [UInt8] { [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + random(count - 8) }
    static func elf(_ count: Int = 4_096) -> [UInt8] { [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x01, 0x00] + random(count - 8) }
    static func text(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(ascii: "a") + UInt8($0 % 26) } }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }
}
