import AsyncHTTPClient
import BaseModel
import Foundation
import HDMSProtocol
import JWTKit
import Logging
import NIOCore
import Synchronization

/// Verifies access tokens locally against auth-service's public keys.
///
/// Keys come from a JWKS source (auth-service's `/api/v1/auth/jwks` for every other service, its own
/// key table for auth-service). They are fetched once and again only when a token names a `kid`
/// this verifier has not seen, at most once per `refetchInterval`, never per request. Only EdDSA
/// keys are ever loaded, so `alg: none`, HS256 signed with the public key and every other algorithm
/// fail verification.
///
/// Verified tokens are remembered until they expire (at most `cacheLimit` of them), so a client
/// that sends the same token on every request pays for the Ed25519 check once: a hit compares the
/// exact token text and re-checks expiry, and never crosses the actor.
public final class TokenVerifier: Sendable {
    private let keys: KeyStore
    private let cache = Mutex<[String: AccessClaims]>([:])
    private let cacheLimit: Int

    public init(source: @escaping KeyStore.JWKSSource, refetchInterval: Duration = .seconds(5), cacheLimit: Int = 10_000, logger: Logger) {
        self.keys = KeyStore(source: source, refetchInterval: refetchInterval, logger: logger)
        self.cacheLimit = cacheLimit
    }

    /// A verifier that reads auth-service's JWKS over HTTP, waiting at most `timeout` for them
    /// (the suite's `HDMS_SERVICE_CALL_TIMEOUT_MS`).
    public static func remote(authURL: URL, timeout: Duration = .seconds(5), logger: Logger) -> TokenVerifier {
        let url = authURL.appendingPathComponent("api/v1/auth/jwks").absoluteString
        let (seconds, attoseconds) = timeout.components
        let deadline = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        return TokenVerifier(source: {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            let response = try await HTTPClient.shared.execute(request, timeout: deadline)
            guard response.status == .ok else { throw Problem.unavailable("auth-service answered \(response.status.code) for its keys") }
            let body = try await response.body.collect(upTo: 1 << 20)
            return try JSONDecoder().decode(JWKS.self, from: body)
        }, logger: logger)
    }

    /// Verifies signature, `exp`, `nbf`, `iss` and the audience; returns the claims.
    ///
    /// - Parameter audience: the service's own name; user tokens (`aud: hdms`) are accepted by
    ///   every service, service tokens only by the service they were issued for.
    public func verify(_ token: String, audience: String) async throws(Problem) -> AccessClaims {
        let claims: AccessClaims
        if let cached = self.cache.withLock({ $0[token] }), cached.exp.value > Date() {
            claims = cached
        } else {
            do {
                claims = try await self.keys.verify(token)
            } catch let problem as Problem {
                throw problem
            } catch {
                throw Problem.unauthorized("The access token is invalid or expired")
            }
            self.remember(token, claims)
        }
        let audiences = claims.aud.value
        switch claims.typ {
        case .user:
            guard audiences.contains(AccessClaims.userAudience) else { throw Problem.unauthorized("The token is not meant for HDMS users") }
        case .service:
            guard audiences.contains(audience) else { throw Problem.unauthorized("The service token is not meant for \(audience)") }
        }
        return claims
    }

    /// Replaces the key set with the source's current one.
    public func refresh() async throws {
        try await self.keys.refresh()
    }

    private func remember(_ token: String, _ claims: AccessClaims) {
        let limit = self.cacheLimit
        guard limit > 0 else { return }
        self.cache.withLock { cache in
            if cache.count >= limit {
                let now = Date()
                cache = cache.filter { $0.value.exp.value > now }
                if cache.count >= limit { cache.removeAll(keepingCapacity: true) }
            }
            cache[token] = claims
        }
    }
}

/// The signing keys, fetched on demand.
public actor KeyStore {
    public typealias JWKSSource = @Sendable () async throws -> JWKS

    private var keys = JWTKeyCollection()
    private var lastFetch: ContinuousClock.Instant?
    private let source: JWKSSource
    private let refetchInterval: Duration
    private let logger: Logger

    init(source: @escaping JWKSSource, refetchInterval: Duration, logger: Logger) {
        self.source = source
        self.refetchInterval = refetchInterval
        self.logger = logger
    }

    /// Checks the signature and the time and issuer claims.
    func verify(_ token: String) async throws -> AccessClaims {
        if self.lastFetch == nil { try await self.refresh() }
        do {
            return try await self.keys.verify(token, as: AccessClaims.self)
        } catch let error as JWTError where error.errorType == .unknownKID {
            guard let last = self.lastFetch, ContinuousClock.now - last >= self.refetchInterval else { throw error }
            try await self.refresh()
            return try await self.keys.verify(token, as: AccessClaims.self)
        }
    }

    /// Replaces the key set with the source's current one.
    public func refresh() async throws {
        let jwks: JWKS
        do {
            jwks = try await self.source()
        } catch {
            self.logger.warning("cannot fetch the token signing keys", metadata: ["error": "\(error)"])
            throw Problem.unavailable("The token signing keys cannot be fetched")
        }
        let fresh = JWTKeyCollection()
        for key in jwks.keys {
            // Anything but Ed25519 public keys is ignored: no symmetric or RSA key can ever verify.
            guard key.keyType == .octetKeyPair, key.keyIdentifier != nil else { continue }
            try await fresh.add(jwk: key)
        }
        self.keys = fresh
        self.lastFetch = .now
    }
}
