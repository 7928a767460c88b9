import Foundation
import Glibc
import Redis

/// A Redis server of the test's own, for tests that stop and restart it. It persists to an
/// append-only file in a private folder, like the stack's Redis.
public final class RedisProcess: @unchecked Sendable {
    // Mutated only by the test that owns it, from one task at a time.
    public let port: Int
    private let directory: URL
    private var process: Process?

    public init() throws {
        self.port = try RedisProcess.freePort()
        self.directory = FileManager.default.temporaryDirectory.appendingPathComponent("hdms-redis-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: self.directory, withIntermediateDirectories: true)
    }

    deinit {
        if let process = self.process {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: self.directory)
    }

    /// Starts the server and waits until it accepts connections.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestServers.redisServerBinary)
        process.arguments = [
            "--port", String(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes",
            "--appendfsync", "everysec", "--dir", self.directory.path, "--daemonize", "no", "--loglevel", "warning",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        // Ready means answering PING: right after start Redis accepts connections but answers
        // LOADING while it replays its append-only file.
        let client = RedisClient(configuration: .init(host: "127.0.0.1", port: self.port, timeoutMillis: 500), logger: TestServers.logger)
        for _ in 0..<200 {
            if RedisProcess.accepts(port: self.port), (try? await client.ping()) != nil { return }
            try await Task.sleep(for: .milliseconds(25))
        }
        throw CocoaError(.fileReadUnknown)
    }

    /// Stops the server with `SHUTDOWN` (it flushes its append-only file) and waits for it to exit.
    ///
    /// Not SIGTERM: a process spawned from a Swift concurrency thread inherits that thread's blocked
    /// signal mask, and Redis would never see the signal.
    public func stop() async {
        guard let process = self.process else { return }
        let client = RedisClient(configuration: .init(host: "127.0.0.1", port: self.port, timeoutMillis: 1_000), logger: TestServers.logger)
        _ = try? await client.send("SHUTDOWN")
        for _ in 0..<100 where process.isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        self.process = nil
    }

    /// A TCP port nothing listens on right now.
    public static func freePort() throws -> Int {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(socket) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(socket, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    static func accepts(port: Int) -> Bool {
        guard let socket = LoopbackSocket.connect(port: port) else { return false }
        close(socket)
        return true
    }
}

