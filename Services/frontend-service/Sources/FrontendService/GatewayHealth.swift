import AsyncHTTPClient
import Foundation
import HDMSProtocol
import Hummingbird
import NIOCore
import ServiceKit

/// `GET /gateway-health`: the readiness of the whole suite, which the gateway serves as
/// `GET /health`.
///
/// It asks the five services' `GET /health/ready` (this one included, over HTTP like the others)
/// concurrently, each bounded by `timeout`, and answers 200 `{"status": "ready", ...}` when all are
/// ready, 503 `{"status": "degraded", ...}` otherwise. Each service is reported with its HTTP status
/// and its own checks, or with the error that kept it from answering. It is not under `/api/`, so
/// it needs no token, like the probes it aggregates.
struct GatewayHealth: Sendable {
    /// One service to ask: its name and its base URL.
    struct Target: Sendable {
        var name: ServiceName
        var baseURL: URL
    }

    /// One check of a service's readiness report, passed through as the service wrote it.
    struct Check: Codable, Sendable {
        var ok: Bool
        var error: String?
        var millis: Int?
    }

    /// The part of a service's `/health/ready` body the gateway reports.
    struct ServiceReport: Decodable, Sendable {
        var status: String
        var checks: [String: Check]
    }

    /// What the gateway says about one service.
    struct ServiceReadiness: Codable, Sendable {
        var ready: Bool
        /// The HTTP status the service answered, absent when it could not be reached.
        var status: Int?
        var checks: [String: Check]?
        var error: String?
    }

    /// The whole answer.
    struct Report: Codable, Sendable {
        var status: String
        var services: [String: ServiceReadiness]
    }

    /// The probe of one service outlived its deadline.
    struct TimedOut: Error, CustomStringConvertible {
        var timeout: Duration
        var description: String { "no answer within \(self.timeout)" }
    }

    let targets: [Target]
    let timeout: Duration

    init(targets: [Target], timeout: Duration = .seconds(2)) {
        self.targets = targets
        self.timeout = timeout
    }

    /// The five services where `configuration` says they are; this service is reached on its own
    /// listening port.
    init(configuration: ServiceConfiguration, timeout: Duration = .seconds(2)) {
        var targets = [
            Target(name: .auth, baseURL: configuration.authURL),
            Target(name: .tickets, baseURL: configuration.ticketsURL),
            Target(name: .communication, baseURL: configuration.communicationURL),
            Target(name: .files, baseURL: configuration.filesURL),
        ]
        if let own = Self.ownURL(host: configuration.httpHost, port: configuration.httpPort) {
            targets.append(Target(name: configuration.service, baseURL: own))
        }
        self.init(targets: targets, timeout: timeout)
    }

    /// `http://host:port` for this service's listener; a wildcard address is reached on loopback.
    static func ownURL(host: String, port: Int) -> URL? {
        let reachable: String
        switch host {
        case "", "0.0.0.0": reachable = "127.0.0.1"
        case "::", "[::]": reachable = "[::1]"
        default: reachable = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        }
        return URL(string: "http://\(reachable):\(port)")
    }

    func register(on router: Router<AppRequestContext>) {
        router.get("/gateway-health") { _, context in
            let report = await self.evaluate(requestID: context.requestID)
            return try JSONEncoder.hdmsResponse(report, status: report.status == "ready" ? .ok : .serviceUnavailable)
        }
    }

    /// Asks every target concurrently and gathers the answers.
    func evaluate(requestID: String? = nil) async -> Report {
        let results = await withTaskGroup(of: (String, ServiceReadiness).self) { group in
            for target in self.targets {
                group.addTask {
                    (target.name.rawValue, await self.probe(target, requestID: requestID))
                }
            }
            var results: [String: ServiceReadiness] = [:]
            for await (name, readiness) in group { results[name] = readiness }
            return results
        }
        let ready = results.count == self.targets.count && results.values.allSatisfy(\.ready)
        return Report(status: ready ? "ready" : "degraded", services: results)
    }

    /// One service's readiness; never throws, every failure is reported in the result.
    func probe(_ target: Target, requestID: String?) async -> ServiceReadiness {
        let url = target.baseURL.appendingPathComponent("health/ready").absoluteString
        do {
            // The request's own deadline ends waiting for the answer (AsyncHTTPClient then names the
            // last connection error); the guard, a little later, ends a body that never finishes.
            let (status, body) = try await Self.withDeadline(self.timeout + .milliseconds(250)) {
                var request = HTTPClientRequest(url: url)
                request.method = .GET
                request.headers.add(name: "Accept", value: "application/json")
                if let requestID { request.headers.add(name: "X-Request-Id", value: requestID) }
                let response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(Int64(self.timeout / .milliseconds(1))))
                let body = try await response.body.collect(upTo: 1 << 16)
                return (Int(response.status.code), body)
            }
            guard let report = try? JSONDecoder.hdms.decode(ServiceReport.self, from: body) else {
                return ServiceReadiness(ready: false, status: status, error: "answered \(status) without a readiness report")
            }
            return ServiceReadiness(ready: status == 200 && report.status == "ready", status: status, checks: report.checks)
        } catch {
            return ServiceReadiness(ready: false, error: self.describe(error, url: url))
        }
    }

    /// Runs `body`, or throws `TimedOut` once `timeout` has passed.
    static func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw TimedOut(timeout: timeout)
            }
            defer { group.cancelAll() }
            guard let first = try await group.next() else { throw TimedOut(timeout: timeout) }
            return first
        }
    }

    /// A short description of why a service could not be asked.
    func describe(_ error: any Error, url: String) -> String {
        if error is TimedOut { return "\(url): no answer within \(self.timeout)" }
        if let io = error as? IOError, io.errnoCode == ECONNREFUSED { return "\(url): connection refused" }
        if let client = error as? HTTPClientError {
            switch client {
            case .deadlineExceeded, .connectTimeout, .readTimeout: return "\(url): no answer within \(self.timeout)"
            default: return "\(url): \(client)"
            }
        }
        return "\(url): \(String(describing: error))"
    }
}
