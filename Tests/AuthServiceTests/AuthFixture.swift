@testable import AuthService
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import ServiceKit
import TestSupport

/// auth-service on a fresh database with the demo organisation seeded; bcrypt at its minimum cost
/// so that tests stay fast (the cost is configuration, benchmarked at 10 in scripts/bench).
struct AuthFixture {
    static let serviceSecret = "ticket-service-secret-0123456789"
    let service: BuiltService

    static func make(extra: [String: String] = [:]) async throws -> AuthFixture {
        let seed = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let environment = [
            "HDMS_JWT_PRIVATE_KEY": seed,
            "HDMS_BCRYPT_COST": "4",
            "HDMS_SERVICE_CLIENTS": "ticket-service:\(serviceSecret),file-service:file-service-secret-0123456789",
        ].merging(extra) { _, new in new }
        let service = try await ServiceHarness.build(try AuthServiceApp.definition(), extra: environment)
        return AuthFixture(service: service)
    }

    /// Runs `body` against the router with migrations applied and the demo organisation seeded.
    func run(_ body: @Sendable @escaping (any TestClientProtocol) async throws -> Void) async throws {
        let context = self.service.context
        try await self.service.application.test(.router) { client in
            try await DemoOrganisation.seed(context)
            try await body(client)
        }
    }
}

struct LoginAnswer: Decodable {
    var accessToken: String
    var refreshToken: String
    var tokenType: String
    var expiresIn: Int
    var user: User

    struct User: Decodable {
        var id: UUID
        var email: String
        var fullName: String
        var departmentId: UUID?
        var roles: [Role]
    }
}

struct Credentials: Encodable {
    var email: String
    var password: String
}

extension TestClientProtocol {
    func login(_ email: String, password: String = "hdms-demo") async throws -> TestResponse {
        try await self.json(.post, "/api/v1/auth/login", body: Credentials(email: email, password: password),
                            headers: [.forwardedFor: "10.0.0.\(abs(email.hashValue) % 200)"])
    }

    /// Signs in and returns the answer, failing the test when sign-in fails.
    func signIn(_ email: String) async throws -> LoginAnswer {
        let response = try await self.login(email)
        guard response.status == .ok else { throw SignInFailed(status: Int(response.status.code), body: String(buffer: response.body)) }
        return try response.decode(LoginAnswer.self)
    }
}

struct SignInFailed: Error {
    var status: Int
    var body: String
}
