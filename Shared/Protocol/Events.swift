import BaseModel
import Foundation

/// Any JSON value, for event payloads and audit snapshots whose shape belongs to the producer.
public enum JSONValue: Codable, Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    /// Converts any `Encodable` value into its JSON tree (snake_case keys, as on the wire).
    public init(encoding value: some Encodable) throws {
        let data = try JSONEncoder.hdms.encode(value)
        self = try JSONDecoder().decode(JSONValue.self, from: data)
    }

    /// Decodes the tree into a concrete type.
    public func decode<T: Decodable>(as type: T.Type) throws -> T {
        try JSONDecoder.hdms.decode(T.self, from: JSONEncoder().encode(self))
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }
}

/// The kinds of event the suite publishes; the raw value is the envelope's `type`.
public enum EventType: String, Codable, Sendable, CaseIterable {
    case employeeCreated = "employee.created"
    case employeeUpdated = "employee.updated"
    case employeeAccessChanged = "employee.access_changed"
    case departmentCreated = "department.created"
    case departmentUpdated = "department.updated"
    case directoryImported = "directory.imported"
    case ticketCreated = "ticket.created"
    case ticketUpdated = "ticket.updated"
    case ticketSubmitted = "ticket.submitted"
    case ticketAssigned = "ticket.assigned"
    case ticketStatusChanged = "ticket.status_changed"
    case approvalRequested = "approval.requested"
    case approvalDecided = "approval.decided"
    case slaBreached = "sla.breached"
    case reminderDue = "ticket.reminder"
    case ticketAutoClosed = "ticket.auto_closed"
    case messagePosted = "message.posted"
    case messageEdited = "message.edited"
    case messageDeleted = "message.deleted"
    case fileUploaded = "file.uploaded"
    case fileDeleted = "file.deleted"
    case configChanged = "config.changed"
}

/// What an event is about: `{kind, id}`.
public struct EventSubject: Codable, Sendable, Equatable {
    public var kind: String
    public var id: String

    public init(kind: String, id: String) {
        self.kind = kind
        self.id = id
    }
}

/// The envelope every event travels in (API.md "Events").
///
/// Consumers are at-least-once and deduplicate by `id`.
public struct EventEnvelope: Codable, Sendable, Equatable {
    public var id: UUID
    public var type: String
    public var version: Int
    public var occurredAt: Date
    public var actorId: UUID?
    public var subject: EventSubject
    public var data: JSONValue
    /// The request that caused it, for the audit trail.
    public var requestId: String?

    public init(
        id: UUID = .v7(), type: EventType, version: Int = 1, occurredAt: Date = Date(), actorId: UUID?,
        subject: EventSubject, data: JSONValue, requestId: String? = nil
    ) {
        self.id = id
        self.type = type.rawValue
        self.version = version
        self.occurredAt = occurredAt
        self.actorId = actorId
        self.subject = subject
        self.data = data
        self.requestId = requestId
    }

    /// The known type, or nil for a type this build does not know (newer producers).
    public var eventType: EventType? { EventType(rawValue: self.type) }
}

/// The `data` of `message.posted`, `message.edited` and `message.deleted` (communication-service).
public struct MessageEventData: Codable, Sendable, Equatable {
    public var messageId: UUID
    public var ticketId: UUID
    public var authorId: UUID?
    /// The text after the change; empty for a deleted message.
    public var body: String
    /// Internal notes (`internal` on the wire) are staff-only and never indexed for search.
    public var isInternal: Bool

    public init(messageId: UUID, ticketId: UUID, authorId: UUID?, body: String, isInternal: Bool) {
        self.messageId = messageId
        self.ticketId = ticketId
        self.authorId = authorId
        self.body = body
        self.isInternal = isInternal
    }

    enum CodingKeys: String, CodingKey {
        case messageId, ticketId, authorId, body
        case isInternal = "internal"
    }
}
