import Foundation

/// An RFC 9457 problem-details error: what every HDMS endpoint answers on failure.
///
/// `type` is a stable URI under `https://hdms.dev/problems/`; clients switch on it,
/// never on `detail`, which is written for people.
public struct Problem: Error, Codable, Sendable, Equatable {
    /// One invalid field of a request body or query.
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var message: String

        public init(field: String, message: String) {
            self.field = field
            self.message = message
        }
    }

    public var type: String
    public var title: String
    /// The HTTP status (`status` on the wire).
    public var statusCode: Int
    public var detail: String?
    public var instance: String?
    public var errors: [FieldError]?
    /// Seconds a client should wait before retrying (429, 503); sent as `Retry-After`.
    public var retryAfter: Int?

    public init(
        status: Int,
        kind: String,
        title: String,
        detail: String? = nil,
        errors: [FieldError]? = nil,
        retryAfter: Int? = nil
    ) {
        self.type = Problem.typeURI(kind)
        self.title = title
        self.statusCode = status
        self.detail = detail
        self.instance = nil
        self.errors = errors
        self.retryAfter = retryAfter
    }

    enum CodingKeys: String, CodingKey {
        case type, title, detail, instance, errors
        case statusCode = "status"
    }

    /// The full `type` URI of a problem kind such as `invalid-transition`.
    public static func typeURI(_ kind: String) -> String { "https://hdms.dev/problems/\(kind)" }

    /// 400: the request could not be read at all (malformed JSON, wrong content type).
    public static func badRequest(_ detail: String) -> Problem {
        Problem(status: 400, kind: "bad-request", title: "Bad request", detail: detail)
    }

    /// 422: the request was read but fields are invalid.
    public static func validation(_ errors: [FieldError], detail: String? = nil) -> Problem {
        Problem(
            status: 422, kind: "validation", title: "Invalid request",
            detail: detail ?? errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "),
            errors: errors
        )
    }

    /// 401: no credentials or credentials that cannot be trusted.
    public static func unauthorized(_ detail: String) -> Problem {
        Problem(status: 401, kind: "unauthorized", title: "Authentication required", detail: detail)
    }

    /// 403: authenticated, but this caller may not do this.
    public static func forbidden(_ detail: String) -> Problem {
        Problem(status: 403, kind: "forbidden", title: "Forbidden", detail: detail)
    }

    /// 404: no such resource, or one the caller may not know exists.
    public static func notFound(_ what: String) -> Problem {
        Problem(status: 404, kind: "not-found", title: "Not found", detail: "\(what) was not found")
    }

    /// 409: the resource changed since the caller read it.
    public static func versionConflict(expected: Int, actual: Int) -> Problem {
        Problem(
            status: 409, kind: "version-conflict", title: "Version conflict",
            detail: "The resource is at version \(actual), the request was made against version \(expected)"
        )
    }

    /// 409: the request conflicts with the current state (duplicate, wrong state).
    public static func conflict(kind: String = "conflict", _ detail: String) -> Problem {
        Problem(status: 409, kind: kind, title: "Conflict", detail: detail)
    }

    /// 429 with a `Retry-After`.
    public static func rateLimited(retryAfter seconds: Int, _ detail: String) -> Problem {
        Problem(status: 429, kind: "rate-limited", title: "Too many requests", detail: detail, retryAfter: seconds)
    }

    /// 500 without internals: the request id in logs leads to the cause.
    public static func internalError(requestID: String?) -> Problem {
        Problem(
            status: 500, kind: "internal", title: "Internal server error",
            detail: "The server failed to handle the request" + (requestID.map { " (request id \($0))" } ?? "")
        )
    }

    /// 503: a dependency is down.
    public static func unavailable(_ detail: String, retryAfter: Int = 5) -> Problem {
        Problem(status: 503, kind: "unavailable", title: "Service unavailable", detail: detail, retryAfter: retryAfter)
    }
}
