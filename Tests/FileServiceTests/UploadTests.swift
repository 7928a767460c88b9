import BaseModel
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

@Suite("Uploads and downloads")
struct UploadTests {
    /// Empty, one-byte and 10 MiB files come back byte for byte, with the SHA-256 and size they were stored with.
    @Test func filesRoundTripByteForByte() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let samples: [(String, String, [UInt8])] = [
                ("empty.txt", "text/plain", []),
                ("one.txt", "text/plain", [UInt8(ascii: "x")]),
                ("scan.pdf", "application/pdf", Sample.pdf(10 * 1024 * 1024)),
            ]
            for (name, type, bytes) in samples {
                let file = try await world.uploaded(bytes, filename: name, type: type, ticket: ticket)
                #expect(file.size == bytes.count, "\(name)")
                #expect(file.sha256 == Sample.sha256(bytes), "\(name)")
                #expect(file.filename == name)
                #expect(file.contentType == type)
                #expect(file.ticketId == ticket)
                #expect(file.uploaderId == world.ids["requestor"])
                #expect(!file.internal)
                let download = try await world.get("/api/v1/files/\(file.id.lowercased)", as: "requestor")
                #expect(download.status == .ok, "\(name)")
                #expect(Array(download.body.readableBytesView) == bytes, "\(name) differs after the round trip")
                #expect(download.headers[.contentLength] == String(bytes.count))
                #expect(download.headers[.contentType]?.hasPrefix(type) == true)
                #expect(download.headers[.xContentTypeOptions] == "nosniff")
                #expect(download.headers[.contentDisposition] == "attachment; filename=\"\(name)\"; filename*=UTF-8''\(name)")
                let meta = try await world.get("/api/v1/files/\(file.id.lowercased)/meta", as: "requestor")
                #expect(try meta.decode(FileJSON.self) == file)
            }
            #expect(try await world.rowCount() == 3)
        }
    }

    /// A file of exactly the limit is accepted; one byte more is 413 and leaves no file and no row.
    @Test func theLimitIsInclusiveAndOneByteMoreIsTooLarge() async throws {
        try await FileWorld.run(maxUploadBytes: 40_000) { world in
            let ticket = try await world.ticket()
            let atLimit = try await world.upload(Sample.text(40_000), filename: "limit.txt", type: "text/plain", ticket: ticket)
            #expect(atLimit.status == .created)
            let over = try await world.upload(Sample.text(40_001), filename: "over.txt", type: "text/plain", ticket: ticket)
            #expect(over.status == .contentTooLarge)
            #expect(over.problem?.type == Problem.typeURI("too-large"))
            #expect(try await world.rowCount() == 1)
            let id = try atLimit.decode(FileJSON.self).id
            #expect(world.filesOnDisk() == [world.objectPath(id)])
        }
    }

    /// The content decides: a PNG named .pdf, an ELF executable named .txt and a PDF declared as an image are refused with 415.
    @Test func typeMustAgreeWithContentExtensionAndDeclaration() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let refused: [(String, [UInt8], String, String?, String)] = [
                ("PNG renamed .pdf", Sample.png(), "photo.pdf", "application/pdf", "PNG"),
                ("ELF renamed .txt", Sample.elf(), "readme.txt", "text/plain", "ELF executable"),
                ("PE renamed .txt", Array("MZ".utf8) + Sample.random(512), "setup.txt", "text/plain", "Windows"),
                ("PDF declared as PNG", Sample.pdf(2_048), "scan.pdf", "image/png", "declared as image/png"),
                ("binary named .txt", [0x00, 0x01, 0x02] + Sample.random(9_000), "data.txt", "text/plain", "not of an accepted type"),
                ("no declared type", Sample.pdf(2_048), "scan.pdf", nil, "Content-Type"),
                ("no extension", Sample.text(100), "README", "text/plain", "has no extension"),
            ]
            for (label, bytes, name, type, mentioned) in refused {
                let response = try await world.upload(bytes, filename: name, type: type, ticket: ticket)
                #expect(response.status == .unsupportedMediaType, "\(label)")
                #expect(response.problem?.type == Problem.typeURI("file-type-refused"), "\(label)")
                #expect(response.problem?.detail?.contains(mentioned) == true, "\(label): \(response.problem?.detail ?? "")")
            }
            let accepted: [(String, [UInt8], String, String)] = [
                ("PNG", Sample.png(), "photo.PNG", "image/png"),
                ("JPEG", [0xFF, 0xD8, 0xFF, 0xE0] + Sample.random(64), "photo.jpeg", "image/jpeg"),
                ("GIF", Array("GIF89a".utf8) + Sample.random(64), "anim.gif", "image/gif"),
                ("WebP", Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBP".utf8) + Sample.random(64), "pic.webp", "image/webp"),
                ("docx", [0x50, 0x4B, 0x03, 0x04] + Sample.random(64), "letter.docx",
                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
                ("xls", [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] + Sample.random(64), "budget.xls", "application/vnd.ms-excel"),
                ("CSV", Array("name,amount\nÜlkü,12\n".utf8), "export.csv", "text/csv; charset=utf-8"),
                ("zip", [0x50, 0x4B, 0x03, 0x04] + Sample.random(64), "logs.zip", "application/x-zip-compressed"),
            ]
            for (label, bytes, name, type) in accepted {
                let response = try await world.upload(bytes, filename: name, type: type, ticket: ticket)
                #expect(response.status == .created, "\(label): \(String(buffer: response.body))")
            }
            #expect(try await world.rowCount() == accepted.count)
        }
    }

    /// Path components are stripped and names with NUL or line breaks refused, so nothing is ever written outside the store.
    @Test func filenamesNeverEscapeTheStore() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let stripped = try await world.uploaded(Sample.text(10), filename: "../../etc/passwd.txt", ticket: ticket)
            #expect(stripped.filename == "passwd.txt")
            let windows = try await world.uploaded(Sample.text(10), filename: "..\\..\\Windows\\win.ini.txt", ticket: ticket)
            #expect(windows.filename == "win.ini.txt")
            let long = try await world.uploaded(Sample.text(10), filename: String(repeating: "ü", count: 200) + ".txt", ticket: ticket)
            #expect(long.filename.utf8.count <= 255)
            #expect(long.filename.hasSuffix("ü.txt"))

            let passwd = try await world.upload(Sample.text(10), filename: "../../etc/passwd", type: "text/plain", ticket: ticket)
            #expect(passwd.status == .unsupportedMediaType)
            for name in ["notes\u{0}.txt", "a\u{0}/../../b.txt", "two\nlines.txt", "cr\r.txt", "..", "../", "", "invoice\u{202E}txt.exe"] {
                let response = try await world.upload(Sample.text(10), filename: name, type: "text/plain", ticket: ticket)
                #expect(response.status == .unprocessableContent, "\(name.debugDescription)")
                #expect(response.problem?.errors?.first?.field == "filename", "\(name.debugDescription)")
            }
            #expect(world.filesOnDisk() == [stripped.id, windows.id, long.id].map(world.objectPath).sorted())
        }
    }

    /// A name outside ASCII reaches the browser exactly (RFC 8187) with a safe ASCII fallback.
    @Test func contentDispositionCarriesTheExactName() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let file = try await world.uploaded(Sample.text(10), filename: "Überweisung \"final\" 100%.txt", ticket: ticket)
            let download = try await world.get("/api/v1/files/\(file.id.lowercased)", as: "requestor")
            #expect(download.headers[.contentDisposition]
                == "attachment; filename=\"_berweisung _final_ 100_.txt\"; filename*=UTF-8''%C3%9Cberweisung%20%22final%22%20100%25.txt")
        }
    }

    /// A refused upload, and one whose row cannot be written, leave no file on disk and no row.
    @Test func failedUploadsLeaveNothingBehind() async throws {
        try await FileWorld.run(maxUploadBytes: 100_000) { world in
            let ticket = try await world.ticket()
            let tooLarge = try await world.upload(Sample.pdf(150_000), filename: "big.pdf", type: "application/pdf", ticket: ticket)
            #expect(tooLarge.status == .contentTooLarge)
            let refused = try await world.upload(Sample.png(60_000), filename: "photo.pdf", type: "application/pdf", ticket: ticket)
            #expect(refused.status == .unsupportedMediaType)
            try await world.postgres.query(
                "ALTER TABLE files.files ADD CONSTRAINT refuse_everything CHECK (false) NOT VALID", logger: TestServers.logger)
            let unrecorded = try await world.upload(Sample.pdf(50_000), filename: "ok.pdf", type: "application/pdf", ticket: ticket)
            #expect(unrecorded.status == .internalServerError)
            #expect(try await world.rowCount() == 0)
            #expect(try await world.scalar("SELECT count(*)::int FROM files.audit_log") == 0)
            #expect(try await world.scalar("SELECT count(*)::int FROM files.outbox") == 0)
            #expect(world.filesOnDisk() == [])
        }
    }

    /// Uploading needs a token, a ticket the caller can see, and a well-formed query.
    @Test func uploadsNeedAVisibleTicketAndAValidQuery() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let anonymous = try await world.client.execute(
                uri: "/api/v1/files?ticket_id=\(ticket.lowercased)&filename=a.txt", method: .post, headers: [.contentType: "text/plain"],
                body: .init(string: "hello"))
            #expect(anonymous.status == .unauthorized)
            #expect(try await world.upload(Sample.text(5), filename: "a.txt", type: "text/plain", ticket: UUID()).status == .notFound)
            #expect(try await world.upload(Sample.text(5), filename: "a.txt", type: "text/plain", ticket: ticket, as: "agent.ops").status == .notFound)
            let noTicket = try await world.client.execute(
                uri: "/api/v1/files?filename=a.txt", method: .post,
                headers: [.authorization: "Bearer \(world.token("requestor"))", .contentType: "text/plain"], body: .init(string: "hello"))
            #expect(noTicket.status == .unprocessableContent)
            #expect(noTicket.problem?.errors?.map(\.field) == ["ticket_id"])
            #expect(try await world.rowCount() == 0)
        }
    }
}
