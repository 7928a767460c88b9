import Synchronization

/// Opens once, when start-up work (migrations) is done; workers that need it wait here instead of
/// failing and retrying against tables that do not exist yet.
///
/// A wait ends when the gate opens or when the waiting task is cancelled, whichever comes first:
/// when start-up fails, the service group cancels its services, and a waiter that ignored that
/// kept the whole process alive, silent and useless, instead of letting it exit with the error.
public final class StartupGate: Sendable {
    private struct State {
        var open = false
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    public var isOpen: Bool { self.state.withLock { $0.open } }

    /// Lets every waiter through, now and later.
    public func open() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the gate is open, or once the calling task is cancelled (check `isOpen`).
    public func wait() async {
        let id = self.state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let passNow = self.state.withLock { state -> Bool in
                    if state.open || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if passNow { continuation.resume() }
            }
        } onCancel: {
            let waiter = self.state.withLock { $0.waiters.removeValue(forKey: id) }
            waiter?.resume()
        }
    }
}
