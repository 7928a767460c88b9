import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import NIOCore
import ServiceKit

/// `/api/v1/files`: streamed upload and download, metadata and delete of ticket attachments.
///
/// A file is readable by exactly those who may see its ticket (ticket-service decides, asked as
/// the caller) and, when it is internal, only by staff. A file a caller may not read does not
/// exist for them (404).
struct FilesController<Store: FileStore>: Sendable {
    let files: FileRepository
    let store: Store
    let access: TicketAccess
    let maxUploadBytes: Int

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/files")
        group.post(use: self.upload)
        group.get(":id", use: self.download)
        group.get(":id/meta", use: self.meta)
        group.delete(":id", use: self.delete)
    }

    /// The query of `POST /api/v1/files`.
    struct UploadQuery: Sendable {
        var ticketId: UUID
        var messageId: UUID?
        /// Nil only when the body is multipart and the file part may name the file instead.
        var filename: String?
        var isInternal: Bool

        init(_ parameters: Parameters, filenameRequired: Bool = true) throws(Problem) {
            var check = Validation()
            let ticket = parameters["ticket_id"].flatMap { UUID(uuidString: String($0)) }
            if ticket == nil { check.fail("ticket_id", parameters["ticket_id"] == nil ? "is required" : "must be a UUID") }
            let message = parameters["message_id"].flatMap { UUID(uuidString: String($0)) }
            if parameters["message_id"] != nil && message == nil { check.fail("message_id", "must be a UUID") }
            let internalFlag = parameters["internal"].map(String.init)
            if let internalFlag, internalFlag != "true" && internalFlag != "false" { check.fail("internal", "must be true or false") }
            var filename: String?
            if filenameRequired || parameters["filename"] != nil {
                do {
                    filename = try FileName.sanitise(parameters["filename"].map(String.init))
                } catch {
                    for field in error.errors ?? [] { check.fail(field.field, field.message) }
                }
            }
            try check.finish()
            guard let ticket else { throw Problem.badRequest("ticket_id is required") }
            self.ticketId = ticket
            self.messageId = message
            self.filename = filename
            self.isInternal = internalFlag == "true"
        }
    }

    /// Streams the file to the store while checking size, type and digest; the row, its audit entry
    /// and its event are written only once the bytes are in place, and the bytes are removed again
    /// if that fails, so a failed upload leaves neither.
    ///
    /// The file is the raw body, its declared type the request's `Content-Type`; or, with a
    /// `multipart/form-data` body, the part named `file`, its declared type that part's own
    /// `Content-Type` and its name (unless the query gives one) the part's `filename`.
    @Sendable func upload(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<FileView> {
        let (me, identity) = try context.requireUser()
        let body = try UploadBody(contentType: request.headers[.contentType])
        let query = try UploadQuery(request.uri.queryParameters, filenameRequired: body == .raw)
        if query.isInternal && !identity.isStaff { throw Problem.forbidden("Only staff attach internal files") }
        // A raw body's declared type is checked before anything is read, a file part's once its headers are.
        let declared = body == .raw ? try AttachmentType.declaredType(request.headers[.contentType]) : nil
        // A multipart body carries delimiters and part headers besides the file; the file's own
        // bytes are held to the limit exactly while they stream.
        let envelope = body == .raw ? 0 : MultipartParser.maxEnvelopeBytes
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > self.maxUploadBytes + envelope {
            throw UploadCheck.tooLarge(self.maxUploadBytes)
        }
        guard try await self.access.canSee(query.ticketId, identity) else { throw Problem.notFound("Ticket \(query.ticketId.lowercased)") }

        switch body {
        case .raw:
            let filename = try query.filename ?? FileName.sanitise(nil)
            let declared = try declared ?? AttachmentType.declaredType(nil)
            return try await self.save(request.body, filename: filename, declared: declared, query: query, uploader: me, context)
        case .multipart(let boundary):
            let file = try await MultipartFile(request.body, boundary: boundary)
            let filename = try query.filename ?? FileName.sanitise(file.part.filename)
            let declared = try AttachmentType.declaredType(file.part.contentType)
            return try await self.save(file, filename: filename, declared: declared, query: query, uploader: me, context)
        }
    }

    /// How an upload's body carries the file.
    enum UploadBody: Equatable {
        /// The body is the file.
        case raw
        /// The body is a `multipart/form-data` form with the file as its part named `file`.
        case multipart(boundary: String)

        init(contentType: String?) throws(Problem) {
            self = try MultipartParser.boundary(of: contentType).map { .multipart(boundary: $0) } ?? .raw
        }
    }

    /// Writes `content` to a new object through the upload checks, then records it.
    private func save<Content: AsyncSequence>(
        _ content: Content, filename: String, declared: String, query: UploadQuery, uploader: UUID, _ context: AppRequestContext
    ) async throws -> EditedResponse<FileView> where Content.Element == ByteBuffer {
        let id = UUID.v7()
        let limit = self.maxUploadBytes
        let checked = try await self.store.create(id) { writer in
            var check = UploadCheck(limit: limit, filename: filename, declared: declared)
            for try await chunk in content {
                try check.accept(chunk)
                try await writer.write(chunk)
            }
            return try check.finish()
        }
        let file = StoredFile(
            id: id, ticketId: query.ticketId, messageId: query.messageId, uploaderId: uploader, filename: filename,
            contentType: checked.type.mediaType, size: checked.size, sha256: checked.sha256, isInternal: query.isInternal,
            createdAt: Date(), deletedAt: nil)
        do {
            let stored = try await self.files.insert(file, actor: context.actor)
            return EditedResponse(status: .created, headers: [.location: "/api/v1/files/\(id.lowercased)"], response: FileView(file: stored))
        } catch {
            // Without its row the file does not exist; its bytes must not stay behind.
            try? await self.store.remove(id)
            throw error
        }
    }

    /// Streams the file (or one range of it) from the store as a download that browsers neither
    /// render nor sniff.
    @Sendable func download(_ request: Request, context: AppRequestContext) async throws -> Response {
        let file = try await self.readable(try context.uuidParameter("id"), context)
        guard let size = try await self.store.size(of: file.id) else {
            context.logger.error("a file's content is missing from the store", metadata: ["file_id": "\(file.id.lowercased)"])
            throw Problem.internalError(requestID: context.requestID)
        }
        let etag = "\"\(file.sha256)\""
        var headers: HTTPFields = [
            .contentType: AttachmentType.servedType(file.contentType),
            .contentDisposition: FileName.contentDisposition(file.filename),
            .xContentTypeOptions: "nosniff",
            .contentSecurityPolicy: "default-src 'none'; sandbox",
            .cacheControl: "private, no-cache",
            .acceptRanges: "bytes",
            .eTag: etag,
        ]
        var range = ByteRange(header: request.headers[.range], size: size)
        if let condition = request.headers[.ifRange], condition != etag { range = .whole }
        let status: HTTPResponse.Status
        let bytes: ClosedRange<Int64>
        switch range {
        case .whole:
            guard size > 0 else {
                headers[.contentLength] = "0"
                return Response(status: .ok, headers: headers, body: .init())
            }
            status = .ok
            bytes = 0...(size - 1)
        case .part(let part):
            status = .partialContent
            bytes = part
            headers[.contentRange] = "bytes \(part.lowerBound)-\(part.upperBound)/\(size)"
        case .unsatisfiable:
            let problem = Problem(status: 416, kind: "range-not-satisfiable", title: "Range not satisfiable", detail: "The file has \(size) bytes")
            var response = try problem.response(from: request, context: context)
            response.headers[.contentRange] = "bytes */\(size)"
            return response
        }
        let store = self.store
        let id = file.id
        let eventLoop = context.eventLoop
        return Response(status: status, headers: headers, body: ResponseBody(contentLength: bytes.count) { writer in
            try await store.read(id, range: bytes) { chunk in try await writer.writePaced(chunk, on: eventLoop) }
            try await writer.finish(nil)
        })
    }

    @Sendable func meta(_ request: Request, context: AppRequestContext) async throws -> FileView {
        FileView(file: try await self.readable(try context.uuidParameter("id"), context))
    }

    /// Soft-deletes the row (audited, with an event), then removes the bytes.
    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let (me, identity) = try context.requireUser()
        let file = try await self.readable(try context.uuidParameter("id"), context)
        guard file.uploaderId == me || identity.has(.admin) else { throw Problem.forbidden("Only the uploader or an admin deletes a file") }
        guard try await self.files.markDeleted(file, actor: context.actor) != nil else { throw Problem.notFound("File \(file.id.lowercased)") }
        do {
            try await self.store.remove(file.id)
        } catch {
            // The row already says deleted, so nobody can reach the bytes; say where they linger.
            context.logger.error("cannot remove a deleted file's content", metadata: ["file_id": "\(file.id.lowercased)", "error": "\(error)"])
        }
        return .noContent
    }

    /// The file if this caller may read it: its ticket is visible to them and, when the file is
    /// internal, they are staff. Anything else is 404, so that existence does not leak.
    private func readable(_ id: UUID, _ context: AppRequestContext) async throws -> StoredFile {
        let identity = try context.requireIdentity()
        guard let file = try await self.files.file(id), !file.isInternal || identity.isStaff,
              try await self.access.canSee(file.ticketId, identity)
        else { throw Problem.notFound("File \(id.lowercased)") }
        return file
    }
}
