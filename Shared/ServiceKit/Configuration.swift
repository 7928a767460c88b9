import Foundation
import HDMSProtocol
import Logging

/// A configuration variable that is missing or malformed. Its description is the one line a service
/// prints before it stops.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let variable: String
    public let problem: String

    public init(variable: String, problem: String) {
        self.variable = variable
        self.problem = problem
    }

    public var description: String { "configuration error: \(self.variable) \(self.problem)" }
}

/// Reads typed values from the process environment (or a dictionary in tests). Nothing else in the
/// suite reads the environment.
public struct EnvironmentReader: Sendable {
    public let values: [String: String]

    public init(_ values: [String: String] = ProcessInfo.processInfo.environment) {
        self.values = values
    }

    public func string(_ name: String, default fallback: String? = nil) throws -> String {
        if let value = self.values[name], !value.isEmpty { return value }
        if let fallback { return fallback }
        throw ConfigurationError(variable: name, problem: "is required but not set")
    }

    public func optionalString(_ name: String) -> String? {
        guard let value = self.values[name], !value.isEmpty else { return nil }
        return value
    }

    public func int(_ name: String, default fallback: Int, range: ClosedRange<Int> = 0...Int.max) throws -> Int {
        guard let raw = self.optionalString(name) else { return fallback }
        guard let value = Int(raw), range.contains(value) else {
            throw ConfigurationError(variable: name, problem: "must be an integer in \(range.lowerBound)...\(range.upperBound), got \"\(raw)\"")
        }
        return value
    }

    public func bool(_ name: String, default fallback: Bool) throws -> Bool {
        guard let raw = self.optionalString(name) else { return fallback }
        switch raw.lowercased() {
        case "true", "1", "yes", "on": return true
        case "false", "0", "no", "off": return false
        default: throw ConfigurationError(variable: name, problem: "must be true or false, got \"\(raw)\"")
        }
    }

    public func url(_ name: String, default fallback: String) throws -> URL {
        let raw = try self.string(name, default: fallback)
        guard let url = URL(string: raw), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw ConfigurationError(variable: name, problem: "must be an http(s) URL, got \"\(raw)\"")
        }
        return url
    }

    public func logLevel(_ name: String, default fallback: Logger.Level) throws -> Logger.Level {
        guard let raw = self.optionalString(name) else { return fallback }
        guard let level = Logger.Level(rawValue: raw.lowercased()) else {
            throw ConfigurationError(variable: name, problem: "must be one of trace, debug, info, notice, warning, error, critical")
        }
        return level
    }
}

/// The settings every service shares, read once at start-up (README "Configuration").
public struct ServiceConfiguration: Sendable {
    public var service: ServiceName
    public var httpHost: String
    public var httpPort: Int
    public var logLevel: Logger.Level
    public var database: DatabaseConfiguration
    public var redisHost: String
    public var redisPort: Int
    /// Prefix of every Redis key and channel (`hdms`): streams `hdms:events`, channels `hdms:live:...`.
    public var redisPrefix: String
    public var authURL: URL
    public var ticketsURL: URL
    public var communicationURL: URL
    public var filesURL: URL
    /// How long a call to another service may take (`HDMS_SERVICE_CALL_TIMEOUT_MS`, default 5 s).
    public var serviceCallTimeout: Duration
    /// This service's client secret for service tokens.
    public var serviceSecret: String?
    /// Distinguishes replicas (consumer names, logs).
    public var instanceID: String
    /// Everything else a service may read for itself.
    public var environment: EnvironmentReader

    public init(service: ServiceName, environment: EnvironmentReader = EnvironmentReader()) throws {
        self.service = service
        self.environment = environment
        self.httpHost = try environment.string("HDMS_HTTP_HOST", default: "127.0.0.1")
        self.httpPort = try environment.int("HDMS_HTTP_PORT", default: service.defaultPort, range: 0...65535)
        self.logLevel = try environment.logLevel("HDMS_LOG_LEVEL", default: .info)
        self.database = DatabaseConfiguration(
            host: try environment.string("HDMS_DB_HOST", default: "127.0.0.1"),
            port: try environment.int("HDMS_DB_PORT", default: 6432, range: 1...65535),
            name: try environment.string("HDMS_DB_NAME", default: "hdms"),
            user: try environment.string("HDMS_DB_USER", default: "hdms"),
            password: try environment.string("HDMS_DB_PASSWORD"),
            maxConnections: try environment.int("HDMS_DB_MAX_CONNECTIONS", default: 12, range: 2...500),
            preparedStatements: try environment.bool("HDMS_DB_PREPARED_STATEMENTS", default: true)
        )
        self.redisHost = try environment.string("HDMS_REDIS_HOST", default: "127.0.0.1")
        self.redisPort = try environment.int("HDMS_REDIS_PORT", default: 6379, range: 1...65535)
        self.redisPrefix = try environment.string("HDMS_REDIS_PREFIX", default: "hdms")
        self.authURL = try environment.url("HDMS_AUTH_URL", default: "http://127.0.0.1:8081")
        self.ticketsURL = try environment.url("HDMS_TICKETS_URL", default: "http://127.0.0.1:8082")
        self.communicationURL = try environment.url("HDMS_COMMS_URL", default: "http://127.0.0.1:8083")
        self.filesURL = try environment.url("HDMS_FILES_URL", default: "http://127.0.0.1:8084")
        self.serviceCallTimeout = .milliseconds(try environment.int("HDMS_SERVICE_CALL_TIMEOUT_MS", default: 5_000, range: 100...120_000))
        self.serviceSecret = environment.optionalString("HDMS_SERVICE_SECRET")
        self.instanceID = try environment.string("HDMS_INSTANCE_ID", default: "\(service.rawValue)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8).lowercased())")
    }

    /// The name of the durable event stream.
    public var eventStream: String { "\(self.redisPrefix):events" }

    /// The Pub/Sub channel of one user's live updates.
    public func liveChannel(user: UUID) -> String { "\(self.redisPrefix):live:user:\(user.lowercased)" }
}

/// Where PostgreSQL (through PgBouncer) is.
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var name: String
    public var user: String
    public var password: String
    public var maxConnections: Int
    /// Whether the hot reads run as named prepared statements (`PreparedReads`): PgBouncer 1.21 or
    /// later with `max_prepared_statements` above 0, or PostgreSQL itself, keeps them per client.
    public var preparedStatements: Bool

    public init(
        host: String, port: Int, name: String, user: String, password: String, maxConnections: Int, preparedStatements: Bool = true
    ) {
        self.host = host
        self.port = port
        self.name = name
        self.user = user
        self.password = password
        self.maxConnections = maxConnections
        self.preparedStatements = preparedStatements
    }
}
