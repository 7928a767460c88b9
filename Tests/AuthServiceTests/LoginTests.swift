@testable import AuthService
import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import JWTKit
import ServiceKit
import Testing
import TestSupport

@Suite("Sign-in, refresh and logout")
struct LoginTests {
    static let demo: [(String, Set<Role>)] = [
        ("admin@hdms.test", [.admin]), ("moderator@hdms.test", [.moderator]), ("agent@hdms.test", [.assignee]),
        ("agent.ops@hdms.test", [.assignee]), ("requestor@hdms.test", [.requestor]), ("head.hr@hdms.test", [.requestor]),
        ("head.finance@hdms.test", [.requestor, .moderator]), ("ceo@hdms.test", [.requestor]),
    ]

    /// Every demo login signs in and gets an EdDSA token whose claims carry its roles, verifiable
    /// with the published JWKS.
    @Test func everyDemoUserSignsIn() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let jwks = try await client.execute(uri: "/api/v1/auth/jwks", method: .get).decode(JWKS.self)
            let keys = JWTKeyCollection()
            try await keys.add(jwks: jwks)
            for (email, roles) in Self.demo {
                let answer = try await client.signIn(email)
                #expect(answer.tokenType == "Bearer")
                #expect(answer.expiresIn == 900)
                #expect(Set(answer.user.roles) == roles, "\(email)")
                let claims = try await keys.verify(answer.accessToken, as: AccessClaims.self)
                #expect(Set(claims.roles) == roles)
                #expect(claims.sub.value == answer.user.id.uuidString.lowercased())
                #expect(claims.aud.value == ["hdms"])
                #expect(claims.typ == .user)
                let header = try #require(answer.accessToken.split(separator: ".").first)
                #expect(String(decoding: Data(base64URLEncoded: String(header)) ?? Data(), as: UTF8.self).contains("\"EdDSA\""))
            }
            let me = try await client.json(.get, "/api/v1/auth/me", token: try await client.signIn("ceo@hdms.test").accessToken)
            #expect(me.status == .ok)
            #expect(String(buffer: me.body).contains("\"is_ceo\":true"))
        }
    }

    /// A wrong password and an unknown email get the same 401 answer; bad bodies get 400/422.
    @Test func failedSignInsAreIndistinguishable() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let wrong = try await client.login("agent@hdms.test", password: "not-the-password")
            let unknown = try await client.login("nobody@hdms.test", password: "not-the-password")
            #expect(wrong.status == .unauthorized)
            #expect(unknown.status == .unauthorized)
            #expect(wrong.problem?.detail == unknown.problem?.detail)
            #expect(wrong.problem?.type == "https://hdms.dev/problems/unauthorized")
            let malformed = try await client.execute(uri: "/api/v1/auth/login", method: .post, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{\"email\": "))
            #expect(malformed.status == .badRequest)
            let missing = try await client.json(.post, "/api/v1/auth/login", body: ["email": "not-an-email"])
            #expect(missing.status == .unprocessableContent)
            #expect(Set(missing.problem?.errors?.map(\.field) ?? []) == ["email", "password"])
        }
    }

    /// After five failures an account is throttled with 429 and Retry-After, even with the right password.
    @Test func repeatedFailuresAreThrottled() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            for _ in 0..<5 {
                #expect(try await client.login("agent@hdms.test", password: "wrong-password").status == .unauthorized)
            }
            let throttled = try await client.login("agent@hdms.test")
            #expect(throttled.status == .tooManyRequests)
            #expect(Int(throttled.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(try await client.login("admin@hdms.test").status == .ok)  // another account is unaffected
        }
    }

    /// Per-address throttling stops one client guessing across many accounts.
    @Test func addressIsThrottledAcrossAccounts() async throws {
        let fixture = try await AuthFixture.make(extra: ["HDMS_LOGIN_MAX_FAILURES_ADDRESS": "3"])
        try await fixture.run { client in
            let from: HTTPFields = [.forwardedFor: "192.0.2.7"]
            for index in 0..<3 {
                let response = try await client.json(.post, "/api/v1/auth/login", body: Credentials(email: "user\(index)@hdms.test", password: "guess"), headers: from)
                #expect(response.status == .unauthorized)
            }
            let blocked = try await client.json(.post, "/api/v1/auth/login", body: Credentials(email: "admin@hdms.test", password: "hdms-demo"), headers: from)
            #expect(blocked.status == .tooManyRequests)
        }
    }

    /// Refresh rotates the pair; presenting a used refresh token revokes the whole family, so the
    /// newest token of that family fails too.
    @Test func refreshRotatesAndReuseRevokesFamily() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let first = try await client.signIn("requestor@hdms.test")
            let rotated = try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": first.refreshToken])
            #expect(rotated.status == .ok)
            let second = try rotated.decode(LoginAnswer.self)
            #expect(second.refreshToken != first.refreshToken)
            let reused = try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": first.refreshToken])
            #expect(reused.status == .unauthorized)
            let afterReuse = try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": second.refreshToken])
            #expect(afterReuse.status == .unauthorized)
            let garbage = try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": "garbage"])
            #expect(garbage.status == .unauthorized)
        }
    }

    /// Logout revokes the family: its refresh token no longer works.
    @Test func logoutRevokesTheSession() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let session = try await client.signIn("agent@hdms.test")
            let logout = try await client.json(.post, "/api/v1/auth/logout", body: ["refresh_token": session.refreshToken])
            #expect(logout.status == .noContent)
            #expect(try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": session.refreshToken]).status == .unauthorized)
        }
    }

    /// Revoking access makes refresh fail at once and sign-in answer 403; deactivating does the same.
    @Test func revokedAccessEndsSessions() async throws {
        let fixture = try await AuthFixture.make()
        try await fixture.run { client in
            let admin = try await client.signIn("admin@hdms.test").accessToken
            let agent = try await client.signIn("agent@hdms.test")
            let revoke = try await client.json(.put, "/api/v1/employees/\(agent.user.id)/access", token: admin, body: ["roles": [String]()])
            #expect(revoke.status == .ok)
            #expect(try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": agent.refreshToken]).status == .unauthorized)
            let denied = try await client.login("agent@hdms.test")
            #expect(denied.status == .forbidden)
            #expect(denied.problem?.type == "https://hdms.dev/problems/no-access")

            let ops = try await client.signIn("agent.ops@hdms.test")
            let record = try await client.json(.get, "/api/v1/employees/\(ops.user.id)", token: admin).decode(Employee.self)
            struct Deactivate: Encodable { var active = false; var version: Int }
            let deactivated = try await client.json(.patch, "/api/v1/employees/\(ops.user.id)", token: admin, body: Deactivate(version: record.version))
            #expect(deactivated.status == .ok)
            #expect(try await client.json(.post, "/api/v1/auth/refresh", body: ["refresh_token": ops.refreshToken]).status == .unauthorized)
            #expect(try await client.login("agent.ops@hdms.test").status == .unauthorized)
        }
    }
}

