import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdTesting
import NIOCore
import ServiceKit
import Testing

/// Builds a service the way its executable does, against the test servers.
public enum ServiceHarness {
    /// Builds `definition` on a fresh database, trusting `tokens` when given.
    public static func build(
        _ definition: ServiceDefinition, tokens: TestTokens? = nil, database: String? = nil,
        redisPort: Int? = nil, extra: [String: String] = [:]
    ) async throws -> BuiltService {
        var definition = definition
        if let tokens { definition.makeVerifier = { _, _, _ in tokens.verifier() } }
        let configuration = try await TestServers.configuration(for: definition.name, database: database, redisPort: redisPort, extra: extra)
        return try await buildService(definition, configuration: configuration)
    }

    /// Checks what every service must answer: live, ready (naming its three checks), metrics with
    /// request counts and latency histograms, and its OpenAPI document.
    public static func expectStandardEndpoints(_ definition: ServiceDefinition, extra: [String: String] = [:]) async throws {
        let service = try await build(definition, extra: extra)
        let documented = Self.documentedOperations(definition.openAPIDocument)
        for route in service.routes {
            #expect(documented.contains(route), "\(route) is served but missing from openapi.yaml")
        }
        try await service.application.test(.router) { client in
            let live = try await client.execute(uri: "/health/live", method: .get)
            #expect(live.status == .ok)
            let ready = try await client.execute(uri: "/health/ready", method: .get)
            #expect(ready.status == .ok, "\(String(buffer: ready.body))")
            let report = try JSONDecoder().decode(ReadyReport.self, from: ready.body)
            #expect(report.status == "ready")
            #expect(Set(report.checks.keys) == ["database", "redis", "migrations"])
            let document = try await client.execute(uri: "/openapi.yaml", method: .get)
            #expect(document.status == .ok)
            #expect(String(buffer: document.body).hasPrefix("openapi: 3"))
            let metrics = try await client.execute(uri: "/metrics", method: .get)
            #expect(metrics.status == .ok)
            let text = String(buffer: metrics.body)
            #expect(text.contains("hb_requests"), "request counter missing")
            #expect(text.contains("http_server_request_duration_bucket"), "latency histogram missing")
            let unknown = try await client.execute(uri: "/nowhere", method: .get)
            #expect(unknown.status == .notFound)
            #expect(unknown.headers[.contentType] == "application/problem+json")
        }
    }

    /// `METHOD /path` of every operation in an OpenAPI document written in the suite's layout
    /// (paths at two spaces, methods at four).
    public static func documentedOperations(_ document: String) -> Set<String> {
        var operations: Set<String> = []
        var path: String?
        var inPaths = false
        for line in document.split(separator: "\n", omittingEmptySubsequences: false) {
            if !line.hasPrefix(" ") { inPaths = line == "paths:" }
            guard inPaths else { continue }
            if line.hasPrefix("  /"), line.hasSuffix(":"), !line.hasPrefix("   ") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("    "), !line.hasPrefix("     "), let path {
                let word = line.trimmingCharacters(in: .whitespaces).split(separator: ":").first.map(String.init) ?? ""
                if ["get", "post", "put", "patch", "delete"].contains(word) { operations.insert("\(word.uppercased()) \(path)") }
            }
        }
        return operations
    }

    public struct ReadyReport: Decodable {
        public var status: String
        public var checks: [String: Check]
        public struct Check: Decodable {
            public var ok: Bool
            public var error: String?
        }
    }
}

extension TestClientProtocol {
    /// Sends JSON with an optional bearer token.
    public func json(
        _ method: HTTPRequest.Method, _ uri: String, token: String? = nil, body: (some Encodable)? = Optional<String>.none,
        headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let body {
            headers[.contentType] = "application/json"
            buffer = ByteBuffer(data: try JSONEncoder.hdms.encode(body))
        }
        return try await self.execute(uri: uri, method: method, headers: headers, body: buffer)
    }
}

extension TestResponse {
    /// Decodes the body in the suite's JSON format.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder.hdms.decode(T.self, from: self.body)
    }

    /// The problem-details body of an error response.
    public var problem: Problem? { try? JSONDecoder().decode(Problem.self, from: self.body) }
}

/// A decoded `{items, next_cursor}` page.
public struct ListPage<Item: Decodable>: Decodable {
    public var items: [Item]
    public var nextCursor: String?
}
