import AsyncHTTPClient
import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceKit

/// A real auth-service, running live on a free port with the demo organisation seeded, for
/// testing other services against genuine tokens, JWKS and directory look-ups.
public struct AuthServer: Sendable {
    /// The client secret every service is given in tests.
    public static func secret(for service: ServiceName) -> String { "\(service.rawValue)-test-secret-0123456789" }

    public let url: URL

    /// Runs `body` while an auth-service built from `definition` serves on a free port.
    public static func run(
        _ definition: ServiceDefinition, _ body: @Sendable @escaping (AuthServer) async throws -> Void
    ) async throws {
        let seed = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let clients = ServiceName.allCases.map { "\($0.rawValue):\(secret(for: $0))" }.joined(separator: ",")
        let service = try await ServiceHarness.build(definition, extra: [
            "HDMS_JWT_PRIVATE_KEY": seed, "HDMS_BCRYPT_COST": "4", "HDMS_SERVICE_CLIENTS": clients,
            "HDMS_LOGIN_MAX_FAILURES_ACCOUNT": "1000", "HDMS_LOGIN_MAX_FAILURES_ADDRESS": "100000",
        ])
        guard let seedDemo = definition.commands["seed-demo"] else { throw Problem.badRequest("auth-service has no seed-demo command") }
        let context = service.context
        try await service.application.test(.live) { client in
            try await seedDemo(context)
            guard let port = client.port else { throw Problem.unavailable("auth-service has no port") }
            try await body(AuthServer(url: URL(string: "http://127.0.0.1:\(port)")!))
        }
    }

    /// The environment a service under test needs to reach this auth-service as `service`.
    public func environment(for service: ServiceName) -> [String: String] {
        ["HDMS_AUTH_URL": self.url.absoluteString, "HDMS_SERVICE_SECRET": Self.secret(for: service)]
    }

    /// A signed-in demo user.
    public struct Session: Decodable, Sendable {
        public var accessToken: String
        public var user: User
        public struct User: Decodable, Sendable {
            public var id: UUID
            public var departmentId: UUID?
        }
    }

    /// Signs a demo user in (password `hdms-demo`).
    public func signIn(_ email: String) async throws -> Session {
        var request = HTTPClientRequest(url: self.url.appendingPathComponent("api/v1/auth/login").absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"email": "\#(email)", "password": "hdms-demo"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else { throw Problem.unauthorized("sign-in of \(email) failed: \(String(buffer: body))") }
        return try JSONDecoder.hdms.decode(Session.self, from: body)
    }

    /// Signs in demo users by the part of their email before `@hdms.test`; returns their tokens and ids.
    public func signIn(users: [String]) async throws -> (tokens: [String: String], ids: [String: UUID]) {
        var tokens: [String: String] = [:]
        var ids: [String: UUID] = [:]
        for user in users {
            let session = try await self.signIn("\(user)@hdms.test")
            tokens[user] = session.accessToken
            ids[user] = session.user.id
        }
        return (tokens, ids)
    }

    /// The demo departments by name.
    public func departments(token: String) async throws -> [String: UUID] {
        var request = HTTPClientRequest(url: self.url.appendingPathComponent("api/v1/departments").absoluteString)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        struct Items: Decodable { var items: [Item]; struct Item: Decodable { var id: UUID; var name: String } }
        let items = try JSONDecoder.hdms.decode(Items.self, from: try await response.body.collect(upTo: 1 << 20)).items
        return Dictionary(uniqueKeysWithValues: items.map { ($0.name, $0.id) })
    }
}
