import Foundation
import NIOCore
import PostgresNIO

/// Reads a row's cells in order, decoding the few column types of hot reads (uuid, text, integers,
/// booleans, timestamps) straight from their binary form.
///
/// `PostgresRow.decode` goes through generic `PostgresDecodable` witnesses that Swift does not
/// specialise for a long tuple, and a `PostgresCell` per value: for a page of tickets that was a
/// fifth of the service's time. A cell of another type or format than the reader expects is an
/// error that names the column, never a silently wrong value.
public struct RowReader {
    private var cells: PostgresRow.Iterator

    public init(_ row: PostgresRow) {
        self.cells = row.makeIterator()
    }

    /// Skips one cell.
    public mutating func skip() throws {
        _ = try self.next()
    }

    public mutating func uuid() throws -> UUID {
        try Self.required(self.optionalUUID())
    }

    public mutating func optionalUUID() throws -> UUID? {
        try self.read("uuid") { type, bytes in type == .uuid ? bytes.readUUIDBytes() : nil }
    }

    public mutating func string() throws -> String {
        try Self.required(self.optionalString())
    }

    public mutating func optionalString() throws -> String? {
        try self.read("text") { type, bytes in [.text, .varchar, .name, .bpchar].contains(type) ? String(buffer: bytes) : nil }
    }

    public mutating func int() throws -> Int {
        try Self.required(self.optionalInt())
    }

    public mutating func optionalInt() throws -> Int? {
        try self.read("integer") { type, bytes in
            switch (type, bytes.readableBytes) {
            case (.int2, 2): bytes.readInteger(as: Int16.self).map(Int.init)
            case (.int4, 4): bytes.readInteger(as: Int32.self).map(Int.init)
            case (.int8, 8): bytes.readInteger(as: Int64.self).map(Int.init)
            default: nil
            }
        }
    }

    public mutating func bool() throws -> Bool {
        try Self.required(self.optionalBool())
    }

    public mutating func optionalBool() throws -> Bool? {
        try self.read("boolean") { type, bytes in
            type == .bool && bytes.readableBytes == 1 ? bytes.readInteger(as: UInt8.self).map { $0 != 0 } : nil
        }
    }

    public mutating func date() throws -> Date {
        try Self.required(self.optionalDate())
    }

    /// A `timestamptz` (or `timestamp`), as PostgresNIO decodes one: microseconds since 2000-01-01.
    public mutating func optionalDate() throws -> Date? {
        try self.read("timestamp") { type, bytes in
            guard type == .timestamptz || type == .timestamp, bytes.readableBytes == 8, let microseconds = bytes.readInteger(as: Int64.self)
            else { return nil }
            return Date(timeInterval: Double(microseconds) / 1_000_000, since: Self.postgresEpoch)
        }
    }

    /// The next cell: nil for NULL, else what `decode` makes of its type and bytes; `decode`
    /// answering nil means the cell is not what the caller reads (named `expected` in the error).
    private mutating func read<Value>(
        _ expected: String, _ decode: (PostgresDataType, inout ByteBuffer) -> Value?
    ) throws -> Value? {
        let cell = try self.next()
        guard var bytes = cell.bytes else { return nil }
        guard let value = decode(cell.dataType, &bytes) else { throw Self.mismatch(cell, expected) }
        return value
    }

    private mutating func next() throws -> PostgresCell {
        guard let cell = self.cells.next() else { throw RowReaderError(message: "the row has fewer columns than its reader reads") }
        guard cell.format == .binary else { throw Self.mismatch(cell, "a binary value") }
        return cell
    }

    private static func required<Value>(_ value: Value?) throws -> Value {
        guard let value else { throw RowReaderError(message: "a NULL where a value is required") }
        return value
    }

    private static func mismatch(_ cell: PostgresCell, _ expected: String) -> RowReaderError {
        RowReaderError(message: "column \(cell.columnName) (\(cell.dataType), \(cell.format)) read as \(expected)")
    }

    private static let postgresEpoch = Date(timeIntervalSince1970: 946_684_800)
}

/// A row that does not hold what its reader reads: a programming error, logged and answered 500.
public struct RowReaderError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { "RowReader: \(self.message)" }
}

extension ByteBuffer {
    /// The buffer's 16 bytes as a UUID.
    fileprivate mutating func readUUIDBytes() -> UUID? {
        guard self.readableBytes == 16 else { return nil }
        let value = self.withUnsafeReadableBytes { raw in UUID(uuid: raw.loadUnaligned(as: uuid_t.self)) }
        self.moveReaderIndex(forwardBy: 16)
        return value
    }
}
