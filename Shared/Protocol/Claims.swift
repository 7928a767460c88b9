import Foundation
import BaseModel
import JWTKit

/// The claim set of every access token auth-service signs (API.md "Access token claims").
///
/// User tokens carry `aud: "hdms"`, the employee id as `sub`, roles and department; service tokens
/// carry the calling service as `sub` and the callee as `aud`.
public struct AccessClaims: JWTPayload, Equatable {
    /// `typ`: who the token speaks for.
    public enum Kind: String, Codable, Sendable {
        case user
        case service
    }

    /// The issuer every service expects.
    public static let issuer = "hdms-auth"
    /// The audience of user tokens.
    public static let userAudience = "hdms"

    public var iss: IssuerClaim
    public var sub: SubjectClaim
    public var aud: AudienceClaim
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim
    public var nbf: NotBeforeClaim
    public var jti: IDClaim
    public var typ: Kind
    public var roles: [Role]
    /// The employee's department (user tokens).
    public var dept: UUID?
    /// Departments the user moderates (moderators).
    public var mod: [UUID]?
    /// The department the user heads, if any.
    public var head: UUID?
    /// Whether the user is the CEO.
    public var ceo: Bool?
    /// The employee's display name, for UIs that show who is signed in.
    public var name: String?

    public init(
        subject: String, audience: String, kind: Kind, roles: [Role], department: UUID?,
        moderates: [UUID]?, heads: UUID?, isCEO: Bool?, name: String?, issuedAt: Date, lifetime: TimeInterval
    ) {
        // Whole seconds: jwt-kit would otherwise write fractional `exp` values, which some clients refuse.
        let now = Date(timeIntervalSince1970: issuedAt.timeIntervalSince1970.rounded(.down))
        self.iss = IssuerClaim(value: AccessClaims.issuer)
        self.sub = SubjectClaim(value: subject)
        self.aud = AudienceClaim(value: audience)
        self.iat = IssuedAtClaim(value: now)
        self.nbf = NotBeforeClaim(value: now.addingTimeInterval(-1))
        self.exp = ExpirationClaim(value: now.addingTimeInterval(lifetime.rounded()))
        self.jti = IDClaim(value: UUID.v7().lowercased)
        self.typ = kind
        self.roles = roles
        self.dept = department
        self.mod = moderates
        self.head = heads
        self.ceo = isCEO
        self.name = name
    }

    /// Checks expiry, not-before and issuer; the audience is checked by the verifier that knows who it is.
    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try self.exp.verifyNotExpired()
        try self.nbf.verifyNotBefore()
        guard self.iss.value == AccessClaims.issuer else {
            throw JWTError.claimVerificationFailure(failedClaim: self.iss, reason: "unexpected issuer")
        }
    }
}

