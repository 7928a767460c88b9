import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
@testable import TicketService
import Testing
import TestSupport

@Suite("Who sees which tickets")
struct VisibilityTests {
    /// Each role sees exactly its tickets; a ticket you may not see is a 404, in reads and writes.
    @Test func visibilityPerRole() async throws {
        try await TicketWorld.run { world in
            let it = try await world.draft("Laptop will not boot", department: "IT")
            let finance = try await world.draft("Invoice approval stuck", by: "head.hr", department: "Finance")
            for ticket in [it, finance] { try await world.step(ticket.id, "submit", as: ticket.id == it.id ? "requestor" : "head.hr") }
            let expectations: [(String, Set<UUID>)] = [
                ("requestor", [it.id]), ("head.hr", [finance.id]), ("moderator", [it.id]), ("head.finance", [finance.id]),
                ("agent", [it.id]), ("agent.ops", []), ("admin", [it.id, finance.id]), ("ceo", []),
            ]
            for (user, visible) in expectations {
                let page = try await world.client.json(.get, "/api/v1/tickets", token: world.token(user)).decode(ListPage<TicketJSON>.self)
                #expect(Set(page.items.map(\.id)) == visible, "\(user)")
                for ticket in [it, finance] {
                    let read = try await world.client.json(.get, "/api/v1/tickets/\(ticket.id)", token: world.token(user))
                    #expect(read.status == (visible.contains(ticket.id) ? .ok : .notFound), "\(user) reading \(ticket.title)")
                }
            }
            #expect(try await world.act(it.id, "start_review", as: "head.finance").status == .notFound)
            #expect(try await world.client.json(.get, "/api/v1/tickets").status == .unauthorized)
        }
    }

    /// A list of one department shows each role what it sees of that department: all of it (but
    /// others' drafts) to its moderators and its assignees, and otherwise only tickets one is part of.
    @Test func departmentListsShowWhatEachRoleSeesOfThatDepartment() async throws {
        try await TicketWorld.run { world in
            let itDraft = try await world.draft("Keyboard sticks", department: "IT")
            let it = try await world.draft("Laptop will not boot", department: "IT")
            let finance = try await world.draft("Invoice approval stuck", by: "head.hr", department: "Finance")
            let watched = try await world.draft("Expense report rejected", by: "head.hr", department: "Finance")
            try await world.step(it.id, "submit", as: "requestor")
            for ticket in [finance, watched] { try await world.step(ticket.id, "submit", as: "head.hr") }
            let watch = try await world.client.json(
                .post, "/api/v1/tickets/\(watched.id)/watchers", token: world.token("head.hr"),
                body: ["employee_id": world.ids["moderator"]!.uuidString])
            #expect(watch.status == .noContent)
            let expectations: [(user: String, department: String, visible: Set<UUID>)] = [
                ("moderator", "IT", [it.id]), ("moderator", "Finance", [watched.id]),
                ("agent", "IT", [it.id]), ("agent", "Finance", []),
                ("head.finance", "Finance", [finance.id, watched.id]), ("requestor", "IT", [itDraft.id, it.id]),
                ("admin", "IT", [it.id]), ("admin", "Finance", [finance.id, watched.id]),
            ]
            for (user, department, visible) in expectations {
                let path = "/api/v1/tickets?department_id=\(world.departments[department]!)"
                let page = try await world.client.json(.get, path, token: world.token(user)).decode(ListPage<TicketJSON>.self)
                #expect(Set(page.items.map(\.id)) == visible, "\(user) listing \(department)")
            }
            // With a status filter the drafts rule is left to the filter when it names no draft
            // status, and still applies when it does.
            let filtered: [(user: String, department: String, statuses: String, visible: Set<UUID>)] = [
                ("moderator", "IT", "draft,submitted", [it.id]), ("moderator", "IT", "submitted", [it.id]),
                ("admin", "IT", "draft", []), ("admin", "IT", "submitted,closed", [it.id]),
                ("requestor", "IT", "draft", [itDraft.id]), ("agent", "IT", "draft,submitted", [it.id]),
                ("head.finance", "Finance", "submitted,under_review", [finance.id, watched.id]),
            ]
            for (user, department, statuses, visible) in filtered {
                let path = "/api/v1/tickets?department_id=\(world.departments[department]!)&status=\(statuses)"
                let page = try await world.client.json(.get, path, token: world.token(user)).decode(ListPage<TicketJSON>.self)
                #expect(Set(page.items.map(\.id)) == visible, "\(user) listing \(department) in \(statuses)")
            }
        }
    }

    /// Cursor paging returns every ticket exactly once while new tickets arrive between pages.
    @Test func cursorsStayStableWhileTicketsArrive() async throws {
        try await TicketWorld.run { world in
            var original: Set<UUID> = []
            for index in 0..<23 { original.insert(try await world.draft("Stable paging \(index)").id) }
            var seen: [UUID] = []
            var cursor: String?
            var page = 0
            repeat {
                let response = try await world.client.json(.get, "/api/v1/tickets?limit=5" + (cursor.map { "&cursor=\($0)" } ?? ""), token: world.token("requestor"))
                let items = try response.decode(ListPage<TicketJSON>.self)
                seen += items.items.map(\.id)
                cursor = items.nextCursor
                page += 1
                _ = try await world.draft("Arrived during paging \(page)")
            } while cursor != nil
            #expect(seen.count == Set(seen).count, "a ticket appeared twice")
            #expect(original.isSubset(of: Set(seen)))
            #expect(Set(seen).subtracting(original).isEmpty, "newer tickets sort before the cursor and are not part of this walk")
        }
    }

    /// The newest-first queues that run as prepared statements (a department by status, a priority;
    /// page sizes 10, 20, 25, 50, 100) list exactly what the general statement lists (page size 7),
    /// in the same order, each ticket once, while tickets arrive between pages; a status named twice
    /// lists its tickets once.
    @Test func preparedQueuesListWhatTheGeneralStatementLists() async throws {
        try await TicketWorld.run { world in
            var submitted: Set<UUID> = [], underReview: Set<UUID> = []
            for index in 0..<13 {
                let ticket = try await world.draft("Queue \(index)")
                try await world.step(ticket.id, "submit", as: "requestor")
                if index % 3 == 0 {
                    try await world.step(ticket.id, "start_review", as: "moderator")
                    underReview.insert(ticket.id)
                } else {
                    submitted.insert(ticket.id)
                }
            }
            _ = try await world.draft("A draft is in no queue")
            let finance = try await world.draft("Another department's queue", department: "Finance")
            try await world.step(finance.id, "submit", as: "requestor")

            func walk(_ filter: String, limit: Int, as user: String) async throws -> [UUID] {
                var seen: [UUID] = []
                var cursor: String?
                repeat {
                    let path = "/api/v1/tickets?\(filter)&limit=\(limit)" + (cursor.map { "&cursor=\($0)" } ?? "")
                    let response = try await world.client.json(.get, path, token: world.token(user))
                    #expect(response.status == .ok, "\(path)")
                    let page = try response.decode(ListPage<TicketJSON>.self)
                    #expect(page.items.count <= limit)
                    seen += page.items.map(\.id)
                    cursor = page.nextCursor
                    let arrived = try await world.draft("Arrived while \(user) paged")
                    try await world.step(arrived.id, "submit", as: "requestor")
                } while cursor != nil && seen.count < 100
                return seen
            }
            // A later walk also lists the tickets that arrived during the earlier ones (they are newer
            // than its first page): compare two walks on the tickets both list.
            func sameOrder(_ first: [UUID], _ later: [UUID]) -> Bool {
                Set(first).isSubset(of: Set(later)) && first == later.filter(Set(first).contains)
            }
            let it = world.departments["IT"]!
            let queued = submitted.union(underReview)
            for user in ["moderator", "admin"] {
                let queue = "department_id=\(it)&status=under_review,submitted,under_review"
                let prepared = try await walk(queue, limit: 10, as: user)
                let general = try await walk(queue, limit: 7, as: user)
                #expect(queued.isSubset(of: Set(prepared)), "\(user): the queue holds every submitted and under-review IT ticket")
                #expect(prepared.count == Set(prepared).count && general.count == Set(general).count, "\(user): a ticket listed twice")
                #expect(!prepared.contains(finance.id), "\(user): another department's ticket")
                #expect(sameOrder(prepared, general), "\(user): prepared and general queues differ")
                let single = try await walk("department_id=\(it)&status=under_review", limit: 10, as: user)
                #expect(single == prepared.filter(underReview.contains), "\(user): one status keeps the queue's order")
            }
            let byPriority = try await walk("priority=medium", limit: 10, as: "admin")
            #expect(sameOrder(byPriority, try await walk("priority=medium", limit: 7, as: "admin")))
            #expect(queued.isSubset(of: Set(byPriority)) && byPriority.contains(finance.id))
        }
    }

    /// Filters and full-text search: by status, priority and words, with title matches ranked first.
    @Test func filtersAndSearch() async throws {
        try await TicketWorld.run { world in
            let vpn = try await world.draft("VPN drops every hour", description: "Remote work is impossible")
            _ = try await world.draft("Printer jam", description: "The VPN printer share is also slow")
            _ = try await world.draft("Chair is broken", description: "Ergonomics")
            try await world.step(vpn.id, "submit", as: "requestor")
            let search = try await world.client.json(.get, "/api/v1/tickets?q=vpn", token: world.token("requestor")).decode(ListPage<TicketJSON>.self)
            #expect(search.items.map(\.title) == ["VPN drops every hour", "Printer jam"])
            let submitted = try await world.client.json(.get, "/api/v1/tickets?status=submitted", token: world.token("requestor")).decode(ListPage<TicketJSON>.self)
            #expect(submitted.items.map(\.id) == [vpn.id])
            let byPriority = try await world.client.json(.get, "/api/v1/tickets?sort=priority&limit=2", token: world.token("requestor"))
            #expect(byPriority.status == .ok)
            #expect(try byPriority.decode(ListPage<TicketJSON>.self).nextCursor != nil)
            #expect(try await world.client.json(.get, "/api/v1/tickets?status=flying", token: world.token("requestor")).status == .unprocessableContent)
            #expect(try await world.client.json(.get, "/api/v1/tickets?sort=sideways", token: world.token("requestor")).status == .unprocessableContent)
        }
    }
}

@Suite("Relevance")
struct RelevanceTests {
    /// Tickets whose title holds the query come first, each tier by rank; relevance pages walk
    /// through both tiers without losing or repeating a ticket; a report (CSV) ranks the same;
    /// an excluded word (`-toner`) excludes wherever it appears.
    @Test func titleMatchesComeFirstAndPagesCrossTheTiers() async throws {
        try await TicketWorld.run { world in
            var titled: Set<UUID> = [], described: Set<UUID> = []
            for index in 0..<3 { titled.insert(try await world.draft("Printer jam on floor \(index)", description: "Paper stuck").id) }
            for index in 0..<4 {
                described.insert(try await world.draft("Floor \(index) desk", description: "The printer jam is back, printer jam again").id)
            }
            _ = try await world.draft("Printer jam in the lobby", description: "Replace the toner")
            _ = try await world.draft("Chair is broken", description: "Ergonomics")
            var seen: [UUID] = []
            var cursor: String?
            repeat {
                let path = "/api/v1/tickets?q=printer%20jam%20-toner&limit=2" + (cursor.map { "&cursor=\($0)" } ?? "")
                let page = try await world.client.json(.get, path, token: world.token("requestor")).decode(ListPage<TicketJSON>.self)
                seen += page.items.map(\.id)
                cursor = page.nextCursor
            } while cursor != nil && seen.count < 20
            #expect(seen.count == 7 && Set(seen).count == 7, "\(seen.count) results")
            #expect(Set(seen.prefix(3)) == titled, "title matches first")
            #expect(Set(seen.suffix(4)) == described)
            let report = try await world.client.json(
                .get, "/api/v1/reports/tickets?format=csv&q=printer%20jam%20-toner", token: world.token("requestor"))
            #expect(report.status == .ok)
            let titles = String(buffer: report.body).split(whereSeparator: \.isNewline).dropFirst().map { $0.split(separator: ",")[1] }
            #expect(titles.count == 7, "\(titles.count) report rows")
            #expect(titles.prefix(3).allSatisfy { $0.hasPrefix("Printer jam on floor") }, "\(titles)")
        }
    }
}

@Suite("Demo categories")
struct DemoCategoryTests {
    /// `ticket-service seed-demo` creates the demo categories once, however often it runs.
    @Test func seedingIsIdempotent() async throws {
        try await TicketWorld.run { world in
            let seed = try #require(try TicketServiceApp.definition().commands["seed-demo"])
            try await seed(world.service.context)
            try await seed(world.service.context)
            let page = try await world.client.json(.get, "/api/v1/categories", token: world.token("requestor"))
            struct Category: Decodable { var name: String }
            #expect(try page.decode(ListPage<Category>.self).items.map(\.name).sorted() == DemoData.categories.sorted())
        }
    }
}
