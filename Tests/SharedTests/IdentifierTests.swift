import BaseModel
import Foundation
import Testing

@Suite("Identifiers and cursors")
struct IdentifierTests {
    @Test func base64URLAgreesWithFoundation() {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
            let expected = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
            #expect(Base64URL.encode(bytes) == expected, "length \(length)")
            #expect(Data(base64URLEncoded: expected) == Data(bytes))
        }
    }

    @Test func hexIsLowercaseTwoDigitsPerByte() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<300).map { _ in UInt8.random(in: .min ... .max, using: &generator) } + [0, 9, 10, 15, 16, 255]
        #expect(bytes.hexEncoded == bytes.map { String(format: "%02x", $0) }.joined())
        #expect([UInt8]().hexEncoded == "")
    }

    @Test func version7IdsCarryTheirTimeVersionAndVariant() {
        let date = Date(timeIntervalSince1970: 1_790_000_000.123)
        var seen = Set<UUID>()
        for _ in 0..<1000 {
            let id = UUID.v7(at: date)
            let bytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            let millis = bytes[0..<6].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            #expect(millis == 1_790_000_000_123)
            #expect(bytes[6] >> 4 == 7)
            #expect(bytes[8] >> 6 == 0b10)
            seen.insert(id)
        }
        #expect(seen.count == 1000)
        #expect(UUID.v7(at: date).uuidString < UUID.v7(at: date.addingTimeInterval(0.002)).uuidString)
    }

    @Test func cursorsRoundTripAndKeepTheirSort() throws {
        for key in ["", "2026-11-26 01:21:14.123456+00", "1:0.0607927", "quote \" backslash \\ slash / é"] {
            let cursor = Cursor(key: key, id: UUID(), sort: "created")
            let text = cursor.encoded
            #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
            #expect(try Cursor(decoding: text, sort: "created") == cursor)
            #expect(throws: Problem.self) { try Cursor(decoding: text, sort: "updated") }
            // The JSON form is what earlier releases wrote, so cursors already handed out stay valid.
            let legacy = try JSONEncoder().encode(cursor).base64URLEncoded
            #expect(try Cursor(decoding: legacy, sort: "created") == cursor)
        }
        #expect(throws: Problem.self) { try Cursor(decoding: "not a cursor", sort: "created") }
    }
}
