import BaseModel
import Foundation
import Hummingbird

/// Reads typed query parameters, collecting a field error for each malformed one so that a request
/// names every bad parameter at once (`finish()` throws them as one 422).
public struct QueryReader {
    public let parameters: Parameters
    public var check = Validation()

    public init(_ parameters: Parameters) {
        self.parameters = parameters
    }

    public func text(_ name: String) -> String? { self.parameters.get(name) }

    public mutating func uuid(_ name: String) -> UUID? {
        guard let raw = self.parameters.get(name) else { return nil }
        guard let id = UUID(uuidString: raw) else {
            self.check.fail(name, "must be a UUID")
            return nil
        }
        return id
    }

    public mutating func date(_ name: String) -> Date? {
        guard let raw = self.parameters.get(name) else { return nil }
        guard let date = RFC3339.parse(raw) else {
            self.check.fail(name, "must be an RFC 3339 timestamp")
            return nil
        }
        return date
    }

    public mutating func bool(_ name: String) -> Bool? {
        guard let raw = self.parameters.get(name) else { return nil }
        guard raw == "true" || raw == "false" else {
            self.check.fail(name, "must be true or false")
            return nil
        }
        return raw == "true"
    }

    /// A value of a string enum.
    public mutating func value<T: RawRepresentable & CaseIterable>(_ name: String, as type: T.Type) -> T? where T.RawValue == String {
        guard let raw = self.parameters.get(name) else { return nil }
        guard let value = T(rawValue: raw) else {
            self.check.fail(name, "must be one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return value
    }

    /// Throws every error collected.
    public func finish() throws(Problem) { try self.check.finish() }
}
