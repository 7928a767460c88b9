import BaseModel
import Crypto
import Foundation
import Logging
import Redis
import ServiceKit

/// The signed-in user as the UI shows them, from the login answer.
struct SessionUser: Codable, Sendable {
    var id: UUID
    var email: String
    var fullName: String
    var departmentId: UUID?
    var roles: [String]
}

/// One browser's sign-in, kept server-side in Redis; the browser holds only its random id in the
/// `hdms_session` cookie (HttpOnly, SameSite=Lax, Secure behind TLS).
struct WebSession: Codable, Sendable {
    var id: String
    var accessToken: String
    var refreshToken: String
    var accessExpiresAt: Date
    /// The synchroniser token every form and script write must echo (`_csrf` / `X-CSRF-Token`).
    var csrf: String
    var user: SessionUser
    /// A one-shot message for the next page shown: a success notice or a problem.
    var flash: Flash?

    struct Flash: Codable, Sendable {
        var notice: String?
        var problem: String?
    }
}

/// Creates, reads, updates and ends sessions in Redis.
struct SessionStore: Sendable {
    static let cookieName = "hdms_session"

    let redis: RedisClient
    let prefix: String
    /// How long an idle session lives; each use extends it.
    let lifetime: Int

    private func key(_ id: String) -> String {
        // The store is keyed by a hash of the id, so a Redis dump does not hand out live cookies.
        let digest = SHA256.hash(data: Data(id.utf8))
        return "\(self.prefix):ui:session:" + digest.map { byte in String(byte, radix: 16).leftPadded(to: 2) }.joined()
    }

    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64URLEncoded
    }

    func load(_ id: String) async throws -> WebSession? {
        guard id.count <= 64, let raw = try await self.redis.send("GET", self.key(id)).string else { return nil }
        return try? JSONDecoder.hdms.decode(WebSession.self, from: Data(raw.utf8))
    }

    func save(_ session: WebSession) async throws {
        let data = try JSONEncoder.hdms.encode(session)
        _ = try await self.redis.send([
            .init(stringLiteral: "SET"), .init(stringLiteral: self.key(session.id)), .init(bytes: Array(data)),
            .init(stringLiteral: "EX"), .init(integerLiteral: self.lifetime),
        ])
    }

    func delete(_ id: String) async throws {
        _ = try await self.redis.send("DEL", self.key(id))
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        self.count >= width ? self : String(repeating: "0", count: width - self.count) + self
    }
}
