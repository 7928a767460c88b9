import Foundation
import Logging
import PostgresNIO
@testable import ServiceKit
import Testing
import TestSupport

@Suite("Prepared reads")
struct PreparedReadsTests {
    /// Rows of `query` as text, in order.
    static func rows(_ reads: PreparedReads, _ query: PostgresQuery) async throws -> [String] {
        var rows: [String] = []
        try await reads.forEachRow(query, logger: TestServers.logger) { row in
            var cells = RowReader(row)
            rows.append("\(try cells.uuid()) \(try cells.string()) \(try cells.int()) \(try cells.optionalDate().map { "\($0.timeIntervalSince1970)" } ?? "-")")
        }
        return rows
    }

    /// Statements of every parameter kind the services bind, run many times at once over a pool
    /// smaller than the number of tasks through PgBouncer: the prepared path returns exactly what
    /// the unnamed path returns, so PgBouncer maps each client's statement onto whichever server
    /// connection runs it.
    @Test func preparedAndUnnamedReadsAgreeThroughPgBouncer() async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            try await client.query("""
                CREATE TABLE items (id uuid PRIMARY KEY, status text NOT NULL, rank int8 NOT NULL, due timestamptz)
                """, logger: TestServers.logger)
            try await client.query("""
                INSERT INTO items SELECT gen_random_uuid(), (ARRAY['open', 'done', 'draft'])[1 + i % 3], i,
                    CASE WHEN i % 4 = 0 THEN NULL ELSE '2026-01-01'::timestamptz + i * interval '1 hour' END
                FROM generate_series(1, 300) AS i
                """, logger: TestServers.logger)
            let some = try await Self.rows(PreparedReads(client: client, prepared: false), "SELECT id, status, rank, due FROM items WHERE rank = 7")
            let first = try #require(some.first)
            let known = try #require(UUID(uuidString: String(first.prefix(36))))
            let cutoff = Date(timeIntervalSince1970: 1_767_500_000)
            let statements: [PostgresQuery] = [
                "SELECT id, status, rank, due FROM items WHERE status = ANY(\(["open", "draft"])) ORDER BY rank DESC LIMIT \(25)",
                "SELECT id, status, rank, due FROM items WHERE id = \(known)",
                "SELECT id, status, rank, due FROM items WHERE due < \(cutoff) AND rank > \(10) ORDER BY rank LIMIT \(5)",
                "SELECT id, status, rank, due FROM items WHERE due IS NULL AND status = \("done") ORDER BY rank",
                "SELECT id, status, rank, due FROM items WHERE rank = \(-1)",
            ]
            var expected: [[String]] = []
            for statement in statements { expected.append(try await Self.rows(PreparedReads(client: client, prepared: false), statement)) }
            #expect(expected.map(\.count) == [25, 1, 5, 25, 0])

            let prepared = PreparedReads(client: client, prepared: true)
            try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
                for task in 0..<60 {
                    let index = task % statements.count
                    group.addTask { (index, try await Self.rows(prepared, statements[index])) }
                }
                for try await (index, rows) in group { #expect(rows == expected[index], "statement \(index)") }
            }
        }
    }

    /// The prepared path really prepares: on a connection of its own straight to PostgreSQL, the
    /// statement is listed under its name after the first read and reused by the next one, and the
    /// unnamed path leaves nothing behind.
    @Test func aPreparedReadIsPreparedOnceUnderItsName() async throws {
        let database = try await TestServers.createDatabase()
        var configuration = PostgresClient.Configuration(
            host: TestServers.host, port: try TestServers.postgresPort(), username: try TestServers.user(),
            password: try TestServers.password(), database: database, tls: .disable)
        configuration.options.maximumConnections = 1
        configuration.options.minimumConnections = 1
        let client = PostgresClient(configuration: configuration, backgroundLogger: TestServers.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            func listed(_ name: String) async throws -> Int {
                var count = 0
                for try await (n) in try await client.query("SELECT count(*)::int8 FROM pg_prepared_statements WHERE name = \(name)", logger: TestServers.logger)
                    .decode(Int.self) { count = n }
                return count
            }
            let query: PostgresQuery = "SELECT \(UUID())::uuid, 'x'::text, \(3)::int8, NULL::timestamptz"
            let name = PreparedReads.name(of: query.sql)
            let unnamed = PreparedReads(client: client, prepared: false)
            _ = try await Self.rows(unnamed, query)
            #expect(try await listed(name) == 0)

            let prepared = PreparedReads(client: client, prepared: true)
            #expect(try await Self.rows(prepared, query).count == 1)
            #expect(try await listed(name) == 1)
            let again = try await Self.rows(prepared, "SELECT \(UUID())::uuid, 'y'::text, \(4)::int8, NULL::timestamptz")
            #expect(again.first?.contains(" y 4 ") == true)
            #expect(try await listed(name) == 1)
        }
    }

    /// A statement PostgreSQL refuses is an error for its caller and leaves the next read working.
    @Test func aRefusedStatementFailsAloneAndReadsGoOn() async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            let reads = PreparedReads(client: client, prepared: true)
            await #expect(throws: PSQLError.self) {
                _ = try await Self.rows(reads, "SELECT id, status FROM no_such_table WHERE id = \(UUID())")
            }
            let rows = try await Self.rows(reads, "SELECT \(UUID())::uuid, 'z'::text, \(5)::int8, now()")
            #expect(rows.count == 1)
        }
    }

    /// Names are a digest of the SQL: the same text always gets the same name, another text another.
    @Test func namesFollowTheSQLText() {
        let name = PreparedReads.name(of: "SELECT 1")
        #expect(name == PreparedReads.name(of: "SELECT 1"))
        #expect(name != PreparedReads.name(of: "SELECT 2"))
        #expect(name.hasPrefix("hdms_") && name.count == 37)
        #expect(name.dropFirst(5).allSatisfy { "0123456789abcdef".contains($0) })
    }

    @Test func theSettingIsReadFromTheEnvironment() throws {
        let base = ["HDMS_DB_PASSWORD": "x"]
        let on = try ServiceConfiguration(service: .tickets, environment: EnvironmentReader(base))
        #expect(on.database.preparedStatements)
        let off = try ServiceConfiguration(
            service: .tickets, environment: EnvironmentReader(base.merging(["HDMS_DB_PREPARED_STATEMENTS": "false"]) { $1 }))
        #expect(!off.database.preparedStatements)
        #expect {
            try ServiceConfiguration(service: .tickets, environment: EnvironmentReader(base.merging(["HDMS_DB_PREPARED_STATEMENTS": "sometimes"]) { $1 }))
        } throws: { ($0 as? ConfigurationError)?.variable == "HDMS_DB_PREPARED_STATEMENTS" }
    }
}
