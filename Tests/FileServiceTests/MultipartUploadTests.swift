import BaseModel
@testable import FileService
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport

@Suite("Multipart uploads")
struct MultipartUploadTests {
    static let boundary = "hdms-form-boundary"

    /// Over a real connection (the body arrives in pieces cut wherever TCP cuts it), a form's file
    /// part comes back byte for byte, named by its part, even with delimiter-like bytes inside;
    /// other fields are ignored and a filename in the query wins over the part's.
    @Test func aFormsFilePartRoundTrips() async throws {
        try await FileWorld.run(setup: .live) { world in
            let ticket = try await world.ticket()
            // A delimiter's start, a line break and dashes, and the boundary without the line break a delimiter needs.
            let lookalikes = Array("\r\n--\(Self.boundary.dropLast())\r\n-\r\n--x--\(Self.boundary)".utf8)
            var bytes = Sample.pdf(1_500_000)
            for offset in stride(from: 1_000, to: bytes.count - 100, by: 97_003) {
                bytes.replaceSubrange(offset..<offset + lookalikes.count, with: lookalikes)
            }
            let form = Form.body(boundary: Self.boundary, parts: [
                Form.field("ticket_id", "not read from the form"),
                Form.file(bytes, filename: "C:\\Scans\\Scan 1.pdf", type: "application/pdf"),
                Form.field("comment", "after the file"),
            ])
            let response = try await world.upload(form: form, ticket: ticket)
            #expect(response.status == .created, "\(String(buffer: response.body))")
            let file = try response.decode(FileJSON.self)
            #expect(file.filename == "Scan 1.pdf")
            #expect(file.contentType == "application/pdf")
            #expect(file.size == bytes.count)
            #expect(file.sha256 == Sample.sha256(bytes))
            #expect(file.ticketId == ticket)
            let download = try await world.get("/api/v1/files/\(file.id.lowercased)", as: "requestor")
            #expect(download.status == .ok)
            #expect(Array(download.body.readableBytesView) == bytes, "the file differs after the round trip")

            let plain = Form.body(boundary: Self.boundary, parts: [Form.file(Sample.text(10), filename: "ignored.txt", type: "text/plain")])
            let named = try await world.upload(form: plain, filename: "notes.md", ticket: ticket)
            #expect(named.status == .created)
            #expect(try named.decode(FileJSON.self).filename == "notes.md")
            #expect(try await world.rowCount() == 2)
        }
    }

    /// The limit counts the file's bytes only: a file of exactly the limit is accepted although the
    /// form around it is longer; one byte more is 413 and leaves nothing behind.
    @Test func theLimitCountsOnlyTheFilesBytes() async throws {
        try await FileWorld.run(maxUploadBytes: 40_000) { world in
            let ticket = try await world.ticket()
            let atLimit = try await world.upload(form: Self.form(Sample.text(40_000), filename: "limit.txt"), ticket: ticket)
            #expect(atLimit.status == .created, "\(String(buffer: atLimit.body))")
            #expect(try atLimit.decode(FileJSON.self).size == 40_000)
            let over = try await world.upload(form: Self.form(Sample.text(40_001), filename: "over.txt"), ticket: ticket)
            #expect(over.status == .contentTooLarge)
            #expect(over.problem?.type == Problem.typeURI("too-large"))
            #expect(try await world.rowCount() == 1)
            #expect(world.filesOnDisk() == [world.objectPath(try atLimit.decode(FileJSON.self).id)])
        }
    }

    /// Over a real connection, a form whose Content-Length no envelope explains is refused before
    /// its body is sent, and a chunked form is cut off with 413 as soon as its file passes the limit.
    @Test func oversizedFormsAreRefusedWithoutWaitingForTheBody() async throws {
        try await FileWorld.run(maxUploadBytes: 100_000, setup: .live) { world in
            let port = try #require(world.client.port)
            let ticket = try await world.ticket()
            let head = """
                POST /api/v1/files?ticket_id=\(ticket.lowercased) HTTP/1.1\r
                Host: 127.0.0.1\r
                Authorization: Bearer \(world.token("requestor"))\r
                Content-Type: multipart/form-data; boundary=\(Self.boundary)\r

                """
            let length = 100_000 + MultipartParser.maxEnvelopeBytes + 1
            #expect(try await RawHTTP.status(port: port, Array((head + "Content-Length: \(length)\r\n\r\n").utf8)) == 413)
            let opening = Array(
                "--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.txt\"\r\nContent-Type: text/plain\r\n\r\n".utf8)
            var chunked = Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)
            chunked += Array(String(opening.count, radix: 16).utf8) + Array("\r\n".utf8) + opening + Array("\r\n".utf8)
            // 150 KB of file and no final zero-length chunk: the answer must not wait for an end that never comes.
            for _ in 0..<15 { chunked += Array("2710\r\n".utf8) + Sample.text(10_000) + Array("\r\n".utf8) }
            #expect(try await RawHTTP.status(port: port, chunked) == 413)
            #expect(try await world.rowCount() == 0)
            #expect(world.filesOnDisk() == [])
        }
    }

    /// A form cut short (after part of the file was written), without a file part, with two, or
    /// without a boundary is 400 and leaves no file, no row, no audit entry and no event.
    @Test func malformedFormsAreRefusedAndLeaveNothingBehind() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let file = Form.file(Sample.pdf(200_000), filename: "scan.pdf", type: "application/pdf")
            let complete = Form.body(boundary: Self.boundary, parts: [file])
            let refused: [(String, [UInt8], String)] = [
                ("no closing delimiter", Array(complete.dropLast(Self.boundary.count + 6)), "closing delimiter"),
                ("cut in the file", Array(complete.prefix(150_000)), "closing delimiter"),
                ("no file part", Form.body(boundary: Self.boundary, parts: [Form.field("file_name", "scan.pdf")]), "no part named file"),
                ("two file parts", Form.body(boundary: Self.boundary, parts: [file, file]), "more than one part named file"),
                ("another boundary", Form.body(boundary: "other", parts: [Form.file(Sample.pdf(1_000), filename: "a.pdf", type: "application/pdf")]),
                 "no multipart delimiter"),
            ]
            for (label, form, mentioned) in refused {
                let response = try await world.upload(form: form, filename: "scan.pdf", ticket: ticket)
                #expect(response.status == .badRequest, "\(label)")
                #expect(response.problem?.type == Problem.typeURI("bad-request"), "\(label)")
                #expect(response.problem?.detail?.contains(mentioned) == true, "\(label): \(response.problem?.detail ?? "")")
            }
            let noBoundary = try await world.client.execute(
                uri: "/api/v1/files?ticket_id=\(ticket.lowercased)", method: .post,
                headers: [.authorization: "Bearer \(world.token("requestor"))", .contentType: "multipart/form-data"], body: ByteBuffer(bytes: complete))
            #expect(noBoundary.status == .badRequest)
            #expect(noBoundary.problem?.detail?.contains("boundary") == true)
            #expect(try await world.rowCount() == 0)
            #expect(try await world.scalar("SELECT count(*)::int FROM files.audit_log") == 0)
            #expect(try await world.scalar("SELECT count(*)::int FROM files.outbox") == 0)
            #expect(world.filesOnDisk() == [])
        }
    }

    /// The file part's own Content-Type is its declared type and its filename names it: both must
    /// agree with the content (415), and a file must be named somewhere (422).
    @Test func thePartsTypeAndNameMustAgreeWithTheContent() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let refused: [(String, Form.Part, String)] = [
                ("PNG declared as PDF", Form.file(Sample.png(), filename: "photo.png", type: "application/pdf"), "declared as application/pdf"),
                ("PNG named .pdf", Form.file(Sample.png(), filename: "photo.pdf", type: "image/png"), "ends in .pdf"),
                ("PNG named and declared PDF", Form.file(Sample.png(60_000), filename: "photo.pdf", type: "application/pdf"), "PNG"),
                ("no declared type", Form.file(Sample.pdf(2_048), filename: "scan.pdf", type: nil), "Content-Type"),
                ("ELF", Form.file(Sample.elf(), filename: "readme.txt", type: "text/plain"), "ELF executable"),
            ]
            for (label, part, mentioned) in refused {
                let response = try await world.upload(form: Form.body(boundary: Self.boundary, parts: [part]), ticket: ticket)
                #expect(response.status == .unsupportedMediaType, "\(label)")
                #expect(response.problem?.type == Problem.typeURI("file-type-refused"), "\(label)")
                #expect(response.problem?.detail?.contains(mentioned) == true, "\(label): \(response.problem?.detail ?? "")")
            }
            let unnamed = try await world.upload(form: Self.form(Sample.text(10), filename: nil), ticket: ticket)
            #expect(unnamed.status == .unprocessableContent)
            #expect(unnamed.problem?.errors?.map(\.field) == ["filename"])
            #expect(try await world.rowCount() == 0)
            #expect(world.filesOnDisk() == [])
        }
    }

    static func form(_ bytes: [UInt8], filename: String?, type: String = "text/plain") -> [UInt8] {
        Form.body(boundary: Self.boundary, parts: [Form.file(bytes, filename: filename, type: type)])
    }
}
