@testable import AuthService
import BaseModel
import FileService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
import Testing
import TestSupport

@Suite("Tokens every service verifies")
struct TokenTests {
    struct ServiceTokenRequest: Encodable {
        var clientId: String
        var clientSecret: String
        var audience: String
    }

    struct ServiceTokenAnswer: Decodable {
        var accessToken: String
        var expiresIn: Int
    }

    /// Another service (file-service) verifies auth-service's tokens from its JWKS over HTTP: a real
    /// user token passes; unsigned, HMAC-with-public-key, tampered, expired, wrong-audience and
    /// wrong-issuer tokens all get 401 problem+json.
    @Test func otherServicesVerifyAndRejectForgeries() async throws {
        let fixture = try await AuthFixture.make()
        let context = fixture.service.context
        try await fixture.service.application.test(.live) { auth in
            try await DemoOrganisation.seed(context)
            let port = try #require(auth.port)
            let files = try await ServiceHarness.build(try FileServiceApp.definition(), extra: ["HDMS_AUTH_URL": "http://127.0.0.1:\(port)"])
            let answer = try await auth.signIn("agent@hdms.test")
            let settings = try AuthSettings(context.configuration.environment)
            let publicKey = settings.signingKey.publicKey.rawRepresentation
            let sessions = await Sessions(client: context.postgres, settings: settings, logger: TestServers.logger)
            let wrongAudience = try await sessions.serviceToken(client: .tickets, audience: .communication)
            let rightAudience = try await sessions.serviceToken(client: .tickets, audience: .files)
            let expired = try await sessions.keys.sign(AccessClaims(
                subject: answer.user.id.uuidString.lowercased(), audience: "hdms", kind: .user, roles: [.admin], department: nil,
                moderates: nil, heads: nil, isCEO: nil, name: nil, issuedAt: Date().addingTimeInterval(-3600), lifetime: 60))
            var wrongIssuer = AccessClaims(
                subject: answer.user.id.uuidString.lowercased(), audience: "hdms", kind: .user, roles: [.admin], department: nil,
                moderates: nil, heads: nil, isCEO: nil, name: nil, issuedAt: Date(), lifetime: 60)
            wrongIssuer.iss = .init(value: "someone-else")
            let otherIssuer = try await sessions.keys.sign(wrongIssuer)

            try await files.application.test(.router) { client in
                // Any /api/ path: the middleware answers before routing.
                let path = "/api/v1/files/\(UUID())/meta"
                let good = try await client.json(.get, path, token: answer.accessToken)
                #expect(good.status != .unauthorized, "a genuine token must be accepted")
                let service = try await client.json(.get, path, token: rightAudience)
                #expect(service.status != .unauthorized, "a service token for file-service must be accepted")
                let forgeries = [
                    "alg none": ForgedTokens.unsigned(kid: settings.kid, subject: answer.user.id, roles: [.admin]),
                    "hs256 with public key": ForgedTokens.hmacWithPublicKey(publicKey, kid: settings.kid, subject: answer.user.id, roles: [.admin]),
                    "tampered payload": ForgedTokens.tampered(answer.accessToken, subject: answer.user.id, roles: [.admin]),
                    "expired": expired,
                    "wrong audience": wrongAudience,
                    "wrong issuer": otherIssuer,
                    "garbage": "not.a.token",
                ]
                for (name, token) in forgeries {
                    let response = try await client.json(.get, path, token: token)
                    #expect(response.status == .unauthorized, "\(name)")
                    #expect(response.headers[.contentType] == "application/problem+json", "\(name)")
                }
            }
        }
    }

    /// Other services resolve approvers and colleagues through the typed directory client, with their
    /// own service token.
    @Test func directoryClientFindsHeadsAndTheCEO() async throws {
        let fixture = try await AuthFixture.make()
        let context = fixture.service.context
        try await fixture.service.application.test(.live) { auth in
            try await DemoOrganisation.seed(context)
            let url = URL(string: "http://127.0.0.1:\(try #require(auth.port))")!
            let tokens = ServiceTokenProvider(authURL: url, clientID: .tickets, secret: AuthFixture.serviceSecret)
            let directory = DirectoryClient(http: ServiceHTTPClient(baseURL: url, audience: .auth, tokens: tokens))
            let hr = try #require(try await directory.departments().first { $0.name == "HR" })
            #expect(try await directory.head(of: hr.id)?.email == "head.hr@hdms.test")
            #expect(try await directory.ceo()?.email == "ceo@hdms.test")
            let ceo = try #require(try await directory.ceo())
            #expect(try await directory.employee(ceo.id)?.fullName == "Casey Chief")
            #expect(try await directory.employee(UUID()) == nil)
            let stranger = ServiceTokenProvider(authURL: url, clientID: .communication, secret: "not-configured-secret")
            let refused = DirectoryClient(http: ServiceHTTPClient(baseURL: url, audience: .auth, tokens: stranger))
            await #expect(throws: (any Error).self) { try await refused.ceo() }
        }
    }

    /// Services get short-lived tokens for a named audience with their client credentials; a wrong
    /// secret, an unknown client or an unknown audience is refused.
    @Test func serviceTokensNeedClientCredentials() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let good = try await client.json(.post, "/api/v1/auth/service-token", body: ServiceTokenRequest(
                clientId: "ticket-service", clientSecret: AuthFixture.serviceSecret, audience: "auth-service"))
            #expect(good.status == .ok)
            let token = try good.decode(ServiceTokenAnswer.self)
            #expect(token.expiresIn == 300)
            // The service token reaches auth-service's directory (for approver look-ups).
            #expect(try await client.json(.get, "/api/v1/employees?is_ceo=true", token: token.accessToken).status == .ok)
            let wrongSecret = try await client.json(.post, "/api/v1/auth/service-token", body: ServiceTokenRequest(
                clientId: "ticket-service", clientSecret: "wrong-secret-wrong-secret", audience: "auth-service"))
            #expect(wrongSecret.status == .unauthorized)
            let unknown = try await client.json(.post, "/api/v1/auth/service-token", body: ServiceTokenRequest(
                clientId: "communication-service", clientSecret: AuthFixture.serviceSecret, audience: "auth-service"))
            #expect(unknown.status == .unauthorized)
            let badAudience = try await client.json(.post, "/api/v1/auth/service-token", body: ServiceTokenRequest(
                clientId: "ticket-service", clientSecret: AuthFixture.serviceSecret, audience: "mainframe"))
            #expect(badAudience.status == .unprocessableContent)
            // A service token is not a user: user-only endpoints refuse it.
            #expect(try await client.json(.get, "/api/v1/auth/me", token: token.accessToken).status == .forbidden)
        }
    }

    /// After key rotation the previous key stays published, so tokens it signed keep verifying until
    /// they expire, while new tokens carry the new key id.
    @Test func rotationKeepsThePreviousKeyPublished() async throws {
        let database = try await TestServers.createDatabase()
        let first = try await AuthFixture.make(extra: ["HDMS_DB_NAME": database])
        let oldToken = try await Self.signInOnce(first)
        let second = try await AuthFixture.make(extra: ["HDMS_DB_NAME": database])
        try await second.run { client in
            let jwks = try await client.execute(uri: "/api/v1/auth/jwks", method: .get)
            let kids = try JSONDecoder().decode(KeySet.self, from: jwks.body).keys.map(\.kid)
            #expect(kids.count == 2)
            #expect(try await client.json(.get, "/api/v1/auth/me", token: oldToken).status == .ok)
        }
    }

    static func signInOnce(_ fixture: AuthFixture) async throws -> String {
        let box = TokenBox()
        try await fixture.run { client in box.token = try await client.signIn("agent@hdms.test").accessToken }
        return box.token
    }

    struct KeySet: Decodable {
        var keys: [Key]
        struct Key: Decodable { var kid: String }
    }
}

/// Carries a value out of a test closure.
final class TokenBox: @unchecked Sendable {
    // Written once inside the closure, read after it returned.
    var token = ""
}
