import BaseModel
import Foundation
import HDMSProtocol
import ServiceKit
import Testing
import TestSupport

@Suite("Service-to-service calls")
struct ServiceHTTPClientTests {
    /// A service that cannot be reached is a 503 problem for the caller (retry later), not a 500.
    @Test func anUnreachableServiceIsUnavailable() async throws {
        let port = try RedisProcess.freePort()
        let url = URL(string: "http://127.0.0.1:\(port)")!
        let client = ServiceHTTPClient(baseURL: url, audience: .auth, tokens: ServiceTokenProvider(authURL: url, clientID: .tickets, secret: "x"))
        do {
            _ = try await client.get("/api/v1/employees/x", as: [String: String].self, userToken: "token")
            Issue.record("a call to a closed port succeeded")
        } catch let problem as Problem {
            #expect(problem.statusCode == 503)
            #expect(problem.detail?.contains("auth-service did not answer") == true)
        }
    }
}
