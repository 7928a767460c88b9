import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// The servers `scripts/test` started: PostgreSQL (direct, for creating databases), PgBouncer in
/// transaction mode (what services use) and Redis.
public enum TestServers {
    public struct Missing: Error, CustomStringConvertible {
        public let variable: String
        public var description: String { "\(self.variable) is not set: run the tests through scripts/test, which starts the test servers" }
    }

    static func value(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else { throw Missing(variable: name) }
        return value
    }

    public static var host: String { (try? value("HDMS_TEST_DB_HOST")) ?? "127.0.0.1" }
    public static func pgbouncerPort() throws -> Int { Int(try value("HDMS_TEST_DB_PORT")) ?? 0 }
    public static func postgresPort() throws -> Int { Int(try value("HDMS_TEST_DB_ADMIN_PORT")) ?? 0 }
    public static func user() throws -> String { try value("HDMS_TEST_DB_USER") }
    public static func password() throws -> String { try value("HDMS_TEST_DB_PASSWORD") }
    public static func redisPort() throws -> Int { Int(try value("HDMS_TEST_REDIS_PORT")) ?? 0 }
    public static var redisServerBinary: String { (try? value("HDMS_TEST_REDIS_SERVER")) ?? "/usr/bin/redis-server" }

    public static let logger: Logger = {
        var logger = Logger(label: "hdms-test")
        logger.logLevel = ProcessInfo.processInfo.environment["HDMS_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }()

    /// Creates an empty database of its own for one test and returns its name. It is reached
    /// through PgBouncer (whose wildcard entry routes any database name).
    public static func createDatabase() async throws -> String {
        let name = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let configuration = PostgresConnection.Configuration(
            host: host, port: try postgresPort(), username: try user(), password: try password(), database: "hdms", tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        defer { Task { try? await connection.close() } }
        try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger)
        return String(name)
    }

    /// The environment a service under test reads: its own database through PgBouncer, the test
    /// Redis with a key prefix of its own (so parallel tests never share streams), port 0.
    public static func environment(database: String, redisPort: Int? = nil, prefix: String, extra: [String: String] = [:]) throws -> [String: String] {
        var values: [String: String] = [
            // Dozens of services share two cores in a test run: calls between them get time.
            "HDMS_SERVICE_CALL_TIMEOUT_MS": "20000",
            "HDMS_HTTP_HOST": "127.0.0.1",
            "HDMS_HTTP_PORT": "0",
            "HDMS_DB_HOST": host,
            "HDMS_DB_PORT": String(try pgbouncerPort()),
            "HDMS_DB_NAME": database,
            "HDMS_DB_USER": try user(),
            "HDMS_DB_PASSWORD": try password(),
            "HDMS_DB_MAX_CONNECTIONS": "4",
            "HDMS_REDIS_HOST": "127.0.0.1",
            "HDMS_REDIS_PORT": String(try redisPort ?? Self.redisPort()),
            "HDMS_REDIS_PREFIX": prefix,
            "HDMS_LOG_LEVEL": ProcessInfo.processInfo.environment["HDMS_TEST_LOG_LEVEL"] ?? "warning",
        ]
        values.merge(extra) { _, new in new }
        return values
    }

    /// A configuration for `service` on a fresh database.
    public static func configuration(
        for service: ServiceName, database: String? = nil, redisPort: Int? = nil, extra: [String: String] = [:]
    ) async throws -> ServiceConfiguration {
        let database = if let database { database } else { try await createDatabase() }
        let prefix = "t" + UUID().uuidString.prefix(8).lowercased()
        return try ServiceConfiguration(
            service: service,
            environment: EnvironmentReader(try environment(database: database, redisPort: redisPort, prefix: prefix, extra: extra)))
    }

    /// A running PostgreSQL client on a database, through PgBouncer, for tests that drive SQL.
    public static func withClient<T: Sendable>(database: String, _ body: @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let configuration = DatabaseConfiguration(
            host: host, port: try pgbouncerPort(), name: database, user: try user(), password: try password(), maxConnections: 4)
        let client = PostgresClient(hdms: configuration, logger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}
