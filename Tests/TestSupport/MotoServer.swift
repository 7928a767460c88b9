import Foundation
import Glibc

/// A private S3-compatible server for tests: `python3 -m moto.server` (PyPI `moto[server]`) on a
/// free port of 127.0.0.1, stopped by its PID.
public final class MotoServer: @unchecked Sendable {
    // Mutated only by the test that owns it, from one task at a time.
    public let port: Int
    private var process: Process?

    public init() throws {
        self.port = try RedisProcess.freePort()
    }

    deinit { self.kill() }

    /// The endpoint services are given (`HDMS_S3_ENDPOINT`).
    public var endpoint: String { "http://127.0.0.1:\(self.port)" }

    /// Starts the server and waits until it answers.
    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", String(self.port)]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        for _ in 0..<400 {
            if RedisProcess.accepts(port: self.port) { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        self.kill()
        throw MissingServer(description: "moto.server did not start on port \(self.port) (is moto[server] installed for python3?)")
    }

    /// Stops the server (SIGKILL to its PID: a signal it could block would not do) and waits for it.
    public func stop() { self.kill() }

    private func kill() {
        guard let process = self.process else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    public struct MissingServer: Error, CustomStringConvertible {
        public var description: String
    }

    /// Runs `body` with a fresh server, stopped afterwards whatever happens.
    public static func run<T: Sendable>(_ body: @Sendable (MotoServer) async throws -> T) async throws -> T {
        let server = try MotoServer()
        try await server.start()
        defer { server.stop() }
        return try await body(server)
    }
}
