import Foundation

/// `hdms-bench <benchmark>`: the in-process benchmarks `scripts/bench` runs.
@main
enum HDMSBench {
    /// Runs the benchmark named by the first argument.
    static func main() async throws {
        switch CommandLine.arguments.dropFirst().first {
        case "verify":
            try await VerifyBench.run(report: Report(benchmark: "auth"))
        case "ws":
            try await WebSocketBench.run(report: Report(benchmark: "ws"))
        default:
            FileHandle.standardError.write(Data("usage: hdms-bench verify | ws\n".utf8))
            exit(2)
        }
    }
}

/// Prints figures as `name: value unit` lines and appends them as JSON lines to
/// `${HDMS_BENCH_OUT:-.test-output/bench}/<benchmark>.jsonl`.
struct Report {
    /// One JSON line.
    struct Line: Encodable {
        var bench: String
        var run: String
        var name: String
        var value: Double
        var unit: String
    }

    let benchmark: String
    let run: String
    let file: URL

    /// A report whose lines carry `HDMS_BENCH_RUN` (or the current time) as their run id.
    init(benchmark: String) {
        let environment = ProcessInfo.processInfo.environment
        let folder = environment["HDMS_BENCH_OUT"].flatMap { $0.isEmpty ? nil : $0 } ?? ".test-output/bench"
        self.benchmark = benchmark
        self.run = environment["HDMS_BENCH_RUN"] ?? ISO8601DateFormatter().string(from: Date())
        self.file = URL(fileURLWithPath: folder).appendingPathComponent("\(benchmark).jsonl")
    }

    /// Prints one figure and appends it to the report file.
    func record(_ name: String, _ value: Double, _ unit: String) throws {
        print("\(name): \(String(format: "%.2f", value)) \(unit)")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = try encoder.encode(Line(bench: self.benchmark, run: self.run, name: name, value: value, unit: unit)) + Data("\n".utf8)
        try FileManager.default.createDirectory(at: self.file.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !FileManager.default.fileExists(atPath: self.file.path) { _ = FileManager.default.createFile(atPath: self.file.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: self.file)
        defer { try? handle.close() }
        try handle.seekToEnd()
        try handle.write(contentsOf: data)
    }
}
