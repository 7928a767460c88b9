import BaseModel
import HDMSProtocol
import Hummingbird

/// Verifies the bearer token of every `/api/` request and puts the caller's `Identity` on the
/// context. Paths in `publicPaths` (login, refresh, JWKS) pass without a token; everything else
/// under `/api/` without a valid token is answered 401 before any handler runs. Role checks are the
/// handlers' (`context.require(.admin)`), since they depend on the resource.
public struct AuthenticationMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public let verifier: TokenVerifier
    public let audience: String
    public let publicPaths: Set<String>

    public init(verifier: TokenVerifier, audience: String, publicPaths: Set<String> = []) {
        self.verifier = verifier
        self.audience = audience
        self.publicPaths = publicPaths
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path.hasPrefix("/api/") else { return try await next(request, context) }
        var context = context
        if let token = Self.bearerToken(request) {
            let claims = try await self.verifier.verify(token, audience: self.audience)
            context.identity = try Identity(claims: claims, token: token)
            if let user = context.identity?.userID { context.logger[metadataKey: "user_id"] = .string(user.lowercased) }
        } else if !self.publicPaths.contains(path) && !Self.allowsQueryToken(path) {
            throw Problem.unauthorized("A bearer token is required (Authorization: Bearer <access token>)")
        }
        return try await next(request, context)
    }

    /// The WebSocket endpoint authenticates inside the socket (first frame or subprotocol).
    private static func allowsQueryToken(_ path: String) -> Bool { path == "/api/v1/ws" }

    /// The token of an `Authorization: Bearer <token>` header. Parsed on the UTF-8 bytes: this runs
    /// on every request, and Foundation's trimming costs more than the rest of the middleware.
    static func bearerToken(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let bytes = header.utf8
        guard bytes.count > 7, String(decoding: bytes.prefix(7), as: UTF8.self).lowercased() == "bearer " else { return nil }
        let token = bytes.dropFirst(7).drop { $0 == UInt8(ascii: " ") }
        let trimmed = token.prefix { $0 != UInt8(ascii: " ") }
        return trimmed.isEmpty ? nil : String(decoding: trimmed, as: UTF8.self)
    }
}
