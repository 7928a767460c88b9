import Synchronization

/// Opens once, when start-up work (migrations) is done; workers that need it wait here instead of
/// failing and retrying against tables that do not exist yet.
public final class StartupGate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    public init() {}

    /// Lets every waiter through, now and later.
    public func open() {
        let waiters = self.state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        waiters.forEach { $0.resume() }
    }

    /// Returns once the gate is open.
    public func wait() async {
        await withCheckedContinuation { continuation in
            let openNow = self.state.withLock { state -> Bool in
                if !state.open { state.waiters.append(continuation) }
                return state.open
            }
            if openNow { continuation.resume() }
        }
    }
}
