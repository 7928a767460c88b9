import BaseModel
import Crypto
import Foundation

/// AWS Signature Version 4 for S3 requests, header form
/// (https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html).
///
/// Signs `host`, `x-amz-content-sha256`, `x-amz-date` and any `x-amz-*` or `range` header given.
struct S3Signer: Sendable {
    let accessKey: String
    let secretKey: String
    let region: String
    var service = "s3"

    /// The payload hash of a request whose body is not hashed (streamed parts of unknown content).
    static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The SHA-256 of an empty body.
    static let emptyPayload = SHA256.hash(data: Data()).hexEncoded

    /// The headers to send with the request: `headers` plus `x-amz-date`, `x-amz-content-sha256`
    /// and `Authorization`.
    /// - Parameters:
    ///   - method: `GET`, `PUT`, ...
    ///   - host: the `Host` header's value (with the port when it is not the scheme's default).
    ///   - path: the absolute path, not yet percent-encoded.
    ///   - query: query parameters (a parameter without a value, like `uploads`, has "").
    ///   - headers: further headers to sign, such as `range`.
    ///   - payloadHash: the hex SHA-256 of the body, or `unsignedPayload`.
    func sign(
        method: String, host: String, path: String, query: [(String, String)] = [], headers: [String: String] = [:],
        payloadHash: String, date: Date = Date()
    ) -> [String: String] {
        let (amzDate, day) = Self.timestamps(date)
        var signed = headers.reduce(into: [String: String]()) { $0[$1.key.lowercased()] = $1.value.trimmingCharacters(in: .whitespaces) }
        signed["host"] = host
        signed["x-amz-date"] = amzDate
        signed["x-amz-content-sha256"] = payloadHash
        let names = signed.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(signed[$0] ?? "")\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonicalQuery = query.map { (Self.encode($0.0), Self.encode($0.1)) }.sorted { $0 < $1 }
            .map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        let canonicalRequest = [
            method, Self.encodePath(path), canonicalQuery, canonicalHeaders, signedHeaders, payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(self.region)/\(self.service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Data(canonicalRequest.utf8)).hexEncoded].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(self.secretKey)".utf8))
        for part in [day, self.region, self.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).hexEncoded
        var result = signed
        result["host"] = nil
        result["authorization"] = "AWS4-HMAC-SHA256 Credential=\(self.accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return result
    }

    /// `20130524T000000Z` and `20130524` in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let day = String(format: "%04d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0)
        return (day + String(format: "T%02d%02d%02dZ", c.hour ?? 0, c.minute ?? 0, c.second ?? 0), day)
    }

    /// RFC 3986 encoding of everything but the unreserved characters, as SigV4 requires.
    static func encode(_ value: String) -> String {
        var result = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                result.append(Character(UnicodeScalar(byte)))
            default:
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    /// A path encoded segment by segment (S3 keys are not encoded twice).
    static func encodePath(_ path: String) -> String {
        path.split(separator: "/", omittingEmptySubsequences: false).map { Self.encode(String($0)) }.joined(separator: "/")
    }
}
