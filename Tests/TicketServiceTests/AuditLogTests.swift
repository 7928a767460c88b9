import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Organisation-wide audit log")
struct AuditLogTests {
    struct Entry: Decodable {
        var id: UUID
        var service: String
        var action: String
        var entityKind: String
        var entityId: String
        var actorId: UUID?
        var requestId: String?
    }

    /// Polls the audit log until `count` entries match `query`.
    func waitForEntries(_ world: TicketWorld, _ query: String, count: Int) async throws -> [Entry] {
        var items: [Entry] = []
        for _ in 0..<200 {
            items = try await world.client.json(.get, "/api/v1/audit?\(query)", token: world.token("admin")).decode(ListPage<Entry>.self).items
            if items.count >= count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return items
    }

    /// Changes from every producing service reach the log through the event stream, once each;
    /// admins filter and page it; nobody else reads it; rows cannot be changed or deleted.
    @Test func changesFromEveryServiceArriveOnce() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft()
            try await world.step(ticket.id, "submit", as: "requestor")
            let context = world.service.context
            let foreign = EventEnvelope(
                type: .employeeAccessChanged, actorId: world.ids["admin"], subject: .init(kind: "employee", id: "e-1"),
                data: .object(["action": .string("employee.access"), "service": .string("auth-service"),
                               "before": .object(["roles": .array([.string("assignee")])]), "after": .object(["roles": .array([])])]),
                requestId: "req-42")
            let bytes = Array(try JSONEncoder.hdms.encode(foreign))
            try await context.redis.xadd(context.configuration.eventStream, fields: [("event", bytes)])
            try await context.redis.xadd(context.configuration.eventStream, fields: [("event", bytes)])  // redelivered

            let forTicket = try await self.waitForEntries(world, "entity_id=\(ticket.id.lowercased)", count: 2)
            #expect(forTicket.map(\.action) == ["submit", "create"])
            #expect(forTicket.allSatisfy { $0.service == "ticket-service" })
            let auth = try await self.waitForEntries(world, "entity_kind=employee", count: 1)
            #expect(auth.count == 1)
            #expect(auth.first?.service == "auth-service")
            #expect(auth.first?.requestId == "req-42")
            let byActor = try await world.client.json(.get, "/api/v1/audit?actor_id=\(world.ids["admin"]!)", token: world.token("admin")).decode(ListPage<Entry>.self)
            #expect(byActor.items.map(\.id) == [foreign.id])

            let first = try await world.client.json(.get, "/api/v1/audit?limit=1", token: world.token("admin")).decode(ListPage<Entry>.self)
            let cursor = try #require(first.nextCursor)
            let second = try await world.client.json(.get, "/api/v1/audit?limit=1&cursor=\(cursor)", token: world.token("admin")).decode(ListPage<Entry>.self)
            #expect(first.items.first?.id != second.items.first?.id)

            for user in ["moderator", "requestor", "ceo"] {
                #expect(try await world.client.json(.get, "/api/v1/audit", token: world.token(user)).status == .forbidden)
            }
            await #expect(throws: (any Error).self) {
                try await world.postgres.query("UPDATE tickets.org_audit SET action = 'forged'", logger: TestServers.logger)
            }
            await #expect(throws: (any Error).self) {
                try await world.postgres.query("DELETE FROM tickets.org_audit", logger: TestServers.logger)
            }
        }
    }

    /// The CSV export holds the same rows as the JSON pages, in RFC 4180 form.
    @Test func csvExportMatchesTheLog() async throws {
        try await TicketWorld.run { world in
            let ticket = try await world.draft("=HYPERLINK(\"http://evil\"), \"quoted\"")
            try await world.step(ticket.id, "submit", as: "requestor")
            let json = try await self.waitForEntries(world, "entity_id=\(ticket.id.lowercased)", count: 2)
            let csv = try await world.client.execute(uri: "/api/v1/audit?format=csv&entity_id=\(ticket.id.lowercased)", method: .get,
                                                     headers: [.authorization: "Bearer \(world.token("admin"))"])
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            let records = try CSVReader.parse(String(buffer: csv.body))
            #expect(records.first?.first == "id")
            #expect(records.dropFirst().map { $0[0] } == json.map(\.id.lowercased))
            #expect(records.dropFirst().allSatisfy { $0.count == 10 })
        }
    }

    /// Cells a spreadsheet would run as formulas are neutralised; quotes, commas and line breaks are quoted.
    @Test func csvFieldsAreSafe() {
        #expect(CSVFormat.record(["=1+1", "+2", "-3", "@SUM(A1)", "plain"]) == "'=1+1,'+2,'-3,'@SUM(A1),plain\r\n")
        #expect(CSVFormat.record(["a,b", "say \"hi\"", "two\nlines"]) == "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n")
        #expect(CSVFormat.record(["=HYPERLINK(\"x\")"]) == "\"'=HYPERLINK(\"\"x\"\")\"\r\n")
    }
}

/// Reads CSV back, for checking exports.
enum CSVReader {
    static func parse(_ text: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var characters = Array(text)[...]
        while let character = characters.popFirst() {
            if quoted {
                if character == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else {
                    field.append(character)
                }
            } else if character == "\"" {
                quoted = true
            } else if character == "," {
                record.append(field)
                field = ""
            } else if character == "\r\n" || character == "\n" {
                record.append(field)
                records.append(record)
                record = []
                field = ""
            } else {
                field.append(character)
            }
        }
        return records
    }
}
