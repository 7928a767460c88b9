import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Redis
import ServiceKit
import Testing
import TestSupport

@Suite("Service kit")
struct ServiceKitTests {
    static let definition = ServiceDefinition(
        name: .files, migrations: [], openAPIDocument: """
            openapi: 3.1.0
            paths:
              /health/live:
                get: {}
              /health/ready:
                get: {}
              /metrics:
                get: {}
              /openapi.yaml:
                get: {}
              /api/v1/echo:
                get: {}
            """
    ) { _, router in
        router.get("/api/v1/echo") { _, context in
            try context.requireIdentity().roles.map(\.rawValue).sorted().joined(separator: ",")
        }
        return []
    }

    /// Readiness turns 503 naming the redis check when Redis stops, and 200 again when it is back,
    /// without restarting the service.
    @Test func readinessFollowsRedis() async throws {
        let server = try RedisProcess()
        try await server.start()
        let service = try await ServiceHarness.build(Self.definition, redisPort: server.port)
        try await service.application.test(.router) { client in
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
            await server.stop()
            let down = try await client.execute(uri: "/health/ready", method: .get)
            #expect(down.status == .serviceUnavailable)
            let report = try JSONDecoder().decode(ServiceHarness.ReadyReport.self, from: down.body)
            #expect(report.checks["redis"]?.ok == false)
            #expect(report.checks["database"]?.ok == true)
            try await server.start()
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
        }
    }

    /// An unreachable database makes readiness fail on the database check alone, within the
    /// probe's deadline, without crashing anything.
    @Test func readinessNamesAnUnreachableDatabase() async throws {
        let unreachable = DatabaseConfiguration(
            host: "127.0.0.1", port: try RedisProcess.freePort(), name: "none", user: "none", password: "none", maxConnections: 2)
        let postgres = PostgresClient(hdms: unreachable, logger: TestServers.logger)
        let redis = RedisClient(configuration: .init(host: "127.0.0.1", port: try TestServers.redisPort()), logger: TestServers.logger)
        let report = await withTaskGroup(of: Void.self) { group in
            group.addTask { await postgres.run() }
            let health = HealthController(service: "probe", checks: [
                .database(postgres, logger: TestServers.logger), .redis(redis),
            ], timeout: .seconds(1))
            let report = await health.evaluate()
            group.cancelAll()
            return report
        }
        #expect(report.status == "not_ready")
        #expect(report.checks["database"]?.ok == false)
        #expect(report.checks["redis"]?.ok == true)
    }

    /// The kit's endpoints answer on a service with no routes of its own.
    @Test func standardEndpoints() async throws {
        try await ServiceHarness.expectStandardEndpoints(Self.definition)
    }

    /// The route-coverage check finds a served route missing from the document.
    @Test func undocumentedRoutesAreFound() async throws {
        let service = try await ServiceHarness.build(Self.definition)
        let documented = ServiceHarness.documentedOperations("openapi: 3.1.0\npaths:\n  /health/live:\n    get: {}\n")
        #expect(documented == ["GET /health/live"])
        #expect(service.routes.contains("GET /api/v1/echo"))
        #expect(!documented.contains("GET /api/v1/echo"))
    }

    /// `/api/` routes refuse a missing or forged token with 401 problem+json, accept a valid one,
    /// and every response carries a request id (the caller's when it sent one).
    @Test func apiRoutesRequireAValidToken() async throws {
        let tokens = try TestTokens()
        let other = try TestTokens()
        let service = try await ServiceHarness.build(Self.definition, tokens: tokens)
        try await service.application.test(.router) { client in
            let missing = try await client.execute(uri: "/api/v1/echo", method: .get)
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.contentType] == "application/problem+json")
            #expect(missing.headers[.requestID] != nil)
            let forged = try await client.json(.get, "/api/v1/echo", token: try await other.user(roles: [.admin]))
            #expect(forged.status == .unauthorized)
            let expired = try await client.json(.get, "/api/v1/echo", token: try await tokens.user(roles: [.admin], issuedAt: Date().addingTimeInterval(-3600)))
            #expect(expired.status == .unauthorized)
            let good = try await client.json(.get, "/api/v1/echo", token: try await tokens.user(roles: [.admin, .requestor]), headers: [.requestID: "abc-123"])
            #expect(good.status == .ok)
            #expect(String(buffer: good.body) == "admin,requestor")
            #expect(good.headers[.requestID] == "abc-123")
        }
    }

    /// A missing or malformed variable stops start-up with an error naming it.
    @Test func badConfigurationNamesTheVariable() throws {
        #expect {
            try ServiceConfiguration(service: .auth, environment: EnvironmentReader([:]))
        } throws: { ($0 as? ConfigurationError)?.variable == "HDMS_DB_PASSWORD" }
        #expect {
            try ServiceConfiguration(service: .auth, environment: EnvironmentReader(["HDMS_DB_PASSWORD": "x", "HDMS_HTTP_PORT": "eighty"]))
        } throws: { ($0 as? ConfigurationError)?.variable == "HDMS_HTTP_PORT" }
    }
}

@Suite("Token verification cache")
struct TokenCacheTests {
    /// A cached verification never outlives the token: once it expires, the same token is refused.
    @Test func cachedTokenStillExpires() async throws {
        let tokens = try TestTokens()
        let verifier = tokens.verifier()
        let token = try await tokens.user(roles: [.requestor], lifetime: 2)
        _ = try await verifier.verify(token, audience: "file-service")
        _ = try await verifier.verify(token, audience: "file-service")
        try await Task.sleep(for: .milliseconds(2_600))
        await #expect(throws: Problem.self) { try await verifier.verify(token, audience: "file-service") }
    }

    /// The cache is keyed by the exact token: a token differing in its signature is verified afresh and refused.
    @Test func alteredTokenIsNotServedFromCache() async throws {
        let tokens = try TestTokens()
        let verifier = tokens.verifier()
        let token = try await tokens.user(roles: [.requestor])
        _ = try await verifier.verify(token, audience: "file-service")
        var altered = Array(token)
        altered[altered.count - 3] = altered[altered.count - 3] == "A" ? "B" : "A"
        await #expect(throws: Problem.self) { try await verifier.verify(String(altered), audience: "file-service") }
    }
}
