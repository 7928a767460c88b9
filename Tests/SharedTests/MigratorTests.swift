import Foundation
import PostgresNIO
import ServiceKit
import Testing
import TestSupport

@Suite("Migrations runner")
struct MigratorTests {
    static let migrations = [
        Migration(set: "service", version: 1, name: "counter", sql: """
            CREATE TABLE {schema}.runs (n integer NOT NULL);
            INSERT INTO {schema}.runs VALUES (1);
            """),
        Migration(set: "service", version: 2, name: "second", sql: "INSERT INTO {schema}.runs VALUES (2);"),
    ]

    /// Runners racing on one database (as replicas starting together do) apply each migration once.
    @Test func racingRunnersApplyEachMigrationOnce() async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await Migrator(client: client, schema: "race", migrations: Self.migrations, logger: TestServers.logger).run()
                    }
                }
                return try await group.reduce(into: [String]()) { $0 += $1 }
            }
            #expect(applied.sorted() == ["service/1_counter", "service/2_second"])
            let rows = try await client.query("SELECT n FROM race.runs ORDER BY n", logger: TestServers.logger)
            var values: [Int] = []
            for try await n in rows.decode(Int.self) { values.append(n) }
            #expect(values == [1, 2])
            try await Migrator(client: client, schema: "race", migrations: Self.migrations, logger: TestServers.logger).verifyApplied()
        }
    }

    /// A migration that fails leaves nothing behind and is reported as pending.
    @Test func failingMigrationRollsBackCompletely() async throws {
        let database = try await TestServers.createDatabase()
        let broken = [Migration(set: "service", version: 1, name: "broken", sql: """
            CREATE TABLE {schema}.half (n integer);
            SELECT * FROM no_such_table;
            """)]
        try await TestServers.withClient(database: database) { client in
            let migrator = Migrator(client: client, schema: "broken", migrations: broken, logger: TestServers.logger)
            await #expect(throws: (any Error).self) { try await migrator.run() }
            await #expect(throws: MigrationError.self) { try await migrator.verifyApplied() }
            let rows = try await client.query("SELECT to_regclass('broken.half')::text", logger: TestServers.logger)
            for try await name in rows.decode(String?.self) { #expect(name == nil) }
        }
    }

    /// A runner that loses a race on the catalogs (here a migration that raises a unique violation
    /// on its first attempt only, counted by a sequence, which no rollback undoes) starts over and
    /// applies the migration once; any other error fails at once, without a second attempt.
    @Test func aRunnerThatLosesACatalogRaceStartsOver() async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            try await client.query("CREATE SCHEMA retry", logger: TestServers.logger)
            try await client.query("CREATE SEQUENCE retry.attempts", logger: TestServers.logger)
            try await client.query("CREATE SEQUENCE retry.failures", logger: TestServers.logger)
            let racing = [Migration(set: "service", version: 1, name: "racing", sql: """
                DO $$ BEGIN IF nextval('{schema}.attempts') = 1 THEN RAISE unique_violation USING MESSAGE = 'lost a race'; END IF; END $$;
                CREATE TABLE {schema}.made (n integer);
                """)]
            let applied = try await Migrator(client: client, schema: "retry", migrations: racing, logger: TestServers.logger).run()
            #expect(applied == ["service/1_racing"])
            let attempts = try await client.query("SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::int FROM retry.attempts", logger: TestServers.logger)
            for try await count in attempts.decode(Int.self) { #expect(count == 2) }

            let failing = [Migration(set: "service", version: 2, name: "failing", sql: """
                DO $$ BEGIN PERFORM nextval('{schema}.failures'); RAISE division_by_zero; END $$;
                """)]
            let migrator = Migrator(client: client, schema: "retry", migrations: racing + failing, logger: TestServers.logger)
            await #expect(throws: (any Error).self) { try await migrator.run() }
            let failures = try await client.query("SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::int FROM retry.failures", logger: TestServers.logger)
            for try await count in failures.decode(Int.self) { #expect(count == 1) }
        }
    }

    /// Queries and transactions run through PgBouncer in transaction mode without named prepared
    /// statements: many concurrent transactions over few server connections all succeed.
    @Test func concurrentTransactionsThroughPgBouncer() async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            try await client.query("CREATE TABLE t (n integer)", logger: TestServers.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        try await client.transaction(logger: TestServers.logger) { connection in
                            try await connection.query("INSERT INTO t VALUES (\(index))", logger: TestServers.logger)
                            try await connection.query("SELECT count(*) FROM t WHERE n = \(index)", logger: TestServers.logger)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let rows = try await client.query("SELECT count(*)::int FROM t", logger: TestServers.logger)
            for try await count in rows.decode(Int.self) { #expect(count == 200) }
        }
    }
}
