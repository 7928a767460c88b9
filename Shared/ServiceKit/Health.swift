import Foundation
import Hummingbird
import Logging
import PostgresNIO
import Redis
import NIOCore
import Synchronization

/// One readiness check: a name and a probe that throws when the dependency is not usable.
public struct HealthCheck: Sendable {
    public var name: String
    public var probe: @Sendable () async throws -> Void

    public init(_ name: String, probe: @escaping @Sendable () async throws -> Void) {
        self.name = name
        self.probe = probe
    }

    /// `SELECT 1` through PgBouncer.
    public static func database(_ postgres: PostgresClient, logger: Logger) -> HealthCheck {
        HealthCheck("database") { _ = try await postgres.query("SELECT 1", logger: logger).collect() }
    }

    /// `PING`.
    public static func redis(_ redis: RedisClient) -> HealthCheck {
        HealthCheck("redis") { try await redis.ping() }
    }
}

/// `GET /health/live` and `GET /health/ready`.
///
/// Ready runs every check concurrently, each bounded by `timeout`, and answers 200 only when all
/// pass; otherwise 503 with the failing checks named and their errors.
public struct HealthController: Sendable {
    public let service: String
    public let checks: [HealthCheck]
    public let timeout: Duration

    public init(service: String, checks: [HealthCheck], timeout: Duration = .seconds(2)) {
        self.service = service
        self.checks = checks
        self.timeout = timeout
    }

    /// One check's outcome.
    public struct CheckResult: Codable, Sendable {
        public var ok: Bool
        public var error: String?
        public var millis: Int
    }

    /// The readiness answer.
    public struct Report: Codable, Sendable {
        public var service: String
        public var status: String
        public var checks: [String: CheckResult]
    }

    public func register(on router: Router<AppRequestContext>) {
        router.get("/health/live") { _, _ in
            try JSONEncoder.hdmsResponse(["status": "live", "service": self.service], status: .ok)
        }
        router.get("/health/ready") { _, _ in
            let report = await self.evaluate()
            return try JSONEncoder.hdmsResponse(report, status: report.status == "ready" ? .ok : .serviceUnavailable)
        }
    }

    /// Runs every check concurrently, each bounded by `timeout`.
    public func evaluate() async -> Report {
        let timeout = self.timeout
        let results = await withTaskGroup(of: (String, CheckResult).self) { group in
            for check in self.checks {
                group.addTask {
                    let start = ContinuousClock.now
                    let outcome = await Self.run(check.probe, timeout: timeout)
                    let millis = Int((ContinuousClock.now - start) / .milliseconds(1))
                    return (check.name, CheckResult(ok: outcome == nil, error: outcome, millis: millis))
                }
            }
            var results: [String: CheckResult] = [:]
            for await (name, result) in group { results[name] = result }
            return results
        }
        let ready = results.values.allSatisfy(\.ok)
        return Report(service: self.service, status: ready ? "ready" : "not_ready", checks: results)
    }

    /// Runs a probe with a hard deadline; returns nil on success or the failure text. A probe stuck
    /// in a blocking call is abandoned (it finishes in the background), never waited for.
    private static func run(_ probe: @escaping @Sendable () async throws -> Void, timeout: Duration) async -> String? {
        let outcome = FirstResult()
        return await withCheckedContinuation { continuation in
            outcome.arm(continuation)
            let work = Task {
                do {
                    try await probe()
                    outcome.finish(nil)
                } catch {
                    outcome.finish(String(describing: error))
                }
            }
            Task {
                try? await Task.sleep(for: timeout)
                outcome.finish("timed out after \(timeout)")
                work.cancel()
            }
        }
    }
}

/// Resumes a continuation with whichever result comes first.
private final class FirstResult: Sendable {
    private let continuation = Mutex<CheckedContinuation<String?, Never>?>(nil)

    func arm(_ continuation: CheckedContinuation<String?, Never>) {
        self.continuation.withLock { $0 = continuation }
    }

    func finish(_ value: String?) {
        self.continuation.withLock { continuation in
            continuation?.resume(returning: value)
            continuation = nil
        }
    }
}

extension JSONEncoder {
    /// A JSON response in the suite's format.
    public static func hdmsResponse(_ value: some Encodable, status: HTTPResponse.Status) throws -> Response {
        let buffer = try JSONEncoder.hdms.encodeAsByteBuffer(value, allocator: ByteBufferAllocator())
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }
}
