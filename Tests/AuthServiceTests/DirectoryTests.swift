@testable import AuthService
import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import ServiceKit
import Testing
import TestSupport

@Suite("Directory and access administration")
struct DirectoryTests {
    struct NewEmployee: Encodable {
        var email: String
        var fullName: String
        var departmentId: UUID?
        var password: String?
        var roles: [Role]?
    }

    /// Every admin endpoint answers 403 to a signed-in non-admin and 401 without a token, and changes nothing.
    @Test func adminEndpointsDenyNonAdmins() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let someone = UUID()
            let writes: [(HTTPRequest.Method, String)] = [
                (.post, "/api/v1/employees"), (.patch, "/api/v1/employees/\(someone)"), (.put, "/api/v1/employees/\(someone)/access"),
                (.post, "/api/v1/employees/import"), (.post, "/api/v1/departments"), (.patch, "/api/v1/departments/\(someone)"),
            ]
            for email in ["requestor@hdms.test", "moderator@hdms.test", "agent@hdms.test", "ceo@hdms.test"] {
                let token = try await client.signIn(email).accessToken
                for (method, path) in writes {
                    let response = try await client.json(method, path, token: token, body: ["roles": ["admin"]])
                    #expect(response.status == .forbidden, "\(email) \(method) \(path)")
                    #expect(response.headers[.contentType] == "application/problem+json")
                }
            }
            for (method, path) in writes + [(.get, "/api/v1/employees"), (.get, "/api/v1/departments"), (.get, "/api/v1/auth/me")] {
                #expect(try await client.json(method, path, body: ["roles": ["admin"]]).status == .unauthorized, "\(method) \(path)")
            }
            let requestor = try await client.signIn("requestor@hdms.test").accessToken
            #expect(try await client.json(.get, "/api/v1/employees", token: requestor).status == .forbidden)
            let admin = try await client.signIn("admin@hdms.test").accessToken
            let roles = try await client.json(.get, "/api/v1/employees?role=admin", token: admin).decode(ListPage<Employee>.self)
            #expect(roles.items.map(\.email) == ["admin@hdms.test"])
        }
    }

    /// An admin creates an employee, grants access (they can sign in), edits with the version, and a
    /// stale version or duplicate email is refused with 409.
    @Test func adminManagesAnEmployee() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test").accessToken
            let departments = try await client.json(.get, "/api/v1/departments", token: admin).decode(ListPage<Department>.self)
            let it = try #require(departments.items.first { $0.name == "IT" })
            let created = try await client.json(.post, "/api/v1/employees", token: admin, body: NewEmployee(
                email: "New.Person@HDMS.test", fullName: "New Person", departmentId: it.id, password: "long-enough-1"))
            #expect(created.status == .created)
            let employee = try created.decode(Employee.self)
            #expect(employee.email == "new.person@hdms.test")
            #expect(!String(buffer: created.body).contains("password"))
            #expect(try await client.login("new.person@hdms.test", password: "long-enough-1").status == .forbidden)  // no access yet
            let granted = try await client.json(.put, "/api/v1/employees/\(employee.id)/access", token: admin, body: ["roles": ["assignee"]])
            #expect(try granted.decode(Employee.self).roles == [.assignee])
            #expect(try await client.login("new.person@hdms.test", password: "long-enough-1").status == .ok)

            struct Rename: Encodable { var fullName: String; var version: Int }
            let current = try granted.decode(Employee.self)
            let renamed = try await client.json(.patch, "/api/v1/employees/\(employee.id)", token: admin, body: Rename(fullName: "Renamed", version: current.version))
            #expect(renamed.status == .ok)
            let stale = try await client.json(.patch, "/api/v1/employees/\(employee.id)", token: admin, body: Rename(fullName: "Again", version: current.version))
            #expect(stale.status == .conflict)
            #expect(stale.problem?.type == "https://hdms.dev/problems/version-conflict")
            let duplicate = try await client.json(.post, "/api/v1/employees", token: admin, body: NewEmployee(email: "new.person@hdms.test", fullName: "Twin"))
            #expect(duplicate.status == .conflict)
            let badDepartment = try await client.json(.post, "/api/v1/employees", token: admin, body: NewEmployee(email: "x@hdms.test", fullName: "X", departmentId: UUID()))
            #expect(badDepartment.status == .unprocessableContent)
            #expect(badDepartment.problem?.errors?.first?.field == "department_id")
            let moderatorWithout = try await client.json(.put, "/api/v1/employees/\(employee.id)/access", token: admin,
                                                         body: ["roles": ["assignee"], "moderated_department_ids": [it.id.uuidString]])
            #expect(moderatorWithout.status == .unprocessableContent)
            #expect(try await client.json(.get, "/api/v1/employees/not-a-uuid", token: admin).status == .notFound)
        }
    }

    /// Access changes are audited (before and after, actor, request id) and queued as
    /// `employee.access_changed` events in the same transaction; audit rows cannot be altered.
    @Test func accessChangesAreAuditedAndPublished() async throws {
        let fixture = try await AuthFixture.make()
        let postgres = fixture.service.context.postgres
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test")
            let agent = try await client.signIn("agent@hdms.test").user.id
            let response = try await client.json(.put, "/api/v1/employees/\(agent)/access", token: admin.accessToken,
                                                 body: ["roles": [String]()], headers: [.requestID: "req-access-1"])
            #expect(response.status == .ok)
            let rows = try await postgres.query("""
                SELECT actor_id, before->>'roles', after->>'roles', request_id FROM auth.audit_log
                WHERE action = 'employee.access' AND entity_id = \(agent.uuidString.lowercased())
                """, logger: TestServers.logger)
            var audits = 0
            for try await (actor, before, after, requestID) in rows.decode((UUID?, String?, String?, String?).self) {
                audits += 1
                #expect(actor == admin.user.id)
                #expect(before == "[\"assignee\"]")
                #expect(after == "[]")
                #expect(requestID == "req-access-1")
            }
            #expect(audits == 1)
            let events = try await postgres.query("SELECT count(*)::int FROM auth.outbox WHERE type = 'employee.access_changed'", logger: TestServers.logger)
            for try await count in events.decode(Int.self) { #expect(count == 1) }
            await #expect(throws: (any Error).self) {
                try await postgres.query("UPDATE auth.audit_log SET action = 'x'", logger: TestServers.logger)
            }
            await #expect(throws: (any Error).self) {
                try await postgres.query("DELETE FROM auth.audit_log", logger: TestServers.logger)
            }
        }
    }

    /// Employee lists page with cursors: every employee appears exactly once.
    @Test func employeeListPagesWithCursors() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test").accessToken
            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await client.json(.get, "/api/v1/employees?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), token: admin)
                    .decode(ListPage<Employee>.self)
                seen += page.items.map(\.email)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen.count == 8)
            #expect(Set(seen).count == 8)
            #expect(try await client.json(.get, "/api/v1/employees?limit=500", token: admin).status == .unprocessableContent)
            #expect(try await client.json(.get, "/api/v1/employees?cursor=bogus", token: admin).status == .unprocessableContent)
        }
    }
}

