import BaseModel
import Foundation
import HDMSProtocol
import ServiceKit

// Employees and departments are read as the directory types every service shares.
typealias EmployeeDTO = DirectoryEmployee
typealias DepartmentDTO = DirectoryDepartment

// The parts of the APIs' answers the UI reads (API.md; each service's OpenAPI document is the full
// shape). Decoded with JSONDecoder.hdms (snake_case keys, RFC 3339 dates).

struct Listing<Item: Decodable & Sendable>: Decodable, Sendable {
    var items: [Item]
    var nextCursor: String?
}

struct TicketDTO: Decodable, Sendable {
    struct SLA: Decodable, Sendable {
        var firstResponseDue: Date?
        var resolutionDue: Date?
        var paused: Bool
        var nearing: Bool?
        var breached: Bool
        var remainingSeconds: Int?
    }

    var id: UUID
    var number: String
    var title: String
    var description: String
    var categoryId: UUID?
    var priority: String
    var status: String
    var departmentId: UUID?
    var requestorId: UUID
    var assigneeId: UUID?
    var moderatorId: UUID?
    var progress: Int
    var reopenCount: Int
    var parentId: UUID?
    var dueAt: Date?
    var createdAt: Date
    var updatedAt: Date
    var version: Int
    var currentApproverId: UUID?
    var sla: SLA
    var allowedActions: [String]
}

struct HistoryDTO: Decodable, Sendable {
    var id: UUID
    var at: Date
    var actorId: UUID?
    var action: String
    var fromStatus: String?
    var toStatus: String?
    var changes: [String: JSONValue]?
}

struct ApprovalDTO: Decodable, Sendable {
    var id: UUID
    var step: Int
    var position: String
    var approverId: UUID
    var decision: String
    var comment: String?
    var requestedAt: Date
    var decidedAt: Date?
}

struct MessageDTO: Codable, Sendable {
    var id: UUID
    var ticketId: UUID
    var authorId: UUID
    var body: String
    var `internal`: Bool
    var attachmentIds: [UUID]
    var createdAt: Date
    var editedAt: Date?
}

struct FileDTO: Codable, Sendable {
    var id: UUID
    var filename: String
    var contentType: String
    var size: Int
    var ticketId: UUID?
}

struct NotificationDTO: Decodable, Sendable {
    var id: UUID
    var kind: String
    var ticketId: UUID?
    var title: String
    var body: String
    var createdAt: Date
    var readAt: Date?
}

struct CategoryDTO: Decodable, Sendable {
    var id: UUID
    var name: String
    var departmentId: UUID?
    var active: Bool
    var version: Int
}

struct RouteDTO: Decodable, Sendable {
    var id: UUID
    var name: String
    var steps: [String]
    var active: Bool
    var version: Int
}

struct SLAPolicyDTO: Decodable, Sendable {
    var id: UUID
    var departmentId: UUID
    var priority: String
    var firstResponseMinutes: Int
    var resolutionMinutes: Int
    var version: Int
}

struct AuditDTO: Decodable, Sendable {
    var id: UUID
    var at: Date
    var service: String
    var actorId: UUID?
    var entityKind: String
    var entityId: String
    var action: String
    var requestId: String?
}

/// The ticket vocabulary as people read it.
enum Vocabulary {
    static let statuses = [
        "draft", "submitted", "under_review", "pending_approval", "assigned", "in_progress", "pending", "postponed",
        "resolved", "closed", "rejected", "withdrawn",
    ]
    static let priorities = ["low", "medium", "high", "urgent"]

    /// `under_review` → "Under review".
    static func label(_ code: String) -> String {
        let words = code.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }

    /// The Bootstrap colour of a status badge.
    static func tone(ofStatus status: String) -> String {
        switch status {
        case "draft", "withdrawn": "secondary"
        case "submitted", "under_review": "info"
        case "pending_approval", "pending", "postponed": "warning"
        case "assigned", "in_progress": "primary"
        case "resolved", "closed": "success"
        case "rejected": "danger"
        default: "secondary"
        }
    }

    static func tone(ofPriority priority: String) -> String {
        switch priority {
        case "urgent": "danger"
        case "high": "warning"
        case "medium": "info"
        default: "secondary"
        }
    }

    /// How an action's button reads.
    static func actionLabel(_ action: String) -> String {
        switch action {
        case "start_review": "Start review"
        case "request_approval": "Request approval"
        case "update_progress": "Update progress"
        case "request_info": "Request information"
        case "provide_info": "Provide information"
        default: label(action)
        }
    }
}

/// One option of a `<select>`.
struct Option {
    var value: String
    var label: String
    var selected: Bool

    /// Codes (statuses, priorities) labelled as people read them.
    static func codes(_ codes: [String], selected: String?) -> [Option] {
        codes.map { Option(value: $0, label: Vocabulary.label($0), selected: $0 == selected) }
    }

    /// Departments by name, their ids as values.
    static func departments(_ names: [UUID: String], selected: (UUID) -> Bool = { _ in false }) -> [Option] {
        names.sorted { $0.value < $1.value }.map { Option(value: $0.key.lowercased, label: $0.value, selected: selected($0.key)) }
    }
}

/// One labelled figure, for templates (which cannot iterate dictionaries) and charts.
struct Pair: Encodable {
    var key: String
    var label: String
    var value: Double

    /// The dictionary's entries: those named in `order` first, in that order, then the rest sorted.
    static func of(_ dictionary: [String: Int], order: [String] = []) -> [Pair] {
        let keys = order.filter { dictionary[$0] != nil } + dictionary.keys.filter { !order.contains($0) }.sorted()
        return keys.map { Pair(key: $0, label: Vocabulary.label($0), value: Double(dictionary[$0] ?? 0)) }
    }
}
