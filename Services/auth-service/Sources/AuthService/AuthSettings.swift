import BaseModel
import Crypto
import Foundation
import HDMSProtocol
import JWTKit
import ServiceKit

/// auth-service's own settings, read once from the environment (README "auth-service").
struct AuthSettings: Sendable {
    /// The Ed25519 key access tokens are signed with (`HDMS_JWT_PRIVATE_KEY`, base64 of the 32-byte seed).
    var signingKey: Curve25519.Signing.PrivateKey
    /// `kid` of the signing key: the first 16 hex digits of the SHA-256 of its public key.
    var kid: String
    var accessTokenLifetime: TimeInterval
    var refreshTokenLifetime: TimeInterval
    var serviceTokenLifetime: TimeInterval
    var bcryptCost: UInt8
    /// Client id → secret of the services allowed to obtain service tokens (`HDMS_SERVICE_CLIENTS`).
    var serviceClients: [String: String]
    var maxFailuresPerAccount: Int
    var maxFailuresPerAddress: Int
    var failureWindowSeconds: Int

    init(_ environment: EnvironmentReader) throws {
        let encoded = try environment.string("HDMS_JWT_PRIVATE_KEY")
        guard let seed = Data(base64Encoded: encoded), seed.count == 32,
              let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed)
        else {
            throw ConfigurationError(variable: "HDMS_JWT_PRIVATE_KEY", problem: "must be the base64 of 32 random bytes (an Ed25519 seed)")
        }
        self.signingKey = key
        self.kid = SHA256.hash(data: key.publicKey.rawRepresentation).prefix(8).hexEncoded
        self.accessTokenLifetime = TimeInterval(try environment.int("HDMS_ACCESS_TOKEN_TTL", default: 900, range: 30...86_400))
        self.refreshTokenLifetime = TimeInterval(try environment.int("HDMS_REFRESH_TOKEN_TTL", default: 30 * 86_400, range: 60...365 * 86_400))
        self.serviceTokenLifetime = TimeInterval(try environment.int("HDMS_SERVICE_TOKEN_TTL", default: 300, range: 30...3_600))
        self.bcryptCost = UInt8(try environment.int("HDMS_BCRYPT_COST", default: 12, range: 4...31))
        self.maxFailuresPerAccount = try environment.int("HDMS_LOGIN_MAX_FAILURES_ACCOUNT", default: 5, range: 1...1_000)
        self.maxFailuresPerAddress = try environment.int("HDMS_LOGIN_MAX_FAILURES_ADDRESS", default: 30, range: 1...100_000)
        self.failureWindowSeconds = try environment.int("HDMS_LOGIN_FAILURE_WINDOW", default: 900, range: 1...86_400)
        var clients: [String: String] = [:]
        for entry in (environment.optionalString("HDMS_SERVICE_CLIENTS") ?? "").split(separator: ",") {
            let parts = entry.split(separator: ":", maxSplits: 1).map(String.init)
            guard parts.count == 2, ServiceName(rawValue: parts[0]) != nil, parts[1].count >= 16 else {
                throw ConfigurationError(variable: "HDMS_SERVICE_CLIENTS", problem: "must list service-name:secret pairs with secrets of 16+ characters")
            }
            clients[parts[0]] = parts[1]
        }
        self.serviceClients = clients
    }

    /// The public half as a JWK.
    var publicJWK: JWK {
        JWK.octetKeyPair(
            .eddsa, identifier: JWKIdentifier(string: self.kid),
            x: self.signingKey.publicKey.rawRepresentation.base64URLEncoded, y: nil, curve: .ed25519)
    }
}
