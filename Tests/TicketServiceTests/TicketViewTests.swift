import BaseModel
import Foundation
import Testing
@testable import TicketService

@Suite("Ticket view encoding")
struct TicketViewTests {
    /// Tickets with every optional field absent and present, every status and priority, and text
    /// that needs escaping.
    static func tickets() -> [Ticket] {
        let base = Date(timeIntervalSince1970: 1_790_000_000.75)
        var tickets: [Ticket] = []
        for (index, status) in TicketStatus.allCases.enumerated() {
            let full = index % 2 == 0
            let priority = Priority.allCases[index % Priority.allCases.count]
            tickets.append(Ticket(
                id: UUID(), number: "HD-2026-\(String(format: "%06d", index))", title: full ? "Printer \"3\" \\ jammed\n\té" : "Plain",
                description: full ? String(repeating: "Toner low. ", count: 40) + "\u{1}\u{1F}" : "", categoryId: full ? UUID() : nil,
                priority: priority, status: status, requestorId: UUID(), departmentId: full ? UUID() : nil, assigneeId: full ? UUID() : nil,
                moderatorId: full ? UUID() : nil, progress: index * 9, reopenCount: index % 3, parentId: full ? UUID() : nil,
                dueAt: full ? base.addingTimeInterval(86_400.4) : nil, firstResponseAt: index % 3 == 0 ? base : nil,
                firstResponseDue: full ? base.addingTimeInterval(3_600) : nil, resolutionDue: index % 4 == 0 ? nil : base.addingTimeInterval(7_200),
                // A paused clock makes remaining_seconds independent of when each encoding runs.
                slaPausedAt: base.addingTimeInterval(600), slaBreached: index % 5 == 0, resumeAt: nil, createdAt: base,
                updatedAt: base.addingTimeInterval(Double(index)), version: index + 1, approvalRouteId: nil,
                approvalStep: full ? 1 : nil, currentApproverId: full ? UUID() : nil, slaNearing: index % 2 == 1))
        }
        return tickets
    }

    /// The hand-written list encoding (`TicketView.write`) says exactly what `encode(to:)` says,
    /// so a field added to one and not the other fails here.
    @Test func handWrittenJSONMatchesCodable() throws {
        for ticket in Self.tickets() {
            let view = TicketView(ticket: ticket, allowedActions: Array(TicketAction.allCases.prefix(ticket.version % 5)))
            var json = JSONWriter()
            view.write(to: &json)
            let written = try #require(JSONSerialization.jsonObject(with: Data(json.bytes)) as? NSDictionary)
            let encoded = try #require(JSONSerialization.jsonObject(with: JSONEncoder.hdmsVerbatimKeys.encode(view)) as? NSDictionary)
            #expect(written == encoded, "\(ticket.status): \(String(decoding: json.bytes, as: UTF8.self))")
            #expect(written.count == 21)
        }
    }
}
