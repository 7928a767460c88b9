/// The HDMS access roles an admin grants (DOMAIN.md "HDMS access").
public enum Role: String, Codable, Sendable, CaseIterable, Comparable {
    case requestor
    case moderator
    case assignee
    case admin

    public static func < (lhs: Role, rhs: Role) -> Bool {
        Role.allCases.firstIndex(of: lhs)! < Role.allCases.firstIndex(of: rhs)!
    }

    /// Staff see internal notes and work tickets; requestors do not.
    public var isStaff: Bool { self != .requestor }
}

/// The services of the suite, by the names used as token audiences and client ids.
public enum ServiceName: String, Codable, Sendable, CaseIterable {
    case auth = "auth-service"
    case tickets = "ticket-service"
    case communication = "communication-service"
    case files = "file-service"
    case frontend = "frontend-service"

    /// The schema this service owns in the shared database.
    public var schema: String {
        switch self {
        case .auth: "auth"
        case .tickets: "tickets"
        case .communication: "comms"
        case .files: "files"
        case .frontend: "frontend"
        }
    }

    /// The service's default HTTP port.
    public var defaultPort: Int {
        switch self {
        case .frontend: 8080
        case .auth: 8081
        case .tickets: 8082
        case .communication: 8083
        case .files: 8084
        }
    }
}
