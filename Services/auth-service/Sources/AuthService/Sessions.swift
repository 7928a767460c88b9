import BaseModel
import Crypto
import Foundation
import HDMSProtocol
import JWTKit
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// Signs access tokens and keeps refresh-token families (ARCHITECTURE.md "Authentication").
struct Sessions: Sendable {
    let client: PostgresClient
    let settings: AuthSettings
    let keys: JWTKeyCollection
    let logger: Logger

    init(client: PostgresClient, settings: AuthSettings, logger: Logger) async {
        self.client = client
        self.settings = settings
        self.logger = logger
        self.keys = JWTKeyCollection()
        await self.keys.add(eddsa: EdDSA.PrivateKey(backing: settings.signingKey), kid: JWKIdentifier(string: settings.kid))
    }

    /// A token pair as the API answers it.
    struct Issued: Encodable, Sendable {
        var accessToken: String
        var refreshToken: String
        var tokenType = "Bearer"
        var expiresIn: Int
        var user: UserSummary
    }

    /// Records the current signing key and retires any other, so JWKS keeps publishing a previous
    /// key only until the tokens it signed have expired.
    func registerSigningKey() async throws {
        let publicKey = self.settings.signingKey.publicKey.rawRepresentation.base64URLEncoded
        try await self.client.transaction(logger: self.logger) { connection in
            try await connection.query("""
                INSERT INTO auth.signing_keys (kid, public_key) VALUES (\(self.settings.kid), \(publicKey))
                ON CONFLICT (kid) DO UPDATE SET retired_at = NULL
                """, logger: self.logger)
            try await connection.query("""
                UPDATE auth.signing_keys SET retired_at = now() WHERE kid <> \(self.settings.kid) AND retired_at IS NULL
                """, logger: self.logger)
        }
    }

    /// The published key set: the current key and retired keys whose tokens may still be valid.
    func jwks() async throws -> JWKS {
        let lifetime = max(self.settings.accessTokenLifetime, self.settings.serviceTokenLifetime) + 60
        let rows = try await self.client.query("""
            SELECT kid, public_key FROM auth.signing_keys
            WHERE retired_at IS NULL OR retired_at > now() - make_interval(secs => \(lifetime))
            ORDER BY created_at DESC
            """, logger: self.logger)
        var keys: [JWK] = []
        for try await (kid, x) in rows.decode((String, String).self) {
            keys.append(JWK.octetKeyPair(.eddsa, identifier: JWKIdentifier(string: kid), x: x, y: nil, curve: .ed25519))
        }
        if !keys.contains(where: { $0.keyIdentifier?.string == self.settings.kid }) { keys.insert(self.settings.publicJWK, at: 0) }
        return JWKS(keys: keys)
    }

    /// Signs a user's access token from their current directory record.
    func accessToken(for employee: Employee) async throws -> String {
        let claims = AccessClaims(
            subject: employee.id.lowercased, audience: AccessClaims.userAudience, kind: .user, roles: employee.roles,
            department: employee.departmentId, moderates: employee.moderatedDepartmentIds,
            heads: employee.isDepartmentHead ? employee.departmentId : nil, isCEO: employee.isCeo, name: employee.fullName,
            issuedAt: Date(), lifetime: self.settings.accessTokenLifetime)
        return try await self.keys.sign(claims, kid: JWKIdentifier(string: self.settings.kid))
    }

    /// Signs a service token for `client` with `audience` as its `aud`.
    func serviceToken(client: ServiceName, audience: ServiceName) async throws -> String {
        let claims = AccessClaims(
            subject: client.rawValue, audience: audience.rawValue, kind: .service, roles: [], department: nil, moderates: nil,
            heads: nil, isCEO: nil, name: client.rawValue, issuedAt: Date(), lifetime: self.settings.serviceTokenLifetime)
        return try await self.keys.sign(claims, kid: JWKIdentifier(string: self.settings.kid))
    }

    /// Starts a new refresh-token family for a signed-in employee and returns the pair.
    func start(for employee: Employee) async throws -> Issued {
        let refresh = Self.newRefreshToken()
        try await self.client.query("""
            INSERT INTO auth.refresh_tokens (id, family_id, employee_id, token_hash, expires_at)
            VALUES (\(UUID.v7()), \(UUID.v7()), \(employee.id), \(Self.hash(refresh)),
                    now() + make_interval(secs => \(self.settings.refreshTokenLifetime)))
            """, logger: self.logger)
        return Issued(
            accessToken: try await self.accessToken(for: employee), refreshToken: refresh,
            expiresIn: Int(self.settings.accessTokenLifetime), user: UserSummary(employee))
    }

    enum RefreshOutcome: Sendable {
        case rotated(employeeID: UUID, refreshToken: String)
        case refused(String)
    }

    /// Uses a refresh token: a live one is marked used and its successor issued in the same family;
    /// one used before (a stolen copy replayed, or the thief's after the owner's) revokes the family.
    func rotate(_ token: String, employeeAllowed: @Sendable (UUID, PostgresConnection) async throws -> Bool) async throws -> RefreshOutcome {
        let outcome: RefreshOutcome = try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                SELECT id, family_id, employee_id, expires_at > now(), used_at IS NOT NULL, revoked_at IS NOT NULL
                FROM auth.refresh_tokens WHERE token_hash = \(Self.hash(token)) FOR UPDATE
                """, logger: self.logger)
            guard let (id, family, employee, live, used, revoked) = try await DirectoryRepository.one(
                rows.decode((UUID, UUID, UUID, Bool, Bool, Bool).self)) else {
                return .refused("The refresh token is not valid")
            }
            if used || revoked {
                try await connection.query("""
                    UPDATE auth.refresh_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE family_id = \(family)
                    """, logger: self.logger)
                if used && !revoked {
                    self.logger.warning("refresh token reused; family revoked", metadata: ["employee_id": "\(employee.lowercased)"])
                }
                return .refused("The refresh token was already used or revoked; sign in again")
            }
            guard live else { return .refused("The refresh token has expired; sign in again") }
            guard try await employeeAllowed(employee, connection) else {
                try await connection.query("UPDATE auth.refresh_tokens SET revoked_at = now() WHERE family_id = \(family)", logger: self.logger)
                return .refused("HDMS access was revoked")
            }
            let next = Self.newRefreshToken()
            try await connection.query("UPDATE auth.refresh_tokens SET used_at = now() WHERE id = \(id)", logger: self.logger)
            try await connection.query("""
                INSERT INTO auth.refresh_tokens (id, family_id, employee_id, token_hash, expires_at)
                VALUES (\(UUID.v7()), \(family), \(employee), \(Self.hash(next)),
                        now() + make_interval(secs => \(self.settings.refreshTokenLifetime)))
                """, logger: self.logger)
            return .rotated(employeeID: employee, refreshToken: next)
        }
        return outcome
    }

    /// Revokes the family of a refresh token (logout). Unknown tokens are ignored.
    func revokeFamily(of token: String) async throws {
        try await self.client.query("""
            UPDATE auth.refresh_tokens SET revoked_at = COALESCE(revoked_at, now())
            WHERE family_id = (SELECT family_id FROM auth.refresh_tokens WHERE token_hash = \(Self.hash(token)))
            """, logger: self.logger)
    }

    static func newRefreshToken() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return Data(bytes).base64URLEncoded
    }

    static func hash(_ token: String) -> ByteBuffer { ByteBuffer(bytes: SHA256.hash(data: Data(token.utf8))) }
}
