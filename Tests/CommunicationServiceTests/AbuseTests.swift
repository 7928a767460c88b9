import BaseModel
@testable import CommunicationService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import Testing
import TestSupport

@Suite("Attachments and rate limits", .serialized)
struct AbuseTests {
    /// An attachment must be a live file of the same ticket that the author may read; anything else
    /// is 422 naming `attachment_ids` and nothing is stored.
    @Test func attachmentsMustBeReadableFilesOfTheSameTicket() async throws {
        try await CommWorld.run(files: true) { world in
            let ticket = try await world.ticket()
            let other = try await world.ticket()
            let file = try await world.upload(to: ticket, as: "requestor")
            let foreign = try await world.upload(to: other, as: "requestor")
            let internalFile = try await world.upload(to: ticket, as: "moderator", isInternal: true)
            let deleted = try await world.upload(to: ticket, as: "requestor")
            let files = try #require(world.files)
            let removal = try await files.execute(
                uri: "/api/v1/files/\(deleted.lowercased)", method: .delete, headers: [.authorization: "Bearer \(world.token("requestor"))"],
                body: nil)
            #expect(removal.status == .noContent)

            let refused: [(String, [UUID], Bool?)] = [
                ("requestor", [foreign], nil),
                ("requestor", [file, UUID()], nil),
                ("requestor", [deleted], nil),
                ("requestor", [internalFile], nil),
                ("moderator", [internalFile], nil),
            ]
            for (user, ids, isInternal) in refused {
                let response = try await world.post("see attached", ticket: ticket, as: user, isInternal: isInternal, attachments: ids)
                #expect(response.status == .unprocessableContent, "\(user) \(ids)")
                #expect(response.headers[.contentType] == "application/problem+json")
                #expect(response.problem?.errors?.map(\.field).contains("attachment_ids") == true, "\(String(buffer: response.body))")
            }
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.messages") == 0)
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.outbox") == 0)

            let accepted = try await world.post("see attached", ticket: ticket, as: "requestor", attachments: [file])
            #expect(accepted.status == .created)
            #expect(try accepted.decode(Message.self).attachmentIds == [file])
            let note = try await world.post("log attached", ticket: ticket, as: "moderator", isInternal: true, attachments: [internalFile, file])
            #expect(note.status == .created)
            #expect(Set(try note.decode(Message.self).attachmentIds) == [internalFile, file])
        }
    }

    /// When file-service cannot be asked, a post with attachments is 503 and nothing is stored.
    @Test func attachmentsCannotBeCheckedWithoutFileService() async throws {
        let closedPort = try RedisProcess.freePort()
        try await CommWorld.run(extra: ["HDMS_FILES_URL": "http://127.0.0.1:\(closedPort)"]) { world in
            let ticket = try await world.ticket()
            let response = try await world.post("see attached", ticket: ticket, as: "requestor", attachments: [UUID()])
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.contentType] == "application/problem+json")
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.messages") == 0)
        }
    }

    /// Past the per-user limit a post is 429 with `Retry-After` and is not stored; other users are unaffected.
    @Test func messageFloodsAreRateLimitedPerUser() async throws {
        try await CommWorld.run(extra: ["HDMS_MESSAGE_RATE_LIMIT": "3", "HDMS_MESSAGE_RATE_WINDOW_SECONDS": "600"]) { world in
            let ticket = try await world.ticket()
            for index in 0..<3 {
                #expect(try await world.post("message \(index)", ticket: ticket, as: "requestor").status == .created)
            }
            let refused = try await world.post("one too many", ticket: ticket, as: "requestor")
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.contentType] == "application/problem+json")
            #expect(refused.problem?.type == Problem.typeURI("rate-limited"))
            let retryAfter = try #require(refused.headers[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 600)
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.messages") == 3)
            #expect(try await world.post("my turn", ticket: ticket, as: "moderator").status == .created)
        }
    }

    /// Services have no messages to post: their tokens are refused before the limiter counts anything.
    @Test func postingWithoutAUserTokenIsRefused() async throws {
        try await CommWorld.run { world in
            let ticket = try await world.ticket()
            let response = try await world.client.json(
                .post, "/api/v1/conversations/\(ticket.lowercased)/messages", body: CommWorld.PostBody(body: "anonymous"))
            #expect(response.status == .unauthorized)
            #expect(try await world.scalar("SELECT count(*)::int FROM comms.messages") == 0)
        }
    }
}
