import BaseModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

extension Problem: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: self.statusCode) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var problem = self
        problem.instance = problem.instance ?? request.uri.path
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter = problem.retryAfter { headers[.retryAfter] = String(retryAfter) }
        let body = try JSONEncoder.hdms.encodeAsByteBuffer(problem, allocator: ByteBufferAllocator())
        return Response(status: self.status, headers: headers, body: .init(byteBuffer: body))
    }
}

/// An error that knows its problem-details form. Domain error enums conform to this; the
/// `ProblemMiddleware` maps them in one place.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

/// Turns every error into `application/problem+json`: problems as they are, Hummingbird's
/// `HTTPError`s (404 for unknown routes, 405, body too large) as their problem form, and anything
/// else as a logged 500 without internals. Replaces Hummingbird's default bare 500 logged at debug.
public struct ProblemMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let problem as Problem {
            return try problem.response(from: request, context: context)
        } catch let convertible as any ProblemConvertible {
            return try convertible.problem.response(from: request, context: context)
        } catch let error as HTTPError {
            let problem = Problem(
                status: Int(error.status.code),
                kind: Self.kind(for: error.status),
                title: error.status.reasonPhrase,
                detail: error.body ?? Self.detail(for: error.status, request: request)
            )
            return try problem.response(from: request, context: context)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: error))"])
            return try Problem.internalError(requestID: context.requestID).response(from: request, context: context)
        }
    }

    private static func kind(for status: HTTPResponse.Status) -> String {
        switch status.code {
        case 400: "bad-request"
        case 401: "unauthorized"
        case 403: "forbidden"
        case 404: "not-found"
        case 405: "method-not-allowed"
        case 413: "too-large"
        case 415: "unsupported-media-type"
        default: "http-\(status.code)"
        }
    }

    private static func detail(for status: HTTPResponse.Status, request: Request) -> String {
        switch status.code {
        case 404: "No resource at \(request.uri.path)"
        case 405: "\(request.method) is not allowed on \(request.uri.path)"
        default: status.reasonPhrase
        }
    }
}

/// Gives every request an id: the caller's `X-Request-Id` when it is sane, a new one otherwise.
/// It is put in every log line of the request, echoed on the response, and recorded in audit rows.
public struct RequestIDMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id: String
        if let given = request.headers[Self.header], given.count <= 128,
           given.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." }) {
            id = given
        } else {
            id = UUID.v7().lowercased
        }
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }
}

extension HTTPField.Name {
    /// `X-Request-Id`.
    public static var requestID: HTTPField.Name { RequestIDMiddleware.header }
    /// `X-Forwarded-For`, appended by the gateway.
    public static var forwardedFor: HTTPField.Name { HTTPField.Name("X-Forwarded-For")! }
}

extension Page: ResponseEncodable {}
