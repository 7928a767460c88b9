import AsyncHTTPClient
import BaseModel
import Foundation
import HDMSProtocol
import Logging
import NIOCore

/// Obtains and caches this service's tokens for calling other services (client credentials).
public actor ServiceTokenProvider {
    private struct Cached {
        var token: String
        var renewAt: ContinuousClock.Instant
    }

    private let authURL: URL
    private let clientID: String
    private let secret: String?
    private var cache: [String: Cached] = [:]

    public init(authURL: URL, clientID: ServiceName, secret: String?) {
        self.authURL = authURL
        self.clientID = clientID.rawValue
        self.secret = secret
    }

    private struct TokenRequest: Encodable {
        var clientId: String
        var clientSecret: String
        var audience: String
    }

    private struct TokenResponse: Decodable {
        var accessToken: String
        var expiresIn: Int
    }

    /// A valid token with `audience` as its `aud`, renewed a minute before it expires.
    public func token(for audience: ServiceName) async throws -> String {
        if let cached = self.cache[audience.rawValue], ContinuousClock.now < cached.renewAt { return cached.token }
        guard let secret = self.secret else {
            throw ConfigurationError(variable: "HDMS_SERVICE_SECRET", problem: "is required to call \(audience.rawValue)")
        }
        var request = HTTPClientRequest(url: self.authURL.appendingPathComponent("api/v1/auth/service-token").absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = try JSONEncoder.hdms.encode(TokenRequest(clientId: self.clientID, clientSecret: secret, audience: audience.rawValue))
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(5))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        guard response.status == .ok else {
            throw Problem.unavailable("auth-service refused a service token (\(response.status.code))")
        }
        let token = try JSONDecoder.hdms.decode(TokenResponse.self, from: bytes)
        let renewAt = ContinuousClock.now + .seconds(max(token.expiresIn - 60, token.expiresIn / 2))
        self.cache[audience.rawValue] = Cached(token: token.accessToken, renewAt: renewAt)
        return token.accessToken
    }
}
