import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Reports")
struct ReportTests {
    func csv(_ world: TicketWorld, _ path: String, as user: String) async throws -> (HTTPResponse.Status, [[String]]) {
        let response = try await world.client.execute(uri: path, method: .get, headers: [
            .authorization: "Bearer \(world.token(user))", .accept: "text/csv",
        ])
        return (response.status, try CSVReader.parse(String(buffer: response.body)))
    }

    /// The tickets report parses back to the tickets the caller may see, and a title that would run
    /// as a spreadsheet formula arrives as text.
    @Test func ticketsReportParsesBackSafely() async throws {
        try await TicketWorld.run { world in
            let risky = try await world.draft("=cmd|'/C calc'!A0", description: "Formula injection attempt")
            let plain = try await world.draft("Broken chair, \"urgent\"", description: "Comma and quotes")
            _ = try await world.draft("Someone else's", by: "head.hr", department: "HR")
            let (status, records) = try await self.csv(world, "/api/v1/reports/tickets?sort=created", as: "requestor")
            #expect(status == .ok)
            #expect(records.first?.first == "number")
            let titles = records.dropFirst().map { $0[1] }
            #expect(titles == ["Broken chair, \"urgent\"", "'=cmd|'/C calc'!A0"])
            #expect(records.dropFirst().map { $0[0] } == [plain.number, risky.number])
            struct Items: Decodable { var items: [[String: String]] }
            let json = try await world.client.json(.get, "/api/v1/reports/tickets", token: world.token("requestor")).decode(Items.self)
            #expect(json.items.count == 2)
        }
    }

    /// SLA compliance by department and priority counts breaches exactly; requestors may not read
    /// aggregate reports, and an unknown report is a 404.
    @Test func slaReportAndAccess() async throws {
        try await TicketWorld.run { world in
            for (index, breached) in [true, false, false, false].enumerated() {
                let ticket = try await world.draft("SLA report \(index)")
                try await world.step(ticket.id, "submit", as: "requestor")
                // Breached ones are past due and already reported; the others are due tomorrow, so a
                // scheduler pass during the test changes nothing.
                try await world.postgres.query("""
                    UPDATE tickets.tickets
                    SET resolution_due = now() + CASE WHEN \(breached) THEN interval '-1 hour' ELSE interval '1 day' END,
                        sla_breached = \(breached), sla_breach_notified_at = CASE WHEN \(breached) THEN now() END
                    WHERE id = \(ticket.id)
                    """, logger: TestServers.logger)
            }
            let (status, records) = try await self.csv(world, "/api/v1/reports/sla", as: "admin")
            #expect(status == .ok)
            #expect(records.count == 2)
            #expect(Array(records[1].dropFirst(1)) == ["medium", "4", "3", "75.00", "1"])
            #expect(try await world.client.json(.get, "/api/v1/reports/sla", token: world.token("requestor")).status == .forbidden)
            #expect(try await world.client.json(.get, "/api/v1/reports/workload", token: world.token("moderator")).status == .ok)
            #expect(try await world.client.json(.get, "/api/v1/reports/nonsense", token: world.token("admin")).status == .notFound)
        }
    }
}
