import BaseModel
import Foundation
import HDMSProtocol
import ServiceKit

/// Checks a message's `attachment_ids` with file-service before anything is stored: each must be a
/// file that exists, is not deleted, belongs to the message's ticket and that the author may read.
///
/// file-service is asked `GET /api/v1/files/{id}/meta` with the author's own token, so it applies
/// its own rules (ticket visibility, internal files for staff only); a file the author may not
/// read is a 404 there, exactly like one that does not exist, and both are refused here the same way.
struct AttachmentCheck: Sendable {
    let files: ServiceHTTPClient

    /// What a message needs to know of a file.
    struct FileMeta: Decodable, Sendable {
        var id: UUID
        var ticketId: UUID
        var isInternal: Bool

        enum CodingKeys: String, CodingKey {
            case id, ticketId
            case isInternal = "internal"
        }
    }

    /// Throws 422 naming `attachment_ids` unless every id is a readable file of `ticket`; an
    /// internal file (an internal note's attachment) may only go on an internal note.
    func verify(_ ids: [UUID], ticket: UUID, isInternal: Bool, identity: Identity) async throws {
        guard !ids.isEmpty else { return }
        let token = identity.isService ? nil : identity.token
        let files = self.files
        let found = try await withThrowingTaskGroup(of: (UUID, FileMeta?).self) { group in
            for id in ids {
                group.addTask {
                    do {
                        return (id, try await files.get("/api/v1/files/\(id.lowercased)/meta", as: FileMeta.self, userToken: token))
                    } catch let problem as Problem {
                        throw problem
                    } catch {
                        throw Problem.unavailable("file-service cannot be reached to check attachments")
                    }
                }
            }
            return try await group.reduce(into: [UUID: FileMeta?]()) { $0[$1.0] = $1.1 }
        }
        var errors: [Problem.FieldError] = []
        for id in ids {
            guard let meta = found[id] ?? nil, meta.id == id, meta.ticketId == ticket else {
                errors.append(.init(field: "attachment_ids", message: "\(id.lowercased) is not a file of this ticket"))
                continue
            }
            if meta.isInternal && !isInternal {
                errors.append(.init(field: "attachment_ids", message: "\(id.lowercased) is an internal file and can only go on an internal note"))
            }
        }
        if !errors.isEmpty { throw Problem.validation(errors) }
    }
}
