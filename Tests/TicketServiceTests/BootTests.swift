import TicketService
import Testing
import TestSupport

@Suite("TicketService boots")
struct BootTests {
    /// The service starts against the real test servers and answers live, ready, metrics and its OpenAPI document.
    @Test func answersStandardEndpoints() async throws {
        try await ServiceHarness.expectStandardEndpoints(try TicketServiceApp.definition())
    }
}
