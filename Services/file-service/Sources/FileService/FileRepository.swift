import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit

/// A file's metadata: the row of `files.files`. Its bytes are the store's object of the same id.
struct StoredFile: Codable, Sendable, Equatable {
    var id: UUID
    var ticketId: UUID
    var messageId: UUID?
    var uploaderId: UUID
    var filename: String
    var contentType: String
    var size: Int
    var sha256: String
    var isInternal: Bool
    var createdAt: Date
    var deletedAt: Date?

    enum CodingKeys: String, CodingKey {
        case id, ticketId, messageId, uploaderId, filename, contentType, size, sha256, createdAt, deletedAt
        case isInternal = "internal"
    }
}

/// A file as the API shows it (API.md "file-service"), nulls included.
struct FileView: Encodable, Sendable, ResponseEncodable {
    var file: StoredFile

    enum Keys: String, CodingKey {
        case id, ticketId, messageId, uploaderId, filename, contentType, size, sha256, createdAt
        case isInternal = "internal"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(self.file.id, forKey: .id)
        try container.encode(self.file.ticketId, forKey: .ticketId)
        try container.encode(self.file.messageId, forKey: .messageId)
        try container.encode(self.file.uploaderId, forKey: .uploaderId)
        try container.encode(self.file.filename, forKey: .filename)
        try container.encode(self.file.contentType, forKey: .contentType)
        try container.encode(self.file.size, forKey: .size)
        try container.encode(self.file.sha256, forKey: .sha256)
        try container.encode(self.file.isInternal, forKey: .isInternal)
        try container.encode(self.file.createdAt, forKey: .createdAt)
    }
}

/// All SQL of files. Interpolated values are bind parameters.
struct FileRepository: Sendable {
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger

    private static let columns = "id, ticket_id, message_id, uploader_id, filename, content_type, size, sha256, internal, created_at, deleted_at"
    private typealias Row = (UUID, UUID, UUID?, UUID, String, String, Int, String, Bool, Date, Date?)

    /// Records an uploaded file with its audit row and `file.uploaded` event, in one transaction.
    func insert(_ file: StoredFile, actor: AuditActor) async throws -> StoredFile {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                INSERT INTO files.files (id, ticket_id, message_id, uploader_id, filename, content_type, size, sha256, internal)
                VALUES (\(file.id), \(file.ticketId), \(file.messageId), \(file.uploaderId), \(file.filename), \(file.contentType),
                        \(file.size), \(file.sha256), \(file.isInternal))
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            guard let stored = try await Self.one(rows) else { throw Problem.internalError(requestID: actor.requestId) }
            try await self.outbox.record(Change(
                type: .fileUploaded, action: "file.upload", subject: .init(kind: "file", id: stored.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: stored),
                details: Self.summary(stored)), on: connection, logger: self.logger)
            return stored
        }
    }

    /// A file that is not deleted.
    func file(_ id: UUID) async throws -> StoredFile? {
        try await Self.one(self.client.query(
            "SELECT \(unescaped: Self.columns) FROM files.files WHERE id = \(id) AND deleted_at IS NULL", logger: self.logger))
    }

    /// Marks a file deleted with its audit row and `file.deleted` event, in one transaction; nil
    /// when it was already deleted (a concurrent delete won).
    func markDeleted(_ before: StoredFile, actor: AuditActor) async throws -> StoredFile? {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                UPDATE files.files SET deleted_at = now() WHERE id = \(before.id) AND deleted_at IS NULL
                RETURNING \(unescaped: Self.columns)
                """, logger: self.logger)
            guard let deleted = try await Self.one(rows) else { return nil }
            try await self.outbox.record(Change(
                type: .fileDeleted, action: "file.delete", subject: .init(kind: "file", id: deleted.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, before: try JSONValue(encoding: before),
                after: try JSONValue(encoding: deleted), details: Self.summary(deleted)), on: connection, logger: self.logger)
            return deleted
        }
    }

    /// The fields consumers route on (notifications, the conversation that shows attachments).
    private static func summary(_ file: StoredFile) -> [String: JSONValue] {
        [
            "file_id": .string(file.id.lowercased), "ticket_id": .string(file.ticketId.lowercased),
            "message_id": file.messageId.map { .string($0.lowercased) } ?? .null, "uploader_id": .string(file.uploaderId.lowercased),
            "filename": .string(file.filename), "content_type": .string(file.contentType), "size": .number(Double(file.size)),
            "internal": .bool(file.isInternal),
        ]
    }

    private static func one(_ rows: PostgresRowSequence) async throws -> StoredFile? {
        for try await row in rows.decode(Row.self) {
            return StoredFile(
                id: row.0, ticketId: row.1, messageId: row.2, uploaderId: row.3, filename: row.4, contentType: row.5,
                size: row.6, sha256: row.7, isInternal: row.8, createdAt: row.9, deletedAt: row.10)
        }
        return nil
    }
}
