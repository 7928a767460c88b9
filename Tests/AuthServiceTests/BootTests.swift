import AuthService
import Foundation
import Testing
import TestSupport

@Suite("AuthService boots")
struct BootTests {
    /// The service starts against the real test servers and answers live, ready, metrics and its OpenAPI document.
    @Test func answersStandardEndpoints() async throws {
        let seed = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        try await ServiceHarness.expectStandardEndpoints(try AuthServiceApp.definition(), extra: ["HDMS_JWT_PRIVATE_KEY": seed])
    }

    /// A malformed signing key stops the service at start with an error naming the variable.
    @Test func badSigningKeyNamesTheVariable() async throws {
        await #expect {
            _ = try await ServiceHarness.build(try AuthServiceApp.definition(), extra: ["HDMS_JWT_PRIVATE_KEY": "too-short"])
        } throws: { "\($0)".contains("HDMS_JWT_PRIVATE_KEY") }
    }
}
