import Foundation
import Logging
import Synchronization

/// Writes one JSON object per log line to standard error: `{"at","level","logger","message",...metadata}`.
/// Request-scoped metadata (`request_id`, `user_id`) rides on the request's logger.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: String] = [:]
        for (key, value) in self.metadata { object[key] = "\(value)" }
        for (key, value) in event.metadata ?? [:] { object[key] = "\(value)" }
        object["at"] = Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        object["level"] = event.level.rawValue
        object["logger"] = self.label
        object["message"] = "\(event.message)"
        var line = (try? JSONEncoder.sorted.encode(object)) ?? Data()
        line.append(0x0A)
        JSONLogHandler.output.withLock { _ in FileHandle.standardError.write(line) }
    }

    private static let output = Mutex<Void>(())

    /// Bootstraps the logging system once per process.
    public static func bootstrap(level: Logger.Level) {
        bootstrapped.withLock { done in
            guard !done else { return }
            LoggingSystem.bootstrap { label in JSONLogHandler(label: label, level: level) }
            done = true
        }
    }

    private static let bootstrapped = Mutex<Bool>(false)
}

extension JSONEncoder {
    fileprivate static let sorted: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()
}
