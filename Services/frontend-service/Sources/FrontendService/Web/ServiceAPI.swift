import AsyncHTTPClient
import BaseModel
import Foundation
import HDMSProtocol
import NIOCore
import NIOHTTP1
import ServiceKit

/// Calls the suite's public APIs on behalf of the signed-in user, routing each path to the service
/// that owns it exactly as the gateway does, and turning problem answers back into `Problem`s.
struct ServiceAPI: Sendable {
    let configuration: ServiceConfiguration
    var timeout: TimeAmount = .seconds(15)

    /// The service that owns an `/api/v1/<segment>/...` path.
    func baseURL(for path: String) -> URL {
        let route = path.split(separator: "?", maxSplits: 1).first ?? ""
        let segment = route.split(separator: "/").dropFirst(2).first.map(String.init) ?? ""
        switch segment {
        case "auth", "employees", "departments": return self.configuration.authURL
        case "conversations", "notifications", "notification-preferences", "ws": return self.configuration.communicationURL
        case "files": return self.configuration.filesURL
        default: return self.configuration.ticketsURL
        }
    }

    /// What travels with every call besides the body.
    struct Caller: Sendable {
        var token: String?
        var requestID: String?
        /// The browser's address, so that auth-service throttles sign-ins per browser, not per frontend.
        var forwardedFor: String?
    }

    /// Sends a request and returns the answer with its body unread (callers stream or collect it).
    func send(
        _ method: HTTPMethod, _ path: String, caller: Caller, body: ByteBuffer? = nil,
        contentType: String = "application/json", accept: String = "application/json"
    ) async throws -> HTTPClientResponse {
        var base = self.baseURL(for: path).absoluteString
        if base.hasSuffix("/") { base.removeLast() }
        var request = HTTPClientRequest(url: base + path)
        request.method = method
        request.headers.add(name: "Accept", value: accept)
        if let token = caller.token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let id = caller.requestID { request.headers.add(name: "X-Request-Id", value: id) }
        if let address = caller.forwardedFor { request.headers.add(name: "X-Forwarded-For", value: address) }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(body)
        }
        do {
            return try await HTTPClient.shared.execute(request, timeout: self.timeout)
        } catch {
            throw Problem.unavailable("The \(self.serviceName(for: path)) service cannot be reached right now; try again in a moment")
        }
    }

    /// Sends a JSON request and decodes the JSON answer; a problem answer is thrown as `Problem`.
    func json<T: Decodable>(
        _ method: HTTPMethod, _ path: String, caller: Caller, body: (any Encodable)? = nil, as type: T.Type = T.self
    ) async throws -> T {
        let buffer = try body.map { try JSONEncoder.hdms.encodeAsByteBuffer($0, allocator: ByteBufferAllocator()) }
        let response = try await self.send(method, path, caller: caller, body: buffer)
        let bytes = try await response.body.collect(upTo: 16 << 20)
        try Self.check(response.status, bytes, path: path)
        if T.self == Empty.self { return Empty() as! T }
        do {
            return try JSONDecoder.hdms.decode(T.self, from: bytes)
        } catch {
            throw Problem.unavailable("The \(self.serviceName(for: path)) service answered in an unexpected shape")
        }
    }

    /// Throws the problem a non-2xx answer carries.
    static func check(_ status: HTTPResponseStatus, _ bytes: ByteBuffer, path: String) throws {
        guard !(200..<300).contains(status.code) else { return }
        if var problem = try? JSONDecoder().decode(Problem.self, from: bytes) {
            problem.statusCode = Int(status.code)
            throw problem
        }
        throw Problem(status: Int(status.code), kind: "upstream", title: status.reasonPhrase, detail: "\(path) answered \(status.code)")
    }

    private func serviceName(for path: String) -> String {
        switch self.baseURL(for: path) {
        case self.configuration.authURL: "sign-in and directory"
        case self.configuration.communicationURL: "conversation"
        case self.configuration.filesURL: "file"
        default: "ticket"
        }
    }
}

/// An answer without a body worth reading.
struct Empty: Codable, Sendable {}
