import Logging
import ServiceLifecycle

/// Removes uploads that were abandoned part-way (the process died before it could clean up):
/// every `interval`, `.part` files untouched for `maxAge`. Safe with any number of replicas sharing
/// the store, since an upload in progress keeps its file's modification time fresh.
struct AbandonedUploadSweeper<Store: FileStore>: Service {
    let store: Store
    let logger: Logger
    var interval: Duration = .seconds(600)
    var maxAge: Duration = .seconds(3_600)

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let removed = try await self.store.removeAbandonedUploads(olderThan: self.maxAge)
                if removed > 0 { self.logger.info("removed abandoned uploads", metadata: ["count": "\(removed)"]) }
            } catch {
                self.logger.warning("cannot sweep abandoned uploads", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
        }
    }
}
