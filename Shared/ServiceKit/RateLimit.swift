import BaseModel
import Foundation
import Redis

/// A fixed-window limit kept in Redis, so every replica counts against the same window: at most
/// `limit` actions per key in each window of `windowSeconds`, counted from the key's first action.
public struct RateLimit: Sendable {
    public let redis: RedisClient
    /// The key prefix, e.g. `hdms:rate:messages`; the caller's key is appended after a colon.
    public let prefix: String
    public let limit: Int
    public let windowSeconds: Int

    public init(redis: RedisClient, prefix: String, limit: Int, windowSeconds: Int) {
        self.redis = redis
        self.prefix = prefix
        self.limit = limit
        self.windowSeconds = windowSeconds
    }

    /// Counts one action of `key`; throws 429 with `Retry-After` (the seconds left in the window)
    /// once the window already holds `limit` of them. A limit of 0 turns the check off.
    public func acquire(_ key: String, what: String) async throws {
        guard self.limit > 0 else { return }
        let count: Int
        let ttl: Int
        do {
            (count, ttl) = try await self.redis.incrementWindow("\(self.prefix):\(key)", windowSeconds: self.windowSeconds)
        } catch is RedisError {
            throw Problem.unavailable("The rate limiter (Redis) cannot be reached")
        }
        guard count <= self.limit else {
            throw Problem.rateLimited(
                retryAfter: ttl, "At most \(self.limit) \(what) per \(self.windowSeconds) seconds; try again in \(ttl) seconds")
        }
    }
}
