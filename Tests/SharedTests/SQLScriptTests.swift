import ServiceKit
import Testing

@Suite("SQL script splitting")
struct SQLScriptTests {
    /// Semicolons split statements only at the top level, never inside quotes, dollar quotes or comments.
    @Test func splitsOnlyTopLevelSemicolons() {
        let script = """
            CREATE TABLE a (t text DEFAULT 'x;y'); -- a comment; with a semicolon
            CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no; never'; END $$ LANGUAGE plpgsql;
            /* block; comment */ SELECT "odd;name" FROM a WHERE t = 'it''s;' AND $1 IS NULL;
            """
        #expect(SQLScript.statements(script) == [
            "CREATE TABLE a (t text DEFAULT 'x;y')",
            "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no; never'; END $$ LANGUAGE plpgsql",
            "SELECT \"odd;name\" FROM a WHERE t = 'it''s;' AND $1 IS NULL",
        ])
    }
}
