import AsyncHTTPClient
import BaseModel
import Foundation
import HDMSProtocol
import NIOCore
import NIOHTTP1

/// Calls another HDMS service's JSON API with a service token (or the user's token when acting for
/// the user), mapping its problem answers back to `Problem`s.
public struct ServiceHTTPClient: Sendable {
    public let baseURL: URL
    public let audience: ServiceName
    public let tokens: ServiceTokenProvider
    /// How long one call may take.
    public let timeout: Duration

    public init(baseURL: URL, audience: ServiceName, tokens: ServiceTokenProvider, timeout: Duration = .seconds(5)) {
        self.baseURL = baseURL
        self.audience = audience
        self.tokens = tokens
        self.timeout = timeout
    }

    /// GETs `path` (with query) and decodes the answer; 404 is nil.
    public func get<T: Decodable>(_ path: String, as type: T.Type, userToken: String? = nil) async throws -> T? {
        let token = if let userToken { userToken } else { try await self.tokens.token(for: self.audience) }
        var request = HTTPClientRequest(url: self.baseURL.absoluteString.trimmingSuffix("/") + path)
        request.method = .GET
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Accept", value: "application/json")
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: .milliseconds(self.timeout.milliseconds))
        } catch {
            // An unreachable or silent service is a temporary condition for the caller, not a bug.
            throw Problem.unavailable("\(self.audience.rawValue) did not answer: \(error)")
        }
        let body = try await response.body.collect(upTo: 8 << 20)
        switch response.status.code {
        case 200..<300:
            return try JSONDecoder.hdms.decode(T.self, from: body)
        case 404:
            return nil
        default:
            if let problem = try? JSONDecoder().decode(Problem.self, from: body) { throw problem }
            throw Problem.unavailable("\(self.audience.rawValue) answered \(response.status.code)")
        }
    }
}

extension String {
    fileprivate func trimmingSuffix(_ suffix: String) -> String {
        self.hasSuffix(suffix) ? String(self.dropLast(suffix.count)) : self
    }
}

extension Duration {
    /// Whole milliseconds, for APIs that take a `TimeAmount`.
    fileprivate var milliseconds: Int64 { self.components.seconds * 1_000 + self.components.attoseconds / 1_000_000_000_000_000 }
}
