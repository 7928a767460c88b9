import BaseModel
import Crypto
import Logging
import PostgresNIO

/// Runs a service's hot reads as named prepared statements, so PostgreSQL parses each distinct
/// statement once per server connection and, after five runs, may keep one plan for all values
/// instead of planning every request (planning was about half of a list page's database time).
///
/// Prepare only statements whose best plan does not depend on their values: an index that gives
/// exactly their rows in order (a primary key, a queue's index). A plan kept for all values is
/// costed for typical ones and can be far off for rare ones; such statements run unnamed and are
/// planned for their values every time.
///
/// A statement is named after a digest of its SQL, so one text always has one name: PostgresNIO
/// prepares it once per pooled connection and PgBouncer (1.21 or later, `max_prepared_statements`)
/// once per server connection, whichever client connection asks. Parameter types are left to
/// PostgreSQL to infer, so every parameter of such a statement must stand where its type is clear
/// (compared with a column, cast, `LIMIT`). With `preparedStatements` off the same reads run as
/// unnamed statements, for a pooler without prepared-statement support.
public struct PreparedReads: Sendable {
    public let client: PostgresClient
    public let prepared: Bool

    public init(client: PostgresClient, prepared: Bool) {
        self.client = client
        self.prepared = prepared
    }

    /// Runs `query`, prepared when `prepare` is true and the configuration allows it, and hands
    /// each row to `body`, in order.
    public func forEachRow(
        _ query: PostgresQuery, prepare: Bool = true, logger: Logger, _ body: (PostgresRow) throws -> Void
    ) async throws {
        guard prepare && self.prepared else {
            for try await row in try await self.client.query(query, logger: logger) { try body(row) }
            return
        }
        let text = NamedStatement.Text(name: Self.name(of: query.sql), sql: query.sql)
        try await NamedStatement.$text.withValue(text) {
            for try await row in try await self.client.execute(NamedStatement(bindings: query.binds), logger: logger) {
                try body(row)
            }
        }
    }

    /// `hdms_` and the first 128 bits of the SQL's SHA-256, in hex.
    static func name(of sql: String) -> String {
        "hdms_" + SHA256.hash(data: Array(sql.utf8)).prefix(16).hexEncoded
    }
}

/// PostgresNIO takes a prepared statement's name and SQL from static members of its type; this one
/// type reads them from the task that executes it, so statements built at run time can be prepared.
private struct NamedStatement: PostgresPreparedStatement {
    struct Text: Sendable {
        let name: String
        let sql: String
    }

    @TaskLocal static var text = Text(name: "", sql: "")

    static var name: String { Self.text.name }
    static var sql: String { Self.text.sql }

    let bindings: PostgresBindings

    func makeBindings() -> PostgresBindings { self.bindings }
    func decodeRow(_ row: PostgresRow) -> PostgresRow { row }
}
