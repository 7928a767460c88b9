import Foundation
import BaseModel
import Logging
import PostgresNIO

extension PostgresClient {
    /// A client that reaches PostgreSQL through PgBouncer in transaction mode.
    ///
    /// Use `query(...)` (unnamed statements) and `withTransaction`; named prepared statements only
    /// through `PreparedReads`, which PgBouncer 1.21 or later tracks per client. Keep-alive is off
    /// and the pool stays near its maximum because idle-timer churn in the pool holds memory
    /// (ARCHITECTURE.md, verified facts).
    public convenience init(hdms configuration: DatabaseConfiguration, logger: Logger) {
        var config = PostgresClient.Configuration(
            host: configuration.host,
            port: configuration.port,
            username: configuration.user,
            password: configuration.password,
            database: configuration.name,
            tls: .disable
        )
        config.options.maximumConnections = configuration.maxConnections
        config.options.minimumConnections = max(1, configuration.maxConnections - 1)
        config.options.keepAliveBehavior = nil
        config.options.connectionIdleTimeout = .seconds(300)
        config.options.connectTimeout = .seconds(5)
        self.init(configuration: config, backgroundLogger: logger)
    }
}

/// `PSQLError` hides its details from `description`; logs and health checks need them.
public func describeDatabaseError(_ error: any Error) -> String {
    if let transaction = error as? PostgresTransactionError {
        if let closure = transaction.closureError { return describeDatabaseError(closure) }
        if let begin = transaction.beginError { return describeDatabaseError(begin) }
        if let commit = transaction.commitError { return describeDatabaseError(commit) }
    }
    if let psql = error as? PSQLError {
        if let message = psql.serverInfo?[.message] {
            let code = psql.serverInfo?[.sqlState] ?? "?"
            return "\(code): \(message)"
        }
        return "\(psql.code)"
    }
    return String(describing: error)
}

/// Unwraps the error a `withTransaction` closure threw, so domain errors reach the HTTP edge as
/// themselves rather than wrapped in `PostgresTransactionError`.
public func unwrapTransactionError(_ error: any Error) -> any Error {
    if let transaction = error as? PostgresTransactionError, let closure = transaction.closureError {
        return closure
    }
    return error
}

extension PostgresClient {
    /// Runs `body` in one transaction (committed when it returns, rolled back when it throws) and
    /// rethrows the closure's own error unwrapped.
    public func transaction<Result>(
        logger: Logger,
        isolation: isolated (any Actor)? = #isolation,
        _ body: (PostgresConnection) async throws -> sending Result
    ) async throws -> sending Result {
        do {
            return try await self.withTransaction(logger: logger, isolation: isolation, body)
        } catch {
            throw unwrapTransactionError(error)
        }
    }
}

extension PSQLError {
    /// The SQLSTATE of a server error.
    public var sqlState: String? { self.serverInfo?[.sqlState] }
    /// 23505: a unique constraint refused the row.
    public var isUniqueViolation: Bool { self.sqlState == "23505" }
    /// 23503: a foreign key refused the row.
    public var isForeignKeyViolation: Bool { self.sqlState == "23503" }
    /// 40001 / 40P01: serialization failure or deadlock; the transaction may be retried.
    public var isRetryable: Bool { self.sqlState == "40001" || self.sqlState == "40P01" }
}


/// Runs a write and turns a unique-constraint refusal into `problem` (usually a 409 naming what
/// already exists); other errors pass through.
public func refusingDuplicates<T>(
    _ problem: @autoclosure () -> Problem, _ body: () async throws -> sending T
) async throws -> sending T {
    do {
        return try await body()
    } catch let error as PSQLError where error.isUniqueViolation {
        throw problem()
    }
}
