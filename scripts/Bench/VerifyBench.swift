import BaseModel
import Crypto
import Foundation
import HDMSProtocol
import Hummingbird
import JWTKit
import Logging
import NIOCore
import NIOEmbedded
import ServiceKit

/// `hdms-bench verify`: what verifying a user's access token costs, in `TokenVerifier` alone and
/// as `AuthenticationMiddleware` adds it to a routed request.
enum VerifyBench {
    static let count = 200_000
    static let concurrency = 8
    static let audience = "file-service"

    /// Measures and reports every figure.
    static func run(report: Report) async throws {
        let logger = Logger(label: "hdms-bench")
        let (verifier, token) = try await self.verifierAndToken(logger: logger, cacheLimit: 10_000)
        let (uncached, uncachedToken) = try await self.verifierAndToken(logger: logger, cacheLimit: 0)
        _ = try await verifier.verify(token, audience: self.audience)

        for (name, candidate, candidateToken) in [("cached", verifier, token), ("uncached", uncached, uncachedToken)] {
            for tasks in [1, self.concurrency] {
                let elapsed = try await self.measure(tasks: tasks) { _ = try await candidate.verify(candidateToken, audience: self.audience) }
                try report.record("verify.\(name).tasks\(tasks).per_verification", self.microseconds(elapsed) / Double(self.count), "µs")
                try report.record("verify.\(name).tasks\(tasks).throughput", Double(self.count) / self.seconds(elapsed), "verifications/s")
            }
        }

        let signed = try self.signatureOnly(token)
        let elapsed = try await self.measure(tasks: 1) {
            guard signed.key.isValidSignature(signed.signature, for: signed.message) else { throw BenchError.invalidSignature }
        }
        try report.record("verify.ed25519_signature_only", self.microseconds(elapsed) / Double(self.count), "µs")

        let channel = NIOAsyncTestingChannel()
        let request = Request(
            head: HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/api/v1/ping", headerFields: [.authorization: "Bearer \(token)"]),
            body: RequestBody(buffer: ByteBuffer()))
        let baseline = self.responder(verifier: nil)
        let authenticated = self.responder(verifier: verifier)
        for tasks in [1, self.concurrency] {
            let bare = try await self.perRequest(baseline, request, channel: channel, logger: logger, tasks: tasks)
            let guarded = try await self.perRequest(authenticated, request, channel: channel, logger: logger, tasks: tasks)
            try report.record("route.tasks\(tasks).baseline", bare, "µs/request")
            try report.record("route.tasks\(tasks).middleware", guarded, "µs/request")
            try report.record("route.tasks\(tasks).middleware_adds", guarded - bare, "µs/request")
        }
        try await channel.close()
    }

    /// A verifier trusting one fresh Ed25519 key, and a user token signed with it.
    static func verifierAndToken(logger: Logger, cacheLimit: Int) async throws -> (TokenVerifier, String) {
        let key = try EdDSA.PrivateKey(curve: .ed25519)
        let kid = JWKIdentifier(string: "bench-key")
        let x = key.publicKey.rawRepresentation.base64URLEncoded
        let jwks = JWKS(keys: [JWK.octetKeyPair(.eddsa, identifier: kid, x: x, y: nil, curve: .ed25519)])
        let signer = JWTKeyCollection()
        await signer.add(eddsa: key, kid: kid)
        let department = UUID()
        let claims = AccessClaims(
            subject: UUID().uuidString.lowercased(), audience: AccessClaims.userAudience, kind: .user, roles: [.requestor, .moderator, .assignee],
            department: department, moderates: [department, UUID(), UUID()], heads: nil, isCEO: false, name: "Alexandra Example-Agent",
            issuedAt: Date(), lifetime: 3_600)
        return (TokenVerifier(source: { jwks }, cacheLimit: cacheLimit, logger: logger), try await signer.sign(claims, kid: kid))
    }

    /// A bare Ed25519 signature over the token's signing input: the floor under any verification.
    static func signatureOnly(_ token: String) throws -> (key: Curve25519.Signing.PublicKey, signature: Data, message: Data) {
        let key = Curve25519.Signing.PrivateKey()
        let message = Data(token.split(separator: ".").prefix(2).joined(separator: ".").utf8)
        return (key.publicKey, try key.signature(for: message), message)
    }

    /// A router serving `GET /api/v1/ping`, behind `AuthenticationMiddleware` when given a verifier.
    static func responder(verifier: TokenVerifier?) -> RouterResponder<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        if let verifier { router.add(middleware: AuthenticationMiddleware(verifier: verifier, audience: self.audience)) }
        router.get("/api/v1/ping") { _, _ in "ok" }
        return router.buildResponder()
    }

    /// Microseconds of wall time per request when `tasks` concurrent tasks send `request` `count` times.
    static func perRequest(
        _ responder: RouterResponder<AppRequestContext>, _ request: Request, channel: NIOAsyncTestingChannel, logger: Logger, tasks: Int
    ) async throws -> Double {
        let elapsed = try await self.measure(tasks: tasks) {
            let response = try await responder.respond(to: request, context: AppRequestContext(source: .init(channel: channel, logger: logger)))
            guard response.status == .ok else { throw BenchError.unexpectedStatus(response.status.code) }
        }
        return self.microseconds(elapsed) / Double(self.count)
    }

    /// Wall time of `count` calls of `body`, shared evenly by `tasks` concurrent tasks.
    static func measure(tasks: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Duration {
        let start = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<tasks {
                group.addTask { for _ in 0..<(self.count / tasks) { try await body() } }
            }
            try await group.waitForAll()
        }
        return ContinuousClock.now - start
    }

    /// A duration in seconds.
    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// A duration in microseconds.
    static func microseconds(_ duration: Duration) -> Double { self.seconds(duration) * 1e6 }
}

/// A benchmark request that did not succeed.
enum BenchError: Error {
    case unexpectedStatus(Int)
    case invalidSignature
}
