import Foundation

/// Collects field errors so that one response names every invalid field at once.
///
/// ```swift
/// var check = Validation()
/// check.require(body.title, "title", maxLength: 200)
/// try check.finish()      // throws Problem.validation when anything failed
/// ```
public struct Validation: Sendable {
    public private(set) var errors: [Problem.FieldError] = []

    public init() {}

    /// Records an error on `field`.
    public mutating func fail(_ field: String, _ message: String) {
        self.errors.append(.init(field: field, message: message))
    }

    /// Requires a non-blank string no longer than `maxLength` characters; returns it trimmed.
    @discardableResult
    public mutating func require(_ value: String?, _ field: String, maxLength: Int = 10_000) -> String? {
        guard let value, !value.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            self.fail(field, "is required")
            return nil
        }
        return self.limit(value, field, maxLength: maxLength)
    }

    /// Checks an optional string's length; returns it trimmed, or nil when absent.
    @discardableResult
    public mutating func limit(_ value: String?, _ field: String, maxLength: Int) -> String? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: .whitespacesAndNewlines)
        if trimmed.count > maxLength {
            self.fail(field, "must be at most \(maxLength) characters")
            return nil
        }
        if trimmed.unicodeScalars.contains(where: { $0.value == 0 }) {
            self.fail(field, "must not contain NUL characters")
            return nil
        }
        return trimmed
    }

    /// Checks that an integer lies within `range`.
    public mutating func range(_ value: Int?, _ field: String, _ range: ClosedRange<Int>) {
        if let value, !range.contains(value) {
            self.fail(field, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
    }

    /// Checks the shape of an email address (one `@`, a dot in the domain, no spaces); returns it lowercased.
    @discardableResult
    public mutating func email(_ value: String?, _ field: String = "email") -> String? {
        guard let raw = self.require(value, field, maxLength: 254) else { return nil }
        let email = raw.lowercased()
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        let valid = parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".")
            && !email.contains(where: { $0.isWhitespace || $0.isNewline })
        if !valid {
            self.fail(field, "is not a valid email address")
            return nil
        }
        return email
    }

    /// Throws `Problem.validation` when any check failed.
    public func finish() throws(Problem) {
        if !self.errors.isEmpty { throw Problem.validation(self.errors) }
    }
}
