import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit

/// A kind of request (hardware, payroll, ...), optionally owned by a department.
struct Category: Codable, Sendable, Equatable, ResponseEncodable {
    var id: UUID
    var name: String
    var departmentId: UUID?
    var active: Bool
    var createdAt: Date
    var updatedAt: Date
    var version: Int

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.id, forKey: .id)
        try container.encode(self.name, forKey: .name)
        try container.encode(self.departmentId, forKey: .departmentId)
        try container.encode(self.active, forKey: .active)
        try container.encode(self.createdAt, forKey: .createdAt)
        try container.encode(self.updatedAt, forKey: .updatedAt)
        try container.encode(self.version, forKey: .version)
    }
}

/// The SQL of categories.
struct CategoryRepository: Sendable {
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger
    typealias Row = (UUID, String, UUID?, Bool, Date, Date, Int)
    static let columns = "id, name, department_id, active, created_at, updated_at, version"
    static let duplicate = Problem.conflict(kind: "duplicate", "A category with this name exists")

    func all() async throws -> [Category] {
        let rows = try await self.client.query("SELECT \(unescaped: Self.columns) FROM tickets.categories ORDER BY name", logger: self.logger)
        var categories: [Category] = []
        for try await row in rows.decode(Row.self) { categories.append(Category(row)) }
        return categories
    }

    func category(_ id: UUID) async throws -> Category? {
        let rows = try await self.client.query("SELECT \(unescaped: Self.columns) FROM tickets.categories WHERE id = \(id)", logger: self.logger)
        for try await row in rows.decode(Row.self) { return Category(row) }
        return nil
    }

    func create(name: String, department: UUID?, by actor: AuditActor) async throws -> Category {
        try await refusingDuplicates(Self.duplicate) {
            try await self.client.transaction(logger: self.logger) { connection in
                let rows = try await connection.query("""
                    INSERT INTO tickets.categories (id, name, department_id) VALUES (\(UUID.v7()), \(name), \(department))
                    RETURNING \(unescaped: Self.columns)
                    """, logger: self.logger)
                var created: Category?
                for try await row in rows.decode(Row.self) { created = Category(row) }
                guard let category = created else { throw Problem.internalError(requestID: actor.requestId) }
                try await self.outbox.record(Change(
                    type: .configChanged, action: "category.create", subject: .init(kind: "category", id: category.id.lowercased),
                    actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: category)), on: connection, logger: self.logger)
                return category
            }
        }
    }

    func update(_ id: UUID, name: String?, department: UUID?, active: Bool?, version: Int, by actor: AuditActor) async throws -> Category {
        try await refusingDuplicates(Self.duplicate) {
            try await self.client.transaction(logger: self.logger) { connection in
                guard let before = try await self.category(id) else { throw Problem.notFound("Category \(id.lowercased)") }
                let rows = try await connection.query("""
                    UPDATE tickets.categories SET name = COALESCE(\(name), name), department_id = COALESCE(\(department), department_id),
                        active = COALESCE(\(active), active), updated_at = now(), version = version + 1
                    WHERE id = \(id) AND version = \(version)
                    RETURNING \(unescaped: Self.columns)
                    """, logger: self.logger)
                var updated: Category?
                for try await row in rows.decode(Row.self) { updated = Category(row) }
                guard let category = updated else { throw Problem.versionConflict(expected: version, actual: before.version) }
                try await self.outbox.record(Change(
                    type: .configChanged, action: "category.update", subject: .init(kind: "category", id: id.lowercased),
                    actorId: actor.id, requestId: actor.requestId,
                    before: try JSONValue(encoding: before), after: try JSONValue(encoding: category)), on: connection, logger: self.logger)
                return category
            }
        }
    }
}

extension Category {
    init(_ row: CategoryRepository.Row) {
        self.init(id: row.0, name: row.1, departmentId: row.2, active: row.3, createdAt: row.4, updatedAt: row.5, version: row.6)
    }
}

/// `/api/v1/categories`: everyone reads, admins write.
struct CategoriesController: Sendable {
    let categories: CategoryRepository
    let directory: DirectoryClient

    struct Body: Decodable {
        var name: String?
        var departmentId: UUID?
        var active: Bool?
        var version: Int?
    }

    func register(on router: Router<AppRequestContext>) {
        let group = router.group("api/v1/categories")
        group.get { _, context -> Page<Category> in
            _ = try context.requireIdentity()
            return Page(items: try await self.categories.all(), nextCursor: nil)
        }
        group.post { request, context -> EditedResponse<Category> in
            try context.require(.admin)
            let body = try await request.decode(as: Body.self, context: context)
            var check = Validation()
            let name = check.require(body.name, "name", maxLength: 120)
            try check.finish()
            try await self.checkDepartment(body.departmentId)
            return EditedResponse(status: .created, response: try await self.categories.create(name: name ?? "", department: body.departmentId, by: context.actor))
        }
        group.patch(":id") { request, context -> Category in
            try context.require(.admin)
            let id = try context.uuidParameter("id")
            let body = try await request.decode(as: Body.self, context: context)
            var check = Validation()
            let name = check.limit(body.name, "name", maxLength: 120)
            if name?.isEmpty == true { check.fail("name", "must not be blank") }
            if body.version == nil { check.fail("version", "is required") }
            try check.finish()
            try await self.checkDepartment(body.departmentId)
            return try await self.categories.update(id, name: name, department: body.departmentId, active: body.active, version: body.version ?? 0, by: context.actor)
        }
    }

    private func checkDepartment(_ id: UUID?) async throws {
        if let id, !(try await self.directory.departments().contains { $0.id == id }) {
            throw Problem.validation([.init(field: "department_id", message: "is not a known department")])
        }
    }
}
