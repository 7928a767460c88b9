import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit

/// A step of an approval route: a position whose holder decides.
enum ApprovalPosition: Codable, Sendable, Equatable {
    /// The head of the requestor's department.
    case headOfRequestorDepartment
    /// The head of a named department (e.g. Finance).
    case headOfDepartment(UUID)
    /// The CEO.
    case ceo

    /// `head_of_requestor_department`, `head_of_department:<id>` or `ceo`.
    var code: String {
        switch self {
        case .headOfRequestorDepartment: "head_of_requestor_department"
        case .headOfDepartment(let id): "head_of_department:\(id.lowercased)"
        case .ceo: "ceo"
        }
    }

    init?(code: String) {
        switch code {
        case "head_of_requestor_department": self = .headOfRequestorDepartment
        case "ceo": self = .ceo
        default:
            guard code.hasPrefix("head_of_department:"), let id = UUID(uuidString: String(code.dropFirst("head_of_department:".count))) else { return nil }
            self = .headOfDepartment(id)
        }
    }

    init(from decoder: any Decoder) throws {
        let code = try decoder.singleValueContainer().decode(String.self)
        guard let position = ApprovalPosition(code: code) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unknown position \(code)"))
        }
        self = position
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.code)
    }
}

/// An admin-managed, ordered list of positions that must approve.
struct ApprovalRoute: Codable, Sendable, Equatable, ResponseEncodable {
    var id: UUID
    var name: String
    var steps: [ApprovalPosition]
    var active: Bool
    var createdAt: Date
    var updatedAt: Date
    var version: Int
}

/// One step's decision as `GET /tickets/{id}/approvals` shows it.
struct ApprovalDecision: Encodable, Sendable {
    var id: UUID
    var routeId: UUID
    var step: Int
    var position: String
    var approverId: UUID
    var decision: String
    var comment: String?
    var requestedAt: Date
    var decidedAt: Date?

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.routeId, forKey: .routeId)
        try container.encode(self.step, forKey: .step)
        try container.encode(self.position, forKey: .position)
        try container.encode(self.approverId, forKey: .approverId)
        try container.encode(self.decision, forKey: .decision)
        try container.encode(self.comment, forKey: .comment)
        try container.encode(self.requestedAt, forKey: .requestedAt)
        try container.encode(self.decidedAt, forKey: .decidedAt)
    }

    enum CodingKeys: String, CodingKey { case id, routeId, step, position, approverId, decision, comment, requestedAt, decidedAt }
}

/// The SQL of approval routes and decisions.
struct ApprovalRepository: Sendable {
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger
    static let columns = "id, name, steps::text, active, created_at, updated_at, version"
    static let duplicate = Problem.conflict(kind: "duplicate", "An approval route with this name exists")

    func routes() async throws -> [ApprovalRoute] {
        try await self.read("SELECT \(unescaped: Self.columns) FROM tickets.approval_routes ORDER BY name")
    }

    func route(_ id: UUID) async throws -> ApprovalRoute? {
        try await self.read("SELECT \(unescaped: Self.columns) FROM tickets.approval_routes WHERE id = \(id)").first
    }

    func create(name: String, steps: [ApprovalPosition], by actor: AuditActor) async throws -> ApprovalRoute {
        let json = String(decoding: try JSONEncoder().encode(steps), as: UTF8.self)
        return try await refusingDuplicates(Self.duplicate) {
            try await self.client.transaction(logger: self.logger) { connection in
                let rows = try await connection.query("""
                    INSERT INTO tickets.approval_routes (id, name, steps) VALUES (\(UUID.v7()), \(name), \(json)::jsonb)
                    RETURNING \(unescaped: Self.columns)
                    """, logger: self.logger)
                guard let route = try await Self.decode(rows).first else { throw Problem.internalError(requestID: actor.requestId) }
                try await self.outbox.record(Change(
                    type: .configChanged, action: "approval_route.create", subject: .init(kind: "approval_route", id: route.id.lowercased),
                    actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: route)), on: connection, logger: self.logger)
                return route
            }
        }
    }

    func update(_ id: UUID, name: String?, steps: [ApprovalPosition]?, active: Bool?, version: Int, by actor: AuditActor) async throws -> ApprovalRoute {
        let json = try steps.map { String(decoding: try JSONEncoder().encode($0), as: UTF8.self) }
        return try await refusingDuplicates(Self.duplicate) {
            try await self.client.transaction(logger: self.logger) { connection in
                guard let before = try await self.route(id) else { throw Problem.notFound("Approval route \(id.lowercased)") }
                let rows = try await connection.query("""
                    UPDATE tickets.approval_routes SET name = COALESCE(\(name), name), steps = COALESCE(\(json)::jsonb, steps),
                        active = COALESCE(\(active), active), updated_at = now(), version = version + 1
                    WHERE id = \(id) AND version = \(version)
                    RETURNING \(unescaped: Self.columns)
                    """, logger: self.logger)
                guard let route = try await Self.decode(rows).first else { throw Problem.versionConflict(expected: version, actual: before.version) }
                try await self.outbox.record(Change(
                    type: .configChanged, action: "approval_route.update", subject: .init(kind: "approval_route", id: id.lowercased),
                    actorId: actor.id, requestId: actor.requestId,
                    before: try JSONValue(encoding: before), after: try JSONValue(encoding: route)), on: connection, logger: self.logger)
                return route
            }
        }
    }

    func decisions(ticket: UUID) async throws -> [ApprovalDecision] {
        let rows = try await self.client.query("""
            SELECT id, route_id, step, position, approver_id, decision, comment, requested_at, decided_at
            FROM tickets.approvals WHERE ticket_id = \(ticket) ORDER BY requested_at, step
            """, logger: self.logger)
        var decisions: [ApprovalDecision] = []
        for try await row in rows.decode((UUID, UUID, Int, String, UUID, String, String?, Date, Date?).self) {
            decisions.append(ApprovalDecision(
                id: row.0, routeId: row.1, step: row.2, position: row.3, approverId: row.4, decision: row.5, comment: row.6,
                requestedAt: row.7, decidedAt: row.8))
        }
        return decisions
    }

    private func read(_ query: PostgresQuery) async throws -> [ApprovalRoute] {
        try await Self.decode(self.client.query(query, logger: self.logger))
    }

    static func decode(_ rows: PostgresRowSequence) async throws -> [ApprovalRoute] {
        var routes: [ApprovalRoute] = []
        for try await (id, name, steps, active, created, updated, version) in rows.decode((UUID, String, String, Bool, Date, Date, Int).self) {
            routes.append(ApprovalRoute(
                id: id, name: name, steps: try JSONDecoder().decode([ApprovalPosition].self, from: Data(steps.utf8)), active: active,
                createdAt: created, updatedAt: updated, version: version))
        }
        return routes
    }
}

/// The step an approval action leads to, worked out before the ticket's row is locked (it asks
/// auth-service who holds the position).
struct ApprovalPlan: Sendable {
    var routeId: UUID
    /// The step being decided (approve, decline) or nil when the route starts (request_approval).
    var decidedStep: Int?
    /// The next step and who holds its position, or nil when the route is complete.
    var next: (step: Int, position: ApprovalPosition, approver: UUID)?
}

/// Resolves positions to the employees who hold them, through auth-service's directory.
struct ApprovalPlanner: Sendable {
    let approvals: ApprovalRepository
    let directory: DirectoryClient

    func plan(_ action: TicketAction, ticket: Ticket, routeId: UUID?) async throws -> ApprovalPlan? {
        switch action {
        case .requestApproval:
            guard let routeId else { throw Problem.validation([.init(field: "route_id", message: "is required to request approval")]) }
            guard let route = try await self.approvals.route(routeId), route.active else {
                throw Problem.validation([.init(field: "route_id", message: "is not an active approval route")])
            }
            return ApprovalPlan(routeId: route.id, decidedStep: nil, next: try await self.step(0, of: route, ticket: ticket))
        case .approve, .decline:
            guard let routeId = ticket.approvalRouteId, let step = ticket.approvalStep, let route = try await self.approvals.route(routeId) else {
                return nil
            }
            let next = action == .approve && step + 1 < route.steps.count ? try await self.step(step + 1, of: route, ticket: ticket) : nil
            return ApprovalPlan(routeId: route.id, decidedStep: step, next: next)
        default:
            return nil
        }
    }

    private func step(_ index: Int, of route: ApprovalRoute, ticket: Ticket) async throws -> (step: Int, position: ApprovalPosition, approver: UUID) {
        let position = route.steps[index]
        let holder: DirectoryEmployee?
        switch position {
        case .headOfRequestorDepartment:
            let department = try await self.directory.employee(ticket.requestorId)?.departmentId
            holder = try await department.asyncMap { try await self.directory.head(of: $0) } ?? nil
        case .headOfDepartment(let department):
            holder = try await self.directory.head(of: department)
        case .ceo:
            holder = try await self.directory.ceo()
        }
        guard let holder else {
            throw Problem.conflict(kind: "no-approver", "Nobody holds the position \(position.code) (step \(index + 1) of \(route.name))")
        }
        return (index, position, holder.id)
    }
}

extension Optional {
    fileprivate func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
