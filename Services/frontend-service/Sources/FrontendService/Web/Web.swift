import BaseModel
import Foundation
import HDMSProtocol
import HTTPTypes
import Hummingbird
import Logging
import Mustache
import NIOCore
import ServiceKit

/// The web UI's plumbing: sessions, the signed-in request (`Visit`), page rendering with the
/// chrome every page shares, and the wrappers that put every page and form behind sign-in, token
/// refresh and CSRF checks.
struct Web: Sendable {
    let api: ServiceAPI
    let sessions: SessionStore
    let templates: MustacheLibrary
    let verifier: TokenVerifier
    let directory: DirectoryClient
    let logger: Logger

    typealias Handler = @Sendable (Request, inout Visit) async throws -> Response

    // MARK: Routes

    /// A page for signed-in users: without a session it redirects to the sign-in page.
    func page(_ router: Router<AppRequestContext>, _ path: RouterPath, _ handler: @escaping Handler) {
        router.get(path) { request, context in
            try await self.visit(request, context, write: false, handler)
        }
    }

    /// A form or script write for signed-in users: it must carry the session's CSRF token.
    func action(_ router: Router<AppRequestContext>, _ path: RouterPath, _ handler: @escaping Handler) {
        router.post(path) { request, context in
            try await self.visit(request, context, write: true, handler)
        }
    }

    private func visit(_ request: Request, _ context: AppRequestContext, write: Bool, _ handler: Handler) async throws -> Response {
        let wantsJSON = Self.wantsJSON(request)
        guard let id = Self.cookie(SessionStore.cookieName, in: request), var session = try await self.sessions.load(id) else {
            return wantsJSON ? Self.problemJSON(Problem.unauthorized("Your session has ended; sign in again")) : Self.toSignIn(request)
        }
        do {
            session = try await self.fresh(session, context: context)
        } catch {
            try? await self.sessions.delete(session.id)
            return wantsJSON ? Self.problemJSON(Problem.unauthorized("Your session has ended; sign in again")) : Self.toSignIn(request)
        }
        let claims: AccessClaims
        do {
            claims = try await self.verifier.verify(session.accessToken, audience: "hdms")
        } catch {
            try? await self.sessions.delete(session.id)
            return Self.toSignIn(request)
        }
        var request = request
        var form: Form?
        if write {
            // Read once here for the CSRF check; the handler takes the same form from the visit.
            form = try? await Form(request: &request, context: context)
            guard let form, Self.constantTimeEqual(form.csrfToken(request) ?? "", session.csrf) else {
                let problem = Problem.forbidden("The form has expired or did not come from this site; reload the page and try again")
                let visit = Visit(web: self, session: session, claims: claims, context: context, request: request, submitted: nil)
                return wantsJSON ? Self.problemJSON(problem) : self.renderError(problem, visit: visit)
            }
        }
        var visit = Visit(web: self, session: session, claims: claims, context: context, request: request, submitted: form)
        do {
            return try await handler(request, &visit)
        } catch let problem as Problem {
            if problem.statusCode == 401 {
                try? await self.sessions.delete(session.id)
                return wantsJSON ? Self.problemJSON(problem) : Self.toSignIn(request)
            }
            if wantsJSON { return Self.problemJSON(problem) }
            return self.renderError(problem, visit: visit)
        } catch let error as HTTPError {
            throw error
        } catch {
            context.logger.error("page failed", metadata: ["error": "\(String(reflecting: error))", "path": "\(request.uri.path)"])
            let problem = Problem.internalError(requestID: context.requestID)
            return wantsJSON ? Self.problemJSON(problem) : self.renderError(problem, visit: visit)
        }
    }

    /// The session with an access token valid for at least another 30 seconds, refreshed (and saved)
    /// when needed. Concurrent requests of one browser refresh once: the others wait for the
    /// winner's tokens instead of replaying the refresh token, which would revoke the whole family.
    func fresh(_ session: WebSession, context: AppRequestContext) async throws -> WebSession {
        guard session.accessExpiresAt < Date().addingTimeInterval(30) else { return session }
        let lock = "\(self.sessions.prefix):ui:refresh:\(session.id.prefix(16))"
        let acquired = try await self.sessions.redis.send("SET", lock, "1", "NX", "EX", "10").string == "OK"
        if !acquired {
            for _ in 0..<40 {
                try await Task.sleep(for: .milliseconds(100))
                if let current = try await self.sessions.load(session.id), current.accessExpiresAt >= Date().addingTimeInterval(30) { return current }
            }
            throw Problem.unauthorized("The session could not be refreshed")
        }
        defer { Task { [redis = self.sessions.redis] in _ = try? await redis.send("DEL", lock) } }
        struct Refresh: Encodable { var refreshToken: String }
        let tokens: LoginAnswer = try await self.api.json(
            .POST, "/api/v1/auth/refresh", caller: .init(requestID: context.requestID), body: Refresh(refreshToken: session.refreshToken))
        var updated = session
        updated.accessToken = tokens.accessToken
        updated.refreshToken = tokens.refreshToken
        updated.accessExpiresAt = Date().addingTimeInterval(TimeInterval(tokens.expiresIn))
        try await self.sessions.save(updated)
        return updated
    }

    // MARK: Rendering

    /// Renders `template` inside the layout with `page` as its model.
    func render(_ template: String, title: String, page: Any, visit: inout Visit, status: HTTPResponse.Status = .ok) async throws -> Response {
        let chrome = visit.chrome()
        if visit.session.flash != nil {
            visit.session.flash = nil
            try await self.sessions.save(visit.session)
        }
        return self.html(template, ["title": title, "chrome": chrome, "page": page], status: status)
    }

    /// Renders a template with a ready-made context.
    func html(_ template: String, _ object: Any, status: HTTPResponse.Status = .ok, headers extra: HTTPFields = [:]) -> Response {
        guard let text = self.templates.render(object, withTemplate: template) else {
            self.logger.error("template missing", metadata: ["template": "\(template)"])
            return Response(status: .internalServerError, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: "Template \(template) is missing")))
        }
        var headers = Self.pageHeaders
        headers.append(contentsOf: extra)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// An error page that keeps the chrome when the user is signed in.
    func renderError(_ problem: Problem, visit: Visit) -> Response {
        let page = ErrorPage(problem: problem, requestID: visit.context.requestID)
        return self.html("error", ["title": problem.title, "chrome": visit.chrome(), "page": page], status: HTTPResponse.Status(code: problem.statusCode))
    }

    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .init("X-Content-Type-Options")!: "nosniff",
        .init("X-Frame-Options")!: "DENY",
        .init("Referrer-Policy")!: "same-origin",
        .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            + "connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
    ]

    // MARK: Helpers

    static func redirect(_ location: String, headers extra: HTTPFields = [:]) -> Response {
        var headers: HTTPFields = [.location: location, .cacheControl: "no-store"]
        headers.append(contentsOf: extra)
        return Response(status: .seeOther, headers: headers)
    }

    static func toSignIn(_ request: Request) -> Response {
        var target = request.uri.path
        if let query = request.uri.query, !query.isEmpty { target += "?" + query }
        let next = request.method == .get && target != "/" ? "?next=" + Form.percentEncode(target) : ""
        return redirect("/login" + next)
    }

    static func wantsJSON(_ request: Request) -> Bool {
        request.headers[.accept]?.contains("application/json") ?? false
    }

    static func problemJSON(_ problem: Problem) -> Response {
        let body = (try? JSONEncoder.hdms.encodeAsByteBuffer(problem, allocator: ByteBufferAllocator())) ?? ByteBuffer()
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if let retryAfter = problem.retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: .init(code: problem.statusCode), headers: headers, body: .init(byteBuffer: body))
    }

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let body = try JSONEncoder.hdms.encodeAsByteBuffer(value, allocator: ByteBufferAllocator())
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: body))
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let parts = pair.split(separator: "=", maxSplits: 1)
                if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) == name {
                    return parts[1].trimmingCharacters(in: .whitespaces)
                }
            }
        }
        return nil
    }

    /// `Set-Cookie` for the session id; `Secure` when the browser reached the gateway over TLS.
    static func sessionCookie(_ value: String, request: Request, maxAge: Int) -> String {
        let secure = request.headers[.init("X-Forwarded-Proto")!] == "https" ? "; Secure" : ""
        return "\(SessionStore.cookieName)=\(value); Path=/; HttpOnly; SameSite=Lax; Max-Age=\(maxAge)\(secure)"
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count, !x.isEmpty else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// auth-service's answer to sign-in and refresh.
struct LoginAnswer: Decodable, Sendable {
    var accessToken: String
    var refreshToken: String
    var expiresIn: Int
    var user: SessionUser
}

/// The model of the error page.
struct ErrorPage {
    var status: Int
    var title: String
    var detail: String?
    var requestID: String?
    var errors: [Problem.FieldError]

    init(problem: Problem, requestID: String?) {
        self.status = problem.statusCode
        self.title = problem.title
        self.detail = problem.detail
        self.requestID = requestID
        self.errors = problem.errors ?? []
    }
}
