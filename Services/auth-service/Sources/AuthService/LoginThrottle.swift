import BaseModel
import Foundation
import Redis

/// Counts failed sign-ins per account and per client address in Redis windows; once either
/// reaches its limit, sign-in is refused with 429 until the window ends.
struct LoginThrottle: Sendable {
    let redis: RedisClient
    let prefix: String
    let maxPerAccount: Int
    let maxPerAddress: Int
    let windowSeconds: Int

    private func keys(email: String, address: String) -> (account: String, address: String) {
        ("\(self.prefix):login-fail:account:\(email)", "\(self.prefix):login-fail:address:\(address)")
    }

    /// Throws 429 when the account or the address is locked out.
    func check(email: String, address: String) async throws {
        let keys = self.keys(email: email, address: address)
        let replies = try await self.redis.pipeline([
            ["GET", .string(keys.account)], ["TTL", .string(keys.account)],
            ["GET", .string(keys.address)], ["TTL", .string(keys.address)],
        ])
        let account = replies[0].int ?? 0
        let addressCount = replies[2].int ?? 0
        if account >= self.maxPerAccount {
            throw Problem.rateLimited(retryAfter: max(replies[1].int ?? self.windowSeconds, 1), "Too many failed sign-ins for this account; try again later")
        }
        if addressCount >= self.maxPerAddress {
            throw Problem.rateLimited(retryAfter: max(replies[3].int ?? self.windowSeconds, 1), "Too many failed sign-ins from this address; try again later")
        }
    }

    func recordFailure(email: String, address: String) async throws {
        let keys = self.keys(email: email, address: address)
        _ = try await self.redis.incrementWindow(keys.account, windowSeconds: self.windowSeconds)
        _ = try await self.redis.incrementWindow(keys.address, windowSeconds: self.windowSeconds)
    }

    func recordSuccess(email: String, address: String) async throws {
        try await self.redis.send("DEL", self.keys(email: email, address: address).account)
    }
}
