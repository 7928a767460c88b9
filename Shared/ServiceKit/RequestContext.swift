import BaseModel
import Foundation
import HDMSProtocol
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Who is calling, as proven by a verified access token.
public struct Identity: Sendable {
    public enum Kind: Sendable, Equatable {
        case user(UUID)
        case service(ServiceName)
    }

    public var kind: Kind
    public var roles: Set<Role>
    public var department: UUID?
    public var moderates: Set<UUID>
    public var heads: UUID?
    public var isCEO: Bool
    public var name: String?
    /// The raw bearer token, forwarded when this service calls another on the user's behalf.
    public var token: String

    /// The employee id of a user caller.
    public var userID: UUID? {
        if case .user(let id) = self.kind { return id }
        return nil
    }

    public var isService: Bool {
        if case .service = self.kind { return true }
        return false
    }

    public func has(_ role: Role) -> Bool { self.roles.contains(role) }

    /// Staff roles see internal notes; services act with full visibility.
    public var isStaff: Bool { self.isService || self.roles.contains(where: \.isStaff) }

    public init(claims: AccessClaims, token: String) throws(Problem) {
        switch claims.typ {
        case .user:
            guard let id = UUID(uuidString: claims.sub.value) else { throw Problem.unauthorized("The token's subject is not an employee id") }
            self.kind = .user(id)
        case .service:
            guard let service = ServiceName(rawValue: claims.sub.value) else { throw Problem.unauthorized("The token's subject is not a known service") }
            self.kind = .service(service)
        }
        self.roles = Set(claims.roles)
        self.department = claims.dept
        self.moderates = Set(claims.mod ?? [])
        self.heads = claims.head
        self.isCEO = claims.ceo ?? false
        self.name = claims.name
        self.token = token
    }
}

/// The request context of every HDMS service: Hummingbird's core storage, the caller's identity
/// once authenticated, and the suite's JSON coding.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Set by `AuthenticationMiddleware` when the request carried a valid token.
    public var identity: Identity?
    /// The request id (`X-Request-Id`), set by `RequestIDMiddleware`.
    public var requestID: String?

    /// The peer's address (the gateway's, behind it); see `clientAddress(_:)`.
    public var remoteAddress: String?
    /// The event loop of the request's connection: a streamed response waits on it (see
    /// `ResponseBodyWriter.writePaced`).
    public let eventLoop: any EventLoop

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress?.ipAddress
        self.eventLoop = source.channel.eventLoop
    }

    /// The client's address: the last `X-Forwarded-For` hop (appended by our gateway, the only
    /// thing that can reach a service port) or the peer address.
    public func clientAddress(_ request: Request) -> String {
        if let forwarded = request.headers[.forwardedFor],
           let last = forwarded.split(separator: ",").last?.trimmingCharacters(in: .whitespaces), !last.isEmpty {
            return last
        }
        return self.remoteAddress ?? "unknown"
    }

    public var requestDecoder: ProblemJSONDecoder { ProblemJSONDecoder() }
    public var responseEncoder: JSONEncoder { AppRequestContext.encoder }

    static let encoder = JSONEncoder.hdms

    /// Uploads stream; JSON bodies are bounded by this.
    public var maxUploadSize: Int { 4 * 1024 * 1024 }

    /// The caller as the actor of a change.
    public var actor: AuditActor { AuditActor(id: self.identity?.userID, requestId: self.requestID) }

    /// A UUID path parameter; anything else names no resource (404).
    public func uuidParameter(_ name: String) throws(Problem) -> UUID {
        guard let raw = self.parameters.get(name), let id = UUID(uuidString: raw) else {
            throw Problem.notFound("\(self.parameters.get(name) ?? name)")
        }
        return id
    }

    /// The authenticated caller, or 401.
    public func requireIdentity() throws(Problem) -> Identity {
        guard let identity = self.identity else { throw Problem.unauthorized("A valid bearer token is required") }
        return identity
    }

    /// The authenticated employee, or 401/403.
    public func requireUser() throws(Problem) -> (id: UUID, identity: Identity) {
        let identity = try self.requireIdentity()
        guard let id = identity.userID else { throw Problem.forbidden("This endpoint is for users, not services") }
        return (id, identity)
    }

    /// The authenticated caller holding `role` (admins do not implicitly hold other roles), or 403.
    @discardableResult
    public func require(_ role: Role, _ more: Role...) throws(Problem) -> Identity {
        let identity = try self.requireIdentity()
        let allowed = [role] + more
        guard allowed.contains(where: identity.has) else {
            throw Problem.forbidden("This requires the role \(allowed.map(\.rawValue).joined(separator: " or "))")
        }
        return identity
    }
}

/// Decodes JSON request bodies in the suite's format and turns every decoding failure into a 400/422
/// problem naming the field, never a 500.
public struct ProblemJSONDecoder: RequestDecoder {
    public init() {}

    public func decode<T: Decodable>(_ type: T.Type, from request: Request, context: some RequestContext) async throws -> T {
        if let contentType = request.headers[.contentType], !contentType.lowercased().contains("json") {
            throw Problem(status: 415, kind: "unsupported-media-type", title: "Unsupported media type", detail: "Send the body as application/json")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: context.maxUploadSize)
        } catch {
            throw Problem(status: 413, kind: "too-large", title: "Request too large", detail: "The body exceeds \(context.maxUploadSize) bytes")
        }
        return try Self.decode(type, from: buffer)
    }

    /// Decodes a buffer, mapping errors to problems.
    public static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder.hdms.decode(T.self, from: buffer)
        } catch let error as DecodingError {
            throw Self.problem(error)
        } catch {
            throw Problem.badRequest("The body is not valid JSON")
        }
    }

    static func problem(_ error: DecodingError) -> Problem {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue.snakeCased }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            return .validation([.init(field: path(context.codingPath + [key]), message: "is required")])
        case .valueNotFound(_, let context):
            return .validation([.init(field: path(context.codingPath), message: "must not be null")])
        case .typeMismatch(let type, let context):
            return .validation([.init(field: path(context.codingPath), message: "must be \(Self.describe(type))")])
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return .badRequest("The body is not valid JSON") }
            return .validation([.init(field: path(context.codingPath), message: "has an invalid value")])
        @unknown default:
            return .badRequest("The body could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "true or false"
        default: "of another type"
        }
    }
}

extension String {
    /// `departmentId` → `department_id`, matching what clients sent.
    var snakeCased: String {
        var result = ""
        for character in self {
            if character.isUppercase {
                result += "_" + character.lowercased()
            } else {
                result.append(character)
            }
        }
        return result
    }
}
