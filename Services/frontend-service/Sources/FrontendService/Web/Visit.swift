import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceKit

/// One signed-in request: the session, what the access token says about the user, and calls to
/// the APIs with the user's token.
struct Visit {
    let web: Web
    var session: WebSession
    let claims: AccessClaims
    let context: AppRequestContext
    let request: Request?
    /// The form of a write, read (and its CSRF token checked) before the handler runs.
    let submitted: Form?

    /// The submitted form; only writes (`Web.action`) have one.
    func form() throws -> Form {
        guard let submitted else { throw Problem.badRequest("This request carries no form") }
        return submitted
    }

    var caller: ServiceAPI.Caller {
        ServiceAPI.Caller(token: self.session.accessToken, requestID: self.context.requestID, forwardedFor: self.request.map(self.context.clientAddress))
    }

    var userID: UUID { self.session.user.id }
    func has(_ role: Role) -> Bool { self.claims.roles.contains(role) }
    var isStaff: Bool { self.has(.moderator) || self.has(.assignee) || self.has(.admin) }
    var isApprover: Bool { self.claims.head != nil || self.claims.ceo == true }
    var isExecutive: Bool { self.claims.ceo == true || self.has(.admin) }
    var moderates: [UUID] { self.claims.mod ?? [] }

    func get<T: Decodable>(_ path: String, as type: T.Type = T.self) async throws -> T {
        try await self.web.api.json(.GET, path, caller: self.caller, as: type)
    }

    @discardableResult
    func send<T: Decodable>(_ method: HTTPMethod, _ path: String, _ body: (any Encodable)? = nil, as type: T.Type = T.self) async throws -> T {
        try await self.web.api.json(method, path, caller: self.caller, body: body, as: type)
    }

    /// Leaves a message for the next page shown (the usual answer to a form post is a redirect).
    mutating func flash(notice: String? = nil, problem: Problem? = nil) async throws {
        self.session.flash = WebSession.Flash(notice: notice, problem: problem.map(Self.describe))
        try await self.web.sessions.save(self.session)
    }

    /// A problem as one readable line: its detail and each field's message the detail does not
    /// already say.
    static func describe(_ problem: Problem) -> String {
        var text = problem.detail ?? problem.title
        for error in problem.errors ?? [] where !text.contains(error.message) { text += " — \(error.field): \(error.message)" }
        return text
    }

    /// What the layout shows around every page.
    func chrome() -> Chrome {
        let user = self.session.user
        let initials = user.fullName.split(separator: " ").prefix(2).compactMap(\.first).map(String.init).joined()
        return Chrome(
            userName: user.fullName, userEmail: user.email, initials: initials.uppercased(), csrf: self.session.csrf,
            isAdmin: self.has(.admin), isStaff: self.isStaff, isModerator: self.has(.moderator), isAssignee: self.has(.assignee),
            isApprover: self.isApprover, isExecutive: self.isExecutive,
            notice: self.session.flash?.notice, problem: self.session.flash?.problem)
    }
}

/// The layout's model.
struct Chrome {
    var userName: String
    var userEmail: String
    var initials: String
    var csrf: String
    var isAdmin: Bool
    var isStaff: Bool
    var isModerator: Bool
    var isAssignee: Bool
    var isApprover: Bool
    var isExecutive: Bool
    var notice: String?
    var problem: String?
}

/// A URL-encoded form body (or query string): its fields in order, several values per name allowed.
struct Form: Sendable {
    var fields: [(String, String)]

    init(fields: [(String, String)]) { self.fields = fields }

    /// Reads the request's form body (at most 4 MiB), leaving the request usable.
    init(request: inout Request, context: AppRequestContext) async throws {
        let buffer = try await request.collectBody(upTo: 4 << 20)
        let contentType = request.headers[.contentType] ?? ""
        guard buffer.readableBytes == 0 || contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw Problem(status: 415, kind: "unsupported-media-type", title: "Unsupported media type", detail: "Send the form URL-encoded")
        }
        self.init(encoded: String(buffer: buffer))
    }

    init(encoded: String) {
        self.fields = encoded.split(separator: "&").compactMap { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]), !name.isEmpty else { return nil }
            return (name, parts.count > 1 ? Self.decode(parts[1]) ?? "" : "")
        }
    }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    /// The first value of `name`, trimmed; nil when absent or blank.
    subscript(_ name: String) -> String? {
        guard let value = self.fields.first(where: { $0.0 == name })?.1.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// Every value of `name` (checkbox groups, multi-selects).
    func all(_ name: String) -> [String] { self.fields.filter { $0.0 == name }.map(\.1) }

    func int(_ name: String) -> Int? { self[name].flatMap { Int($0) } }
    func uuid(_ name: String) -> UUID? { self[name].flatMap { UUID(uuidString: $0) } }

    /// The CSRF token a write carries: the `X-CSRF-Token` header (scripts) or the `_csrf` field (forms).
    func csrfToken(_ request: Request) -> String? {
        request.headers[.init("X-CSRF-Token")!] ?? self["_csrf"]
    }

    static func percentEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// The fields (but the CSRF token) as a query string.
    var query: String {
        self.fields.filter { $0.0 != "_csrf" && !$0.1.isEmpty }.map { "\(Self.percentEncode($0.0))=\(Self.percentEncode($0.1))" }.joined(separator: "&")
    }
}

