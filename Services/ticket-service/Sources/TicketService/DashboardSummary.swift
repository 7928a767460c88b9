import Foundation
import Logging
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Durations (seconds) in ascending buckets, each with its count and its shortest and longest
/// value, as `tickets.dashboard_durations` keeps them.
struct DurationHistogram: Sendable, Equatable {
    struct Bucket: Sendable, Equatable {
        var count: Int
        var shortest: Double
        var longest: Double
    }

    var buckets: [Bucket] = []

    /// The median as `percentile_cont(0.5)` takes it (the mean of the two middle values when the
    /// count is even). A value inside a bucket is interpolated between the bucket's shortest and
    /// longest by its rank, so it is exact whenever its bucket holds at most two values.
    func median() -> Double? {
        let total = self.buckets.reduce(0) { $0 + $1.count }
        guard total > 0 else { return nil }
        let position = Double(total - 1) / 2
        let lower = Int(position.rounded(.down))
        let low = self.value(at: lower)
        guard position > Double(lower) else { return low }
        return (low + self.value(at: lower + 1)) / 2
    }

    /// The value of 0-based rank `rank` over all buckets.
    func value(at rank: Int) -> Double {
        var before = 0
        for bucket in self.buckets {
            if rank < before + bucket.count {
                guard bucket.count > 1 else { return bucket.shortest }
                let within = Double(rank - before) / Double(bucket.count - 1)
                return bucket.shortest + (bucket.longest - bucket.shortest) * within
            }
            before += bucket.count
        }
        return self.buckets.last?.longest ?? 0
    }
}

/// Rebuilds the dashboard summary (`tickets.refresh_dashboard_summary()`) every
/// `HDMS_DASHBOARD_REFRESH_SECONDS` (300) in every replica; the function skips a rebuild while
/// another session runs one. The department and organisation dashboards read the summary, so
/// their figures are as of its last rebuild (`summary_refreshed_at`).
struct DashboardSummaryJob: Service {
    let client: PostgresClient
    let interval: Duration
    let startAfter: StartupGate?
    let logger: Logger

    static func interval(_ environment: EnvironmentReader) throws -> Duration {
        .seconds(try environment.int("HDMS_DASHBOARD_REFRESH_SECONDS", default: 300, range: 5...86_400))
    }

    /// Rebuilds the summary now; false when another session was rebuilding it.
    @discardableResult
    static func refresh(_ client: PostgresClient, logger: Logger) async throws -> Bool {
        for try await done in try await client.query("SELECT tickets.refresh_dashboard_summary()", logger: logger).decode(Bool.self) {
            return done
        }
        return false
    }

    func run() async throws {
        await self.startAfter?.wait()
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let started = ContinuousClock.now
                    if try await Self.refresh(self.client, logger: self.logger) {
                        self.logger.debug("dashboard summary rebuilt", metadata: ["seconds": "\(ContinuousClock.now - started)"])
                    }
                } catch is CancellationError {
                    return
                } catch {
                    self.logger.warning("dashboard summary rebuild failed, retrying", metadata: ["error": "\(describeDatabaseError(error))"])
                }
                try await Task.sleep(for: self.interval)
            }
        }
    }
}
