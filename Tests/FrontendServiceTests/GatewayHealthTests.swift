import AsyncHTTPClient
import Foundation
import FrontendService
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import NIOCore
import NIOPosix
import ServiceKit
import ServiceLifecycle
import Testing
import TestSupport

@Suite("Gateway health")
struct GatewayHealthTests {
    /// The `/gateway-health` body as a client reads it.
    struct Report: Decodable {
        var status: String
        var services: [String: Entry]
    }

    /// One service in the report.
    struct Entry: Decodable {
        var ready: Bool
        var status: Int?
        var checks: [String: Check]?
        var error: String?
    }

    /// One of a service's own checks.
    struct Check: Decodable {
        var ok: Bool
    }

    /// Every service's name, as the report keys them.
    static let names = Set(ServiceName.allCases.map(\.rawValue))

    /// With nothing listening where the five services should be (this one included), the answer is
    /// 503 `degraded` within the probes' 2 s bound, naming each service not ready with its error.
    @Test func nothingReachableIsDegraded() async throws {
        let dead = try await Self.freePort()
        let frontend = try await ServiceHarness.build(
            try FrontendServiceApp.definition(),
            extra: Self.urls(default: "http://127.0.0.1:\(dead)").merging(["HDMS_HTTP_PORT": String(dead)]) { _, new in new })
        try await frontend.application.test(.router) { client in
            let start = ContinuousClock.now
            let response = try await client.execute(uri: "/gateway-health", method: .get)
            #expect(ContinuousClock.now - start < .seconds(5))
            #expect(response.status == .serviceUnavailable)
            #expect(response.headers[.contentType] == "application/json")
            let report = try JSONDecoder().decode(Report.self, from: response.body)
            #expect(report.status == "degraded")
            #expect(Set(report.services.keys) == Self.names)
            for (name, entry) in report.services {
                #expect(!entry.ready, "\(name) reported ready")
                #expect(entry.status == nil, "\(name) has a status")
                #expect(entry.error?.contains("127.0.0.1:\(dead)") == true, "\(name): \(entry.error ?? "no error")")
            }
        }
    }

    /// A live service (built with the service kit, as file-service) is reported ready with its
    /// status and its own checks, as is the frontend itself, while the unreachable three keep the
    /// whole answer at 503.
    @Test func reportsEachServiceOnItsOwn() async throws {
        let dead = try await Self.freePort()
        try await Self.withLiveServices([.files]) { urls in
            let report = try await Self.askLiveFrontend(urls: Self.urls(default: "http://127.0.0.1:\(dead)").merging(urls) { _, new in new }, expecting: .serviceUnavailable)
            #expect(report.status == "degraded")
            #expect(Set(report.services.keys) == Self.names)
            for name in [ServiceName.files, .frontend] {
                let entry = report.services[name.rawValue]
                #expect(entry?.ready == true, "\(name.rawValue): \(entry?.error ?? "")")
                #expect(entry?.status == 200)
                #expect(entry?.checks.map { Set($0.keys) } == ["database", "redis", "migrations"])
                #expect(entry?.checks?.values.allSatisfy(\.ok) == true)
            }
            for name in [ServiceName.auth, .tickets, .communication] {
                #expect(report.services[name.rawValue]?.ready == false)
                #expect(report.services[name.rawValue]?.error != nil)
            }
        }
    }

    /// With all five services live and ready, the answer is 200 `ready`.
    @Test func allReadyIsReady() async throws {
        try await Self.withLiveServices([.auth, .tickets, .communication, .files]) { urls in
            let report = try await Self.askLiveFrontend(urls: urls, expecting: .ok)
            #expect(report.status == "ready")
            #expect(Set(report.services.keys) == Self.names)
            #expect(report.services.values.allSatisfy { $0.ready && $0.status == 200 })
        }
    }

    // MARK: - Helpers

    /// The variable that tells the frontend where each other service is.
    static let urlVariables: [ServiceName: String] = [
        .auth: "HDMS_AUTH_URL", .tickets: "HDMS_TICKETS_URL", .communication: "HDMS_COMMS_URL", .files: "HDMS_FILES_URL",
    ]

    /// The four URL variables, each set to `url`.
    static func urls(default url: String) -> [String: String] {
        Dictionary(uniqueKeysWithValues: Self.urlVariables.values.map { ($0, url) })
    }

    /// A service with only the kit's routes, named `name`: database, Redis and migrations checks.
    static func stub(_ name: ServiceName) -> ServiceDefinition {
        ServiceDefinition(name: name, migrations: [], openAPIDocument: "openapi: 3.1.0\n") { _, _ in [] }
    }

    /// Runs each of `services` live (nested), then `body` with their URL variables.
    static func withLiveServices(
        _ services: [ServiceName], urls: [String: String] = [:], _ body: @escaping @Sendable ([String: String]) async throws -> Void
    ) async throws {
        guard let name = services.first else { return try await body(urls) }
        let service = try await ServiceHarness.build(Self.stub(name))
        try await service.application.test(.live) { client in
            let port = try #require(client.port)
            let variable = try #require(Self.urlVariables[name])
            var urls = urls
            urls[variable] = "http://localhost:\(port)"
            try await Self.withLiveServices(Array(services.dropFirst()), urls: urls, body)
        }
    }

    /// Builds the frontend with `urls`, runs it on a port of its own (it asks itself there, which
    /// the live test framework's port 0 would hide from it), and returns its `/gateway-health`.
    static func askLiveFrontend(urls: [String: String], expecting status: HTTPResponse.Status) async throws -> Report {
        let port = try await Self.freePort()
        let frontend = try await ServiceHarness.build(
            try FrontendServiceApp.definition(),
            // A live service that answers late on a loaded machine is still ready; unreachable ones fail at once.
            extra: urls.merging(["HDMS_HTTP_PORT": String(port), "HDMS_GATEWAY_HEALTH_TIMEOUT_MS": "8000"]) { _, new in new })
        let group = ServiceGroup(configuration: .init(services: [frontend.application], logger: TestServers.logger))
        return try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            do {
                try await Self.waitUntilLive(port: port)
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/gateway-health")
                request.method = .GET
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
                let body = try await response.body.collect(upTo: 1 << 20)
                #expect(response.status.code == status.code, "\(String(buffer: body))")
                let report = try JSONDecoder().decode(Report.self, from: body)
                await group.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return report
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }

    /// Waits until `/health/live` answers on `port`.
    static func waitUntilLive(port: Int) async throws {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/health/live")
        request.method = .GET
        for _ in 0..<100 {
            if let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(1)), response.status == .ok {
                _ = try await response.body.collect(upTo: 1 << 16)
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw NotLive(port: port)
    }

    /// The frontend did not come up.
    struct NotLive: Error, CustomStringConvertible {
        var port: Int
        var description: String { "nothing answered on port \(self.port)" }
    }

    /// A TCP port of 127.0.0.1 that was free a moment ago (and where nothing listens now).
    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }
}
