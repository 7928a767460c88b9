import Foundation
import Logging
import PostgresNIO

/// One versioned SQL migration.
public struct Migration: Sendable, Equatable {
    public var set: String
    public var version: Int
    public var name: String
    public var sql: String

    public init(set: String, version: Int, name: String, sql: String) {
        self.set = set
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// Loads `NNNN_name.sql` files from a folder, ordered by version. The files refer to the
    /// service's schema by name; `{schema}` in a file is replaced by it (kit migrations use that).
    public static func load(set: String, from directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
        let migrations = try files.map { file -> Migration in
            let base = file.deletingPathExtension().lastPathComponent
            guard let underscore = base.firstIndex(of: "_"), let version = Int(base[..<underscore]) else {
                throw MigrationError.badFileName(file.lastPathComponent)
            }
            return Migration(set: set, version: version, name: String(base[base.index(after: underscore)...]),
                             sql: try String(contentsOf: file, encoding: .utf8))
        }.sorted { $0.version < $1.version }
        for (first, second) in zip(migrations, migrations.dropFirst()) where first.version == second.version {
            throw MigrationError.duplicateVersion(first.version)
        }
        return migrations
    }
}

public enum MigrationError: Error, CustomStringConvertible {
    case badFileName(String)
    case duplicateVersion(Int)
    case pending([String])

    public var description: String {
        switch self {
        case .badFileName(let name): "migration file \(name) is not named NNNN_name.sql"
        case .duplicateVersion(let version): "two migrations share version \(version)"
        case .pending(let names): "migrations not applied: \(names.joined(separator: ", "))"
        }
    }
}

/// Applies migrations to one service schema, each exactly once even when replicas start together.
///
/// Each migration runs in its own transaction that first takes a transaction-scoped advisory lock
/// on the schema (session locks do not survive PgBouncer's transaction pooling), then re-checks
/// whether it was applied while waiting, so racing runners apply it once and the others skip it.
public struct Migrator: Sendable {
    public let client: PostgresClient
    public let schema: String
    public let migrations: [Migration]
    public let logger: Logger

    public init(client: PostgresClient, schema: String, migrations: [Migration], logger: Logger) {
        self.client = client
        self.schema = schema
        self.migrations = migrations.map { migration in
            var migration = migration
            migration.sql = migration.sql.replacingOccurrences(of: "{schema}", with: schema)
            return migration
        }
        self.logger = logger
    }

    /// Applies what is pending; returns the names applied by this runner.
    ///
    /// A runner that still loses a race on PostgreSQL's catalogs (a unique violation or "already
    /// exists" from DDL that another runner committed at the same moment) starts over, a few
    /// times, and then finds that work done. Replicas starting together on a fresh database used
    /// to hit this in one stack start of five (see `ensureBookkeeping`).
    @discardableResult
    public func run() async throws -> [String] {
        var attempt = 1
        while true {
            do {
                return try await self.runOnce()
            } catch let error where attempt < 4 && Self.isCatalogRace(error) {
                self.logger.warning("migrations raced another runner; starting over", metadata: [
                    "attempt": "\(attempt)", "error": "\(describeDatabaseError(error))",
                ])
                attempt += 1
                try await Task.sleep(for: .milliseconds(100 * attempt))
            }
        }
    }

    /// 23505 unique violation (on the catalogs), 42P06 duplicate schema, 42P07 duplicate table,
    /// 42710 duplicate object.
    static func isCatalogRace(_ error: any Error) -> Bool {
        let unwrapped = unwrapTransactionError(error)
        guard let psql = unwrapped as? PSQLError, let state = psql.sqlState else { return false }
        return ["23505", "42P06", "42P07", "42710"].contains(state)
    }

    private func runOnce() async throws -> [String] {
        try await self.ensureBookkeeping()
        var applied: [String] = []
        for migration in self.migrations {
            let didApply = try await self.client.transaction(logger: self.logger) { connection -> Bool in
                try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("hdms.migrate." + self.schema)))", logger: self.logger)
                let rows = try await connection.query("""
                    SELECT 1 FROM \(unescaped: self.schema).schema_migrations
                    WHERE migration_set = \(migration.set) AND version = \(migration.version)
                    """, logger: self.logger)
                for try await _ in rows { return false }
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: self.logger)
                }
                try await connection.query("""
                    INSERT INTO \(unescaped: self.schema).schema_migrations (migration_set, version, name)
                    VALUES (\(migration.set), \(migration.version), \(migration.name))
                    """, logger: self.logger)
                return true
            }
            if didApply {
                applied.append("\(migration.set)/\(migration.version)_\(migration.name)")
                self.logger.info("applied migration", metadata: ["migration": "\(migration.set)/\(migration.version)_\(migration.name)"])
            }
        }
        return applied
    }

    /// Throws `MigrationError.pending` naming what is not applied (the readiness check).
    public func verifyApplied() async throws {
        var present: Set<String> = []
        let rows = try await self.client.query(
            "SELECT migration_set, version FROM \(unescaped: self.schema).schema_migrations", logger: self.logger)
        for try await (set, version) in rows.decode((String, Int).self) { present.insert("\(set)/\(version)") }
        let missing = self.migrations.filter { !present.contains("\($0.set)/\($0.version)") }
        if !missing.isEmpty { throw MigrationError.pending(missing.map { "\($0.set)/\($0.version)_\($0.name)" }) }
    }

    private func ensureBookkeeping() async throws {
        try await self.client.transaction(logger: self.logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext(\("hdms.migrate." + self.schema)))", logger: self.logger)
            // Waiting on an advisory lock does not make a backend take in the catalog changes that
            // were committed meanwhile, so `IF NOT EXISTS` below could miss the schema the lock's
            // previous holder just made and fail on pg_namespace's unique index. Reading a catalog
            // table locks it, and locking a relation takes those changes in.
            try await connection.query("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = \(self.schema)", logger: self.logger)
            try await connection.query("CREATE SCHEMA IF NOT EXISTS \(unescaped: self.schema)", logger: self.logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS \(unescaped: self.schema).schema_migrations (
                    migration_set text NOT NULL,
                    version integer NOT NULL,
                    name text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now(),
                    PRIMARY KEY (migration_set, version)
                )
                """, logger: self.logger)
        }
    }
}
