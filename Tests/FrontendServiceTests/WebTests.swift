import AuthService
import BaseModel
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Mustache
import NIOCore
import ServiceKit
import Testing
import TestSupport
import TicketService
@testable import FrontendService

/// The web UI against a live auth-service and ticket-service: sign-in and sessions, CSRF, role
/// checks, and output escaping.
@Suite("Web UI", .serialized)
struct WebTests {
    /// The frontend's router with the live services it calls.
    struct World: Sendable {
        let client: any TestClientProtocol
        let auth: AuthServer

        static func run(_ body: @Sendable @escaping (World) async throws -> Void) async throws {
            try await AuthServer.run(try AuthServiceApp.definition()) { auth in
                let tickets = try await ServiceHarness.build(try TicketServiceApp.definition(), extra: auth.environment(for: .tickets))
                try await tickets.application.test(.live) { ticketClient in
                    let ticketsURL = "http://127.0.0.1:\(ticketClient.port!)"
                    var environment = auth.environment(for: .frontend)
                    environment["HDMS_TICKETS_URL"] = ticketsURL
                    let frontend = try await ServiceHarness.build(try FrontendServiceApp.definition(), extra: environment)
                    try await frontend.application.test(.router) { client in
                        try await body(World(client: client, auth: auth))
                    }
                }
            }
        }

        /// Signs in through the login form (with its login token); returns the session cookie.
        func signIn(_ email: String, password: String = "hdms-demo", headers extra: HTTPFields = [:]) async throws -> (cookie: String, response: TestResponse) {
            let form = try await self.client.execute(uri: "/login", method: .get)
            let loginCookie = form.headers[.setCookie]?.split(separator: ";").first.map(String.init) ?? ""
            let token = World.csrf(in: form) ?? ""
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .cookie: loginCookie]
            headers.append(contentsOf: extra)
            let response = try await self.client.execute(
                uri: "/login", method: .post, headers: headers,
                body: ByteBuffer(string: "_csrf=\(token)&email=\(Form.percentEncode(email))&password=\(password)&next=%2Ftickets"))
            let cookie = response.headers[values: .setCookie].first { $0.hasPrefix(SessionStore.cookieName + "=") }?
                .split(separator: ";").first.map(String.init) ?? ""
            return (cookie, response)
        }

        func get(_ uri: String, cookie: String) async throws -> TestResponse {
            try await self.client.execute(uri: uri, method: .get, headers: [.cookie: cookie])
        }

        func post(_ uri: String, cookie: String, form: String) async throws -> TestResponse {
            try await self.client.execute(
                uri: uri, method: .post, headers: [.cookie: cookie, .contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: form))
        }

        /// The CSRF token a page's forms carry.
        static func csrf(in page: TestResponse) -> String? {
            let html = String(buffer: page.body)
            guard let range = html.range(of: #"name="_csrf" value=""#) else { return nil }
            return String(html[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test func pagesNeedASessionAndSignInSetsAStrictCookie() async throws {
        try await World.run { world in
            let anonymous = try await world.client.execute(uri: "/tickets?view=mine", method: .get)
            #expect(anonymous.status == .seeOther)
            #expect(anonymous.headers[.location] == "/login?next=%2Ftickets%3Fview%3Dmine")

            let (noSession, wrong) = try await world.signIn("requestor@hdms.test", password: "nope")
            #expect(wrong.status == .unauthorized)
            #expect(noSession.isEmpty)
            #expect(String(buffer: wrong.body).contains("The email or password is not right."))

            // A sign-in posted from elsewhere (no login token and cookie of this site) is refused.
            let forged = try await world.client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "email=requestor%40hdms.test&password=hdms-demo"))
            #expect(forged.status == .forbidden)
            #expect(!forged.headers[values: .setCookie].contains { $0.hasPrefix(SessionStore.cookieName + "=") })

            let (cookie, signedIn) = try await world.signIn("requestor@hdms.test")
            #expect(signedIn.status == .seeOther)
            #expect(signedIn.headers[.location] == "/tickets")
            let setCookie = signedIn.headers[values: .setCookie].first { $0.hasPrefix(SessionStore.cookieName + "=") } ?? ""
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Lax") && !setCookie.contains("Secure"))
            let secure = try await world.signIn("requestor@hdms.test", headers: [HTTPField.Name("X-Forwarded-Proto")!: "https"])
            #expect(secure.response.headers[values: .setCookie].contains { $0.hasPrefix(SessionStore.cookieName + "=") && $0.contains("; Secure") })

            let page = try await world.get("/tickets", cookie: cookie)
            #expect(page.status == .ok)
            #expect(page.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            #expect(String(buffer: page.body).contains("Riley Requestor"))

            // Signing out ends the session server-side: the old cookie no longer opens pages.
            let csrf = try #require(World.csrf(in: page))
            let out = try await world.post("/logout", cookie: cookie, form: "_csrf=\(csrf)")
            #expect(out.status == .seeOther)
            #expect(out.headers[.setCookie]?.contains("Max-Age=0") == true)
            #expect(try await world.get("/tickets", cookie: cookie).status == .seeOther)
        }
    }

    @Test func onlyALocalPathMayFollowSignIn() {
        #expect(AccountPages.safeNext("/tickets/1") == "/tickets/1")
        #expect(AccountPages.safeNext("//evil.example/") == "/dashboard")
        #expect(AccountPages.safeNext("https://evil.example/") == "/dashboard")
        #expect(AccountPages.safeNext("/\\evil.example") == "/dashboard")
        #expect(AccountPages.safeNext(nil) == "/dashboard")
    }

    @Test func writesWithoutTheSessionsCSRFTokenAreRefusedAndChangeNothing() async throws {
        try await World.run { world in
            let (cookie, _) = try await world.signIn("requestor@hdms.test")
            let form = "title=Forged&description=From+another+site&priority=medium"
            let refused = try await world.post("/tickets", cookie: cookie, form: form)
            #expect(refused.status == .forbidden)
            let forged = try await world.post("/tickets", cookie: cookie, form: form + "&_csrf=not-the-token")
            #expect(forged.status == .forbidden)
            let mine = try await world.get("/tickets?view=mine", cookie: cookie)
            #expect(!String(buffer: mine.body).contains("Forged"))
        }
    }

    @Test func aTicketTitleWithMarkupRendersInert() async throws {
        try await World.run { world in
            let (cookie, _) = try await world.signIn("requestor@hdms.test")
            let page = try await world.get("/tickets/new", cookie: cookie)
            let csrf = try #require(World.csrf(in: page))
            let session = try await world.auth.signIn("requestor@hdms.test")
            let departments = try await world.auth.departments(token: session.accessToken)
            let title = Form.percentEncode("<script>window.__xss=1</script>\" onmouseover=\"x")
            let created = try await world.post(
                "/tickets", cookie: cookie,
                form: "_csrf=\(csrf)&title=\(title)&description=Body&priority=high&department_id=\(departments["IT"]!.lowercased)&intent=draft")
            #expect(created.status == .seeOther)
            #expect(created.headers[.location]?.hasPrefix("/tickets/") == true)
            let list = String(buffer: try await world.get("/tickets?view=mine", cookie: cookie).body)
            #expect(list.contains("&lt;script&gt;window.__xss=1&lt;/script&gt;&quot; onmouseover=&quot;x"))
            #expect(!list.contains("<script>window.__xss"))
        }
    }

    @Test func administrationIsForAdmins() async throws {
        try await World.run { world in
            let (requestor, _) = try await world.signIn("requestor@hdms.test")
            #expect(try await world.get("/admin/employees", cookie: requestor).status == .forbidden)
            let (admin, _) = try await world.signIn("admin@hdms.test")
            let employees = try await world.get("/admin/employees", cookie: admin)
            #expect(employees.status == .ok)
            #expect(String(buffer: employees.body).contains("requestor@hdms.test"))
        }
    }

    @Test func templatesEscapeEveryValueAndChartDataCannotCloseItsScript() async throws {
        let folder = try #require(FrontendServiceApp.resourcesFolder)
        let library = try await MustacheLibrary(directory: folder.appendingPathComponent("Templates").path)
        let hostile = "<img src=x onerror=alert(1)>"
        let page = NotificationPages.Item(
            NotificationDTO(id: UUID(), kind: "ticket.submitted", ticketId: nil, title: hostile, body: hostile, createdAt: Date(), readAt: nil))
        let html = try #require(library.render(["title": hostile, "page": ["items": [page], "empty": false]], withTemplate: "notifications"))
        #expect(!html.contains(hostile))
        #expect(html.contains("&lt;img src=x onerror=alert(1)&gt;"))

        let chart = DashboardPages.Chart(id: "chart-x", type: "bar", title: "t", labels: ["</script><script>alert(1)</script>"], series: [])
        let dashboard = try #require(library.render(
            ["title": "x", "page": ["kind": "me", "chartJSON": DashboardPages.chartJSON([chart])]], withTemplate: "dashboard"))
        #expect(!dashboard.contains("</script><script>alert(1)"))
    }
}
