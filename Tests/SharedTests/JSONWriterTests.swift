import BaseModel
import Foundation
import Testing

@Suite("JSON writer")
struct JSONWriterTests {
    /// What `JSONEncoder.hdmsVerbatimKeys` makes of the same values, parsed for comparison.
    private static func parsed(_ bytes: [UInt8]) throws -> NSDictionary {
        try #require(JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary)
    }

    private struct Sample: Encodable {
        var text: String?
        var id: UUID?
        var at: Date?
        var count: Int?
        var flag: Bool
        var list: [String]
    }

    private static func written(_ sample: Sample) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.member("text", sample.text)
        json.member("id", sample.id)
        json.member("at", sample.at)
        json.member("count", sample.count)
        json.member("flag", sample.flag)
        json.key("list")
        json.beginArray()
        for item in sample.list { json.string(item) }
        json.endArray()
        json.endObject()
        return json.bytes
    }

    private static func encoded(_ sample: Sample) throws -> [UInt8] {
        struct Explicit: Encodable {
            var sample: Sample
            enum Keys: String, CodingKey { case text, id, at, count, flag, list }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(self.sample.text, forKey: .text)
                try container.encode(self.sample.id, forKey: .id)
                try container.encode(self.sample.at, forKey: .at)
                try container.encode(self.sample.count, forKey: .count)
                try container.encode(self.sample.flag, forKey: .flag)
                try container.encode(self.sample.list, forKey: .list)
            }
        }
        return Array(try JSONEncoder.hdmsVerbatimKeys.encode(Explicit(sample: sample)))
    }

    /// Strings (quotes, backslashes, every control character, non-ASCII), UUIDs, timestamps
    /// (fractions, leap days, far years), integers at the edges, nulls and booleans come out as
    /// JSONEncoder writes them.
    @Test func agreesWithJSONEncoder() throws {
        let controls = String((0..<32).map { Character(Unicode.Scalar(UInt8($0))) })
        var generator = SystemRandomNumberGenerator()
        var samples: [Sample] = [
            Sample(text: nil, id: nil, at: nil, count: nil, flag: false, list: []),
            Sample(text: "", id: UUID(), at: Date(timeIntervalSince1970: 0), count: 0, flag: true, list: [""]),
            Sample(text: "say \"hi\" \\ back/slash \(controls) é 日本 👍", id: UUID(), at: Date(timeIntervalSince1970: 951_782_400.999),
                   count: Int.max, flag: true, list: ["a\"b", "\u{7F}\u{2028}", controls]),
            Sample(text: "x", id: UUID(), at: Date(timeIntervalSince1970: 253_402_300_799), count: Int.min, flag: false, list: ["1", "2"]),
            Sample(text: "leap", id: UUID(), at: Date(timeIntervalSince1970: 1_709_164_800.5), count: -42, flag: true, list: []),
        ]
        for _ in 0..<2_000 {
            let seconds = Double.random(in: 0..<4_102_444_800, using: &generator)
            samples.append(Sample(
                text: String(repeating: "ab\"\n", count: Int.random(in: 0..<4, using: &generator)), id: UUID(),
                at: Date(timeIntervalSince1970: seconds), count: Int.random(in: Int.min...Int.max, using: &generator),
                flag: Bool.random(using: &generator), list: ["\(seconds)"]))
        }
        for sample in samples {
            let written = Self.written(sample), encoded = try Self.encoded(sample)
            #expect(try Self.parsed(written) == Self.parsed(encoded),
                    "\(String(decoding: written, as: UTF8.self)) vs \(String(decoding: encoded, as: UTF8.self))")
        }
    }

    /// Members and array elements are separated by exactly one comma, nested containers included.
    @Test func separatesMembersAndElements() {
        var json = JSONWriter()
        json.beginObject()
        json.key("a")
        json.beginArray()
        json.beginObject()
        json.member("b", 1)
        json.member("c", nil as String?)
        json.endObject()
        json.beginObject()
        json.endObject()
        json.int(7)
        json.endArray()
        json.member("d", true)
        json.endObject()
        #expect(String(decoding: json.bytes, as: UTF8.self) == #"{"a":[{"b":1,"c":null},{},7],"d":true}"#)
    }
}
