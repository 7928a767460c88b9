import BaseModel
import Foundation
import HTTPTypes
import HummingbirdTesting
import PostgresNIO
import Testing
import TestSupport

@Suite("Who reads and deletes which files")
struct AccessTests {
    /// A file is readable by exactly those who may see its ticket: its requestor, the department's moderator and agents, admins; others get 404.
    @Test func readersAreThoseWhoSeeTheTicket() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket(by: "requestor", department: "IT")
            let file = try await world.uploaded(Sample.pdf(3_000), filename: "scan.pdf", type: "application/pdf", ticket: ticket)
            let expectations: [(String?, HTTPResponse.Status)] = [
                ("requestor", .ok), ("moderator", .ok), ("agent", .ok), ("admin", .ok),
                ("agent.ops", .notFound), ("head.hr", .notFound), (nil, .unauthorized),
            ]
            for (user, status) in expectations {
                for path in ["/api/v1/files/\(file.id.lowercased)", "/api/v1/files/\(file.id.lowercased)/meta"] {
                    #expect(try await world.get(path, as: user).status == status, "\(user ?? "anonymous") reading \(path)")
                }
            }
            #expect(try await world.get("/api/v1/files/\(UUID().lowercased)", as: "admin").status == .notFound)
            #expect(try await world.get("/api/v1/files/not-an-id/meta", as: "admin").status == .notFound)
        }
    }

    /// Staff attach internal files, which the requestor cannot read or even see exist; a requestor cannot mark a file internal.
    @Test func internalFilesAreHiddenFromTheRequestor() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let note = try await world.uploaded(Sample.text(200), filename: "triage.txt", ticket: ticket, as: "moderator", isInternal: true)
            #expect(note.internal)
            for (user, status) in [("requestor", HTTPResponse.Status.notFound), ("moderator", .ok), ("agent", .ok), ("admin", .ok)] {
                #expect(try await world.get("/api/v1/files/\(note.id.lowercased)", as: user).status == status, "\(user)")
                #expect(try await world.get("/api/v1/files/\(note.id.lowercased)/meta", as: user).status == status, "\(user)")
            }
            let attempt = try await world.upload(Sample.text(10), filename: "mine.txt", type: "text/plain", ticket: ticket, isInternal: true)
            #expect(attempt.status == .forbidden)
            let visible = try await world.uploaded(Sample.text(10), filename: "public.txt", ticket: ticket, as: "moderator", isInternal: false)
            #expect(try await world.get("/api/v1/files/\(visible.id.lowercased)", as: "requestor").status == .ok)
        }
    }

    /// The uploader or an admin deletes a file: its row is kept as deleted, its bytes removed, and the upload and delete are audited with events.
    @Test func deletingIsForTheUploaderOrAnAdminAndIsAudited() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let mine = try await world.uploaded(Sample.text(100), filename: "mine.txt", ticket: ticket)
            let theirs = try await world.uploaded(Sample.text(100), filename: "theirs.txt", ticket: ticket, as: "moderator")
            #expect(try await world.delete(mine.id, as: "moderator").status == .forbidden)
            #expect(try await world.delete(mine.id, as: "agent.ops").status == .notFound)
            #expect(try await world.delete(mine.id, as: "requestor").status == .noContent)
            #expect(try await world.delete(theirs.id, as: "admin").status == .noContent)
            #expect(try await world.delete(mine.id, as: "requestor").status == .notFound)
            for id in [mine.id, theirs.id] {
                #expect(try await world.get("/api/v1/files/\(id.lowercased)", as: "admin").status == .notFound)
                #expect(try await world.get("/api/v1/files/\(id.lowercased)/meta", as: "admin").status == .notFound)
            }
            #expect(world.filesOnDisk() == [])
            #expect(try await world.scalar("SELECT count(*)::int FROM files.files WHERE deleted_at IS NOT NULL") == 2)
            let audit = try await world.postgres.query(
                "SELECT action, actor_id, entity_id FROM files.audit_log ORDER BY at, id", logger: TestServers.logger)
            var trail: [(String, UUID?, String)] = []
            for try await row in audit.decode((String, UUID?, String).self) { trail.append(row) }
            #expect(trail.map(\.0) == ["file.upload", "file.upload", "file.delete", "file.delete"])
            #expect(trail.last?.1 == world.ids["admin"])
            #expect(trail.last?.2 == theirs.id.lowercased)
            let events = try await world.postgres.query("SELECT type FROM files.outbox ORDER BY seq", logger: TestServers.logger)
            var types: [String] = []
            for try await type in events.decode(String.self) { types.append(type) }
            #expect(types == ["file.uploaded", "file.uploaded", "file.deleted", "file.deleted"])
        }
    }
}
