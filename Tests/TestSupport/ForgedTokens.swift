import BaseModel
import Crypto
import Foundation
import HDMSProtocol

/// Hand-built tokens of the kinds attackers try: unsigned (`alg: none`), HMAC-signed with the
/// server's public key as the secret, or a valid signature over altered claims.
public enum ForgedTokens {
    static func segment(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return data.base64URLEncoded
    }

    static func claims(subject: UUID, roles: [Role], audience: String = AccessClaims.userAudience, issuer: String = AccessClaims.issuer) -> [String: Any] {
        let now = Int(Date().timeIntervalSince1970)
        return [
            "iss": issuer, "sub": subject.uuidString.lowercased(), "aud": audience, "exp": now + 600, "iat": now, "nbf": now - 1,
            "jti": UUID().uuidString, "typ": "user", "roles": roles.map(\.rawValue),
        ]
    }

    /// `alg: none` with an empty signature.
    public static func unsigned(kid: String, subject: UUID, roles: [Role]) -> String {
        segment(["alg": "none", "typ": "JWT", "kid": kid]) + "." + segment(claims(subject: subject, roles: roles)) + "."
    }

    /// HS256 keyed with the bytes of the server's public key (the classic algorithm-confusion attack).
    public static func hmacWithPublicKey(_ publicKey: Data, kid: String, subject: UUID, roles: [Role]) -> String {
        let signingInput = segment(["alg": "HS256", "typ": "JWT", "kid": kid]) + "." + segment(claims(subject: subject, roles: roles))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(signingInput.utf8), using: SymmetricKey(data: publicKey))
        return signingInput + "." + Data(mac).base64URLEncoded
    }

    /// A real token with its payload swapped for one granting `roles` (the signature no longer matches).
    public static func tampered(_ token: String, subject: UUID, roles: [Role]) -> String {
        let parts = token.split(separator: ".")
        return parts[0] + "." + segment(claims(subject: subject, roles: roles)) + "." + parts[2]
    }
}
