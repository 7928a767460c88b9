import Foundation
import Testing

@Suite("Deployment files")
struct ComposeTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var hasDockerClient: Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/docker")
        }
    }

    /// `docker compose config` accepts compose/docker-compose.yml with the example environment
    /// (Docker Compose v2 from PyPI; no engine needed).
    @Test(.enabled(if: hasDockerClient, "needs the docker client")) func composeFileValidates() throws {
        let process = Process()
        process.executableURL = Self.root.appendingPathComponent("scripts/compose-validate")
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(text)")
        #expect(text.contains("is valid"))
    }
}
