import BaseModel
import Foundation
import HDMSProtocol
import HTTPTypes
import Hummingbird
import ServiceKit

/// Sign-in, sign-out, the profile with notification preferences, and the token the page scripts
/// use for the live socket and uploads.
struct AccountPages: Sendable {
    let web: Web

    struct LoginPage {
        var email: String
        var problem: String?
        var next: String
        var csrf: String
    }

    /// The sign-in form's own CSRF token (there is no session yet): a random value in a
    /// `SameSite=Strict` cookie that the form must echo, so another site cannot sign a browser in.
    static let loginCookie = "hdms_login"

    /// The sign-in page with a fresh login token in its form and cookie.
    private func loginPage(_ request: Request, email: String, problem: String?, next: String, status: HTTPResponse.Status) -> Response {
        let token = SessionStore.randomToken()
        let secure = request.headers[.init("X-Forwarded-Proto")!] == "https" ? "; Secure" : ""
        return self.web.html(
            "login", ["title": "Sign in", "page": LoginPage(email: email, problem: problem, next: next, csrf: token)], status: status,
            headers: [.setCookie: "\(Self.loginCookie)=\(token); Path=/login; HttpOnly; SameSite=Strict; Max-Age=3600\(secure)"])
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/login") { request, _ in
            self.loginPage(request, email: "", problem: nil, next: Self.safeNext(request.uri.queryParameters.get("next")), status: .ok)
        }
        router.post("/login") { request, context in try await self.signIn(request, context) }
        self.web.action(router, "/logout") { request, visit in
            struct Logout: Encodable { var refreshToken: String }
            _ = try? await visit.send(.POST, "/api/v1/auth/logout", Logout(refreshToken: visit.session.refreshToken), as: Empty.self)
            try await self.web.sessions.delete(visit.session.id)
            return Web.redirect("/login", headers: [.setCookie: Web.sessionCookie("", request: request, maxAge: 0)])
        }
        self.web.page(router, "/session/token") { _, visit in
            struct Token: Encodable { var token: String; var expiresAt: Date; var userId: UUID }
            return try Web.json(Token(token: visit.session.accessToken, expiresAt: visit.session.accessExpiresAt, userId: visit.userID))
        }
        self.web.page(router, "/profile") { _, visit in try await self.profile(&visit) }
        self.web.action(router, "/profile/preferences") { request, visit in
            let form = try visit.form()
            let muted = Self.notificationKinds.map(\.kind).filter { !form.all("kind").contains($0) }
            struct Preferences: Encodable { var mutedKinds: [String] }
            do {
                try await visit.send(.PUT, "/api/v1/notification-preferences", Preferences(mutedKinds: muted), as: Empty.self)
                try await visit.flash(notice: "Notification preferences saved")
            } catch let problem as Problem {
                try await visit.flash(problem: problem)
            }
            return Web.redirect("/profile")
        }
    }

    /// Checks the credentials with auth-service and starts a session.
    private func signIn(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        var request = request
        let form = try await Form(request: &request, context: context)
        let next = Self.safeNext(form["next"])
        let email = form["email"] ?? ""
        guard let cookie = Web.cookie(Self.loginCookie, in: request), Web.constantTimeEqual(cookie, form["_csrf"] ?? "") else {
            return self.loginPage(request, email: email, problem: "The sign-in form expired; please try again.", next: next, status: .forbidden)
        }
        struct Credentials: Encodable { var email: String; var password: String }
        let caller = ServiceAPI.Caller(requestID: context.requestID, forwardedFor: context.clientAddress(request))
        do {
            let answer: LoginAnswer = try await self.web.api.json(
                .POST, "/api/v1/auth/login", caller: caller, body: Credentials(email: email, password: form.fields.first { $0.0 == "password" }?.1 ?? ""))
            let session = WebSession(
                id: SessionStore.randomToken(), accessToken: answer.accessToken, refreshToken: answer.refreshToken,
                accessExpiresAt: Date().addingTimeInterval(TimeInterval(answer.expiresIn)), csrf: SessionStore.randomToken(),
                user: answer.user, flash: nil)
            try await self.web.sessions.save(session)
            var headers: HTTPFields = [.setCookie: Web.sessionCookie(session.id, request: request, maxAge: self.web.sessions.lifetime)]
            headers.append(HTTPField(name: .setCookie, value: "\(Self.loginCookie)=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0"))
            return Web.redirect(next, headers: headers)
        } catch let problem as Problem {
            let message = switch problem.statusCode {
            case 401: "The email or password is not right."
            case 429: "Too many attempts; wait \(problem.retryAfter ?? 60) seconds and try again."
            default: Visit.describe(problem)
            }
            return self.loginPage(request, email: email, problem: message, next: next, status: .init(code: problem.statusCode == 429 ? 429 : 401))
        }
    }

    /// Only a local path may follow sign-in (never another site).
    static func safeNext(_ raw: String?) -> String {
        guard let raw, raw.hasPrefix("/"), !raw.hasPrefix("//"), !raw.contains("\\"), !raw.hasPrefix("/login") else { return "/dashboard" }
        return raw
    }

    static let notificationKinds: [(kind: String, label: String)] = [
        ("ticket.submitted", "A ticket is submitted to my queue"),
        ("ticket.assigned", "A ticket is assigned to me or my department"),
        ("ticket.status_changed", "A ticket I am involved in changes status"),
        ("message.posted", "A new message on my tickets"),
        ("approval.requested", "My approval is requested"),
        ("approval.decided", "An approval on my ticket is decided"),
        ("sla.breached", "An SLA is breached"),
        ("ticket.reminder", "Reminders of postponed tickets"),
        ("ticket.auto_closed", "A resolved ticket was closed automatically"),
    ]

    struct ProfilePage {
        struct Kind { var kind: String; var label: String; var enabled: Bool }
        var user: SessionUser
        var roles: String
        var department: String
        var kinds: [Kind]
        var moderates: String?
    }

    private func profile(_ visit: inout Visit) async throws -> Response {
        struct Preferences: Decodable { var mutedKinds: [String] }
        let preferences: Preferences = try await visit.get("/api/v1/notification-preferences")
        let departments = try await visit.web.departmentNames()
        let page = ProfilePage(
            user: visit.session.user, roles: visit.session.user.roles.map(Vocabulary.label).joined(separator: ", "),
            department: visit.session.user.departmentId.flatMap { departments[$0] } ?? "—",
            kinds: Self.notificationKinds.map { .init(kind: $0.kind, label: $0.label, enabled: !preferences.mutedKinds.contains($0.kind)) },
            moderates: visit.moderates.isEmpty ? nil : visit.moderates.compactMap { departments[$0] }.joined(separator: ", "))
        return try await self.web.render("profile", title: "Profile", page: page, visit: &visit)
    }
}
