@testable import AuthService
import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
import Testing
import TestSupport

@Suite("Directory import")
struct ImportTests {
    struct Report: Decodable {
        var created: Int
        var updated: Int
        var unchanged: Int
        var rejected: [Rejected]
        struct Rejected: Decodable {
            var row: Int
            var email: String?
            var reason: String
        }
    }

    static func csv(rows: Int, badRows: [Int: String]) -> String {
        var lines = ["email,full_name,department,job_title,is_department_head,is_ceo,active"]
        for index in 1...rows {
            if let bad = badRows[index] {
                lines.append(bad)
            } else {
                lines.append("person\(index)@example.org,\"Person, Number \(index)\",\(["IT", "Finance", "HR", "OPS"][index % 4]),Clerk,false,false,true")
            }
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    func post(_ client: some TestClientProtocol, _ token: String, _ body: String, type: String = "text/csv") async throws -> TestResponse {
        try await client.execute(uri: "/api/v1/employees/import", method: .post,
                                 headers: [.authorization: "Bearer \(token)", .contentType: type], body: ByteBuffer(string: body))
    }

    /// A 1,000-row CSV with 3 bad rows imports 997 and reports exactly the 3, by line; importing it
    /// again changes nothing (idempotent by email).
    @Test func importReportsExactlyTheBadRows() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test").accessToken
            let csv = Self.csv(rows: 1_000, badRows: [
                10: "not-an-email,Bad Email,IT,Clerk,false,false,true",
                500: "person500@example.org,Unknown Department,Narnia,Clerk,false,false,true",
                999: "person999@example.org,,IT,Clerk,false,false,true",
            ])
            let first = try await self.post(client, admin, csv)
            #expect(first.status == .ok, "\(String(buffer: first.body))")
            let report = try first.decode(Report.self)
            #expect(report.created == 997)
            #expect(report.rejected.map(\.row) == [11, 501, 1000])
            #expect(report.rejected[1].reason.contains("Narnia"))
            let again = try await self.post(client, admin, csv).decode(Report.self)
            #expect(again.created == 0)
            #expect(again.updated == 0)
            #expect(again.unchanged == 997)
            let renamed = csv.replacingOccurrences(of: "\"Person, Number 7\",", with: "\"Person Seven\",")
            let update = try await self.post(client, admin, renamed).decode(Report.self)
            #expect(update.updated == 1)
        }
    }

    /// A CSV broken at its structure (an unclosed quote) is refused whole and imports nothing.
    @Test func brokenCSVImportsNothing() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test").accessToken
            let broken = "email,full_name\r\nok@example.org,Fine\r\nbad@example.org,\"never closed\r\n"
            let response = try await self.post(client, admin, broken)
            #expect(response.status == .badRequest)
            #expect(response.problem?.detail?.contains("line 3") == true)
            let list = try await client.json(.get, "/api/v1/employees?q=example.org", token: admin).decode(ListPage<Employee>.self)
            #expect(list.items.isEmpty)
            #expect(try await self.post(client, admin, "{}", type: "application/xml").status == .unsupportedMediaType)
        }
    }

    /// JSON imports work the same way, and a second head for one department is rejected by row.
    @Test func jsonImportAndHeadConflicts() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test").accessToken
            let json = """
                [{"email": "a@example.org", "full_name": "A", "department": "HR", "is_department_head": true},
                 {"email": "b@example.org", "full_name": "B", "department": "fin", "job_title": "Analyst"}]
                """
            let report = try await self.post(client, admin, json, type: "application/json").decode(Report.self)
            #expect(report.created == 1)
            #expect(report.rejected.count == 1)
            #expect(report.rejected.first?.reason.contains("head.hr@hdms.test") == true)
        }
    }
}
