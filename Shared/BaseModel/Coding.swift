import Foundation

extension JSONEncoder {
    /// The suite's wire format: snake_case keys, RFC 3339 UTC timestamps.
    public static var hdms: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}

extension JSONEncoder {
    /// The wire format for types whose coding keys are already snake_case: skips key conversion,
    /// which is most of the encoding cost of large lists.
    public static var hdmsVerbatimKeys: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }
}

extension JSONDecoder {
    /// Reads the suite's wire format: snake_case keys, RFC 3339 timestamps with or without fractions.
    public static var hdms: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = RFC3339.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected an RFC 3339 timestamp")
            }
            return date
        }
        return decoder
    }
}

/// RFC 3339 timestamps as the API writes and accepts them.
public enum RFC3339 {
    /// Parses `2026-01-31T09:30:00Z`, with optional fractional seconds and any offset.
    public static func parse(_ text: String) -> Date? {
        let plain = Date.ISO8601FormatStyle()
        if let date = try? plain.parse(text) { return date }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// Formats a date in UTC with whole seconds.
    public static func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }
}
