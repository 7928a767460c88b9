import Foundation
import PostgresNIO
import ServiceKit
import Testing
import TestSupport

@Suite("Row reader")
struct RowReaderTests {
    /// Every type the reader reads comes out as PostgresNIO's own decoding makes it, NULLs included,
    /// and a cell of another type is an error naming its column rather than a wrong value.
    @Test func readsWhatPostgresNIODecodesAndRefusesOtherTypes() async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            let id = UUID()
            let rows = try await client.query("""
                SELECT \(id)::uuid AS id, 'é "quoted" text' AS text, 7::int2 AS small, -70000::int4 AS medium,
                       9000000000::int8 AS large, true AS yes, false AS no,
                       '2026-11-26 01:21:14.123456+00'::timestamptz AS at, '1999-12-31 23:59:59.999999+00'::timestamptz AS early,
                       NULL::uuid AS no_id, NULL::text AS no_text, NULL::int4 AS no_int, NULL::bool AS no_bool, NULL::timestamptz AS no_at
                """, logger: TestServers.logger)
            for try await row in rows {
                var cells = RowReader(row)
                #expect(try cells.uuid() == id)
                #expect(try cells.string() == "é \"quoted\" text")
                #expect(try cells.int() == 7)
                #expect(try cells.int() == -70000)
                #expect(try cells.int() == 9_000_000_000)
                #expect(try cells.bool() == true)
                #expect(try cells.optionalBool() == false)
                let cellsByName = row.makeRandomAccess()
                let at = try cellsByName["at"].decode(Date.self, context: .default)
                let early = try cellsByName["early"].decode(Date.self, context: .default)
                #expect(try cells.date() == at)
                #expect(try cells.optionalDate() == early)
                #expect(try cells.optionalUUID() == nil)
                #expect(try cells.optionalString() == nil)
                #expect(try cells.optionalInt() == nil)
                #expect(try cells.optionalBool() == nil)
                #expect(try cells.optionalDate() == nil)
                #expect(throws: RowReaderError.self) { try cells.skip() }

                var wrong = RowReader(row)
                #expect(throws: RowReaderError.self) { try wrong.skip(); _ = try wrong.uuid() }
                var null = RowReader(row)
                for _ in 0..<9 { try null.skip() }
                #expect(throws: RowReaderError.self) { _ = try null.uuid() }
            }
        }
    }
}
