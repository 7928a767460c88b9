import BaseModel
import Foundation
import HDMSProtocol
import JWTKit
import ServiceKit

/// Signs access tokens with a key of the test's own, and builds verifiers that trust only it, for
/// testing a service without starting auth-service.
public struct TestTokens: Sendable {
    public let key: EdDSA.PrivateKey
    public let kid: String

    public init() throws {
        self.key = try EdDSA.PrivateKey(curve: .ed25519)
        self.kid = "test-" + UUID().uuidString.prefix(8).lowercased()
    }

    /// The public key set, as auth-service would publish it.
    public var jwks: JWKS {
        get throws {
            let jwk = JWK.octetKeyPair(.eddsa, identifier: JWKIdentifier(string: self.kid), x: self.key.publicKey.rawRepresentation.base64URLEncoded, y: nil, curve: .ed25519)
            return JWKS(keys: [jwk])
        }
    }

    /// A verifier trusting this key only.
    public func verifier() -> TokenVerifier {
        let jwks = Result { try self.jwks }
        return TokenVerifier(source: { try jwks.get() }, logger: TestServers.logger)
    }

    /// A user token.
    public func user(
        _ id: UUID = UUID(), roles: [Role], department: UUID? = nil, moderates: [UUID]? = nil,
        lifetime: TimeInterval = 900, issuedAt: Date = Date()
    ) async throws -> String {
        let claims = AccessClaims(
            subject: id.uuidString.lowercased(), audience: AccessClaims.userAudience, kind: .user, roles: roles,
            department: department, moderates: moderates, heads: nil, isCEO: nil, name: "Test User",
            issuedAt: issuedAt, lifetime: lifetime)
        return try await self.sign(claims)
    }

    /// Signs any claim set with this key.
    public func sign(_ claims: AccessClaims) async throws -> String {
        let keys = JWTKeyCollection()
        await keys.add(eddsa: self.key, kid: JWKIdentifier(string: self.kid))
        return try await keys.sign(claims, kid: JWKIdentifier(string: self.kid))
    }
}
