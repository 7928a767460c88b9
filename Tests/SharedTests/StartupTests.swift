import Foundation
import ServiceKit
import Synchronization
import Testing
import TestSupport

/// `body`'s result, or nil when it takes longer than `seconds`. A body that never returns is left
/// behind rather than awaited, so a regression fails the test instead of hanging the run.
private func within<T: Sendable>(_ seconds: Double, _ body: @escaping @Sendable () async throws -> T) async -> Result<T, any Error>? {
    await withCheckedContinuation { continuation in
        let resumed = Mutex(false)
        let finish: @Sendable (Result<T, any Error>?) -> Void = { result in
            if resumed.withLock({ done in defer { done = true }; return !done }) { continuation.resume(returning: result) }
        }
        Task { do { finish(.success(try await body())) } catch { finish(.failure(error)) } }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            finish(nil)
        }
    }
}

@Suite("Start-up")
struct StartupTests {
    /// Waiters pass when the gate opens, and every later wait passes at once.
    @Test func theGateLetsEveryWaiterThroughOnceOpen() async throws {
        let gate = StartupGate()
        let passed = try await withThrowingTaskGroup(of: Bool.self) { group in
            for _ in 0..<5 { group.addTask { await gate.wait(); return gate.isOpen } }
            try await Task.sleep(for: .milliseconds(50))
            gate.open()
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(passed == Array(repeating: true, count: 5))
        await gate.wait()
    }

    /// A cancelled waiter stops waiting although the gate stays shut, and the others keep waiting.
    @Test func aCancelledWaiterStopsWaiting() async throws {
        let gate = StartupGate()
        let cancelled = Task { await gate.wait(); return gate.isOpen }
        let patient = Task { await gate.wait(); return gate.isOpen }
        try await Task.sleep(for: .milliseconds(50))
        cancelled.cancel()
        #expect(try await within(5) { await cancelled.value }?.get() == false)
        gate.open()
        #expect(try await within(5) { await patient.value }?.get() == true)
        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            await gate.wait()
            return true
        }
        #expect(try await within(5) { await alreadyCancelled.value }?.get() == true)
    }

    /// A service whose migrations fail ends with that error. It used to stay up, silent, with its
    /// workers still waiting for the migrations.
    @Test func aServiceWhoseMigrationsFailExits() async throws {
        var definition = ServiceKitTests.definition
        definition.migrations = [Migration(set: "service", version: 1, name: "broken", sql: "CREATE TABLE {schema}.t (id nonsense_type);")]
        let service = try await ServiceHarness.build(definition, extra: ["HDMS_HTTP_PORT": "0"])
        let outcome: String
        switch await within(30, { try await service.application.run() }) {
        case nil: outcome = "still running after 30 s"
        case .success?: outcome = "returned"
        case .failure(let error)?: outcome = "failed: \(describeDatabaseError(error))"
        }
        #expect(outcome.hasPrefix("failed"), "\(outcome)")
        #expect(outcome.contains("nonsense_type"), "\(outcome)")
    }
}
