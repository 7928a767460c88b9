import BaseModel
import Foundation
import HDMSProtocol
import HummingbirdBcrypt
import Hummingbird
import JWTKit
import Logging
import NIOPosix
import ServiceKit

/// Sign-in, token refresh and logout, the caller's profile, the public keys and service tokens.
struct AuthController: Sendable {
    let directory: DirectoryRepository
    let sessions: Sessions
    let throttle: LoginThrottle
    let settings: AuthSettings
    /// A bcrypt hash nobody's password matches, verified for unknown emails so that an unknown
    /// email and a wrong password take the same time.
    let decoyHash: String

    struct LoginRequest: Decodable {
        var email: String?
        var password: String?
    }

    struct RefreshRequest: Decodable {
        var refreshToken: String?
    }

    struct ServiceTokenRequest: Decodable {
        var clientId: String?
        var clientSecret: String?
        var audience: String?
    }

    struct ServiceTokenResponse: Encodable {
        var accessToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
    }

    static let publicPaths: Set<String> = [
        "/api/v1/auth/login", "/api/v1/auth/refresh", "/api/v1/auth/logout", "/api/v1/auth/jwks", "/api/v1/auth/service-token",
    ]

    func register(on router: Router<AppRequestContext>) {
        let auth = router.group("api/v1/auth")
        auth.post("login", use: self.login)
        auth.post("refresh", use: self.refresh)
        auth.post("logout", use: self.logout)
        auth.get("me", use: self.me)
        auth.get("jwks", use: self.jwks)
        auth.post("service-token", use: self.serviceToken)
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        var check = Validation()
        let email = check.email(body.email)
        check.require(body.password, "password", maxLength: 72)
        try check.finish()
        // Validation passed, so both are present; the password is used exactly as typed.
        guard let email, let rawPassword = body.password else { throw Problem.badRequest("email and password are required") }
        let address = context.clientAddress(request)
        try await self.throttle.check(email: email, address: address)

        let found = try await self.directory.credentials(email: email)
        let hash = found?.1 ?? self.decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(rawPassword, hash: hash) }
        guard let (employee, _) = found, found?.1 != nil, matches, employee.active else {
            try await self.throttle.recordFailure(email: email, address: address)
            throw Problem.unauthorized("The email or password is wrong")
        }
        guard employee.hasAccess else {
            throw Problem(status: 403, kind: "no-access", title: "No HDMS access", detail: "Your account has not been given access to HDMS; ask an administrator")
        }
        try await self.throttle.recordSuccess(email: email, address: address)
        return try JSONEncoder.hdmsResponse(try await self.sessions.start(for: employee), status: .ok)
    }

    @Sendable func refresh(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: RefreshRequest.self, context: context)
        var check = Validation()
        guard let token = check.require(body.refreshToken, "refresh_token", maxLength: 200) else { try check.finish(); throw Problem.badRequest("refresh_token is required") }
        let outcome = try await self.sessions.rotate(token) { id, connection in
            try await self.directory.employee(id, on: connection)?.hasAccess ?? false
        }
        switch outcome {
        case .refused(let reason):
            throw Problem.unauthorized(reason)
        case .rotated(let employeeID, let refreshToken):
            guard let employee = try await self.directory.employee(employeeID) else { throw Problem.unauthorized("The account no longer exists") }
            return try JSONEncoder.hdmsResponse(Sessions.Issued(
                accessToken: try await self.sessions.accessToken(for: employee), refreshToken: refreshToken,
                expiresIn: Int(self.settings.accessTokenLifetime), user: UserSummary(employee)), status: .ok)
        }
    }

    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: RefreshRequest.self, context: context)
        var check = Validation()
        guard let token = check.require(body.refreshToken, "refresh_token", maxLength: 200) else { try check.finish(); throw Problem.badRequest("refresh_token is required") }
        try await self.sessions.revokeFamily(of: token)
        return Response(status: .noContent)
    }

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> UserSummary {
        let (id, _) = try context.requireUser()
        guard let employee = try await self.directory.employee(id), employee.hasAccess else {
            throw Problem.unauthorized("The account no longer has HDMS access")
        }
        return UserSummary(employee)
    }

    @Sendable func jwks(_ request: Request, context: AppRequestContext) async throws -> Response {
        var response = try JSONEncoder.hdmsResponse(try await self.sessions.jwks(), status: .ok)
        response.headers[.cacheControl] = "public, max-age=60"
        return response
    }

    @Sendable func serviceToken(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.decode(as: ServiceTokenRequest.self, context: context)
        var check = Validation()
        let clientID = check.require(body.clientId, "client_id", maxLength: 100)
        let secret = check.require(body.clientSecret, "client_secret", maxLength: 500)
        let audienceName = check.require(body.audience, "audience", maxLength: 100)
        try check.finish()
        guard let clientID, let secret, let audienceName else { throw Problem.badRequest("client credentials are required") }
        guard let expected = self.settings.serviceClients[clientID], Self.constantTimeEqual(expected, secret),
              let client = ServiceName(rawValue: clientID)
        else {
            throw Problem.unauthorized("Unknown client or wrong secret")
        }
        guard let audience = ServiceName(rawValue: audienceName) else {
            throw Problem.validation([.init(field: "audience", message: "must be one of \(ServiceName.allCases.map(\.rawValue).joined(separator: ", "))")])
        }
        let token = try await self.sessions.serviceToken(client: client, audience: audience)
        return try JSONEncoder.hdmsResponse(ServiceTokenResponse(accessToken: token, expiresIn: Int(self.settings.serviceTokenLifetime)), status: .ok)
    }

    static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for index in 0..<max(a.count, b.count) {
            difference |= (index < a.count ? a[index] : 0) ^ (index < b.count ? b[index] : 0)
        }
        return difference == 0
    }
}
