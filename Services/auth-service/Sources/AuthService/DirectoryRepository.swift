import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// All SQL of departments and employees. Interpolated values are bind parameters; every write is
/// one transaction with its audit row and event.
struct DirectoryRepository: Sendable {
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger

    static let employeeColumns = """
        id, email, full_name, department_id, job_title, is_department_head, is_ceo, active, roles,
        moderated_department_ids, created_at, updated_at, version
        """

    // MARK: Departments

    func departments() async throws -> [Department] {
        let rows = try await self.client.query(
            "SELECT id, name, code, created_at, updated_at, version FROM auth.departments ORDER BY name", logger: self.logger)
        var departments: [Department] = []
        for try await row in rows.decode((UUID, String, String, Date, Date, Int).self) { departments.append(Department(row: row)) }
        return departments
    }

    func department(_ id: UUID, on connection: PostgresConnection? = nil) async throws -> Department? {
        let query: PostgresQuery = "SELECT id, name, code, created_at, updated_at, version FROM auth.departments WHERE id = \(id)"
        let rows = try await self.run(query, on: connection)
        for try await row in rows.decode((UUID, String, String, Date, Date, Int).self) { return Department(row: row) }
        return nil
    }

    func createDepartment(name: String, code: String, by actor: AuditActor) async throws -> Department {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                INSERT INTO auth.departments (id, name, code) VALUES (\(UUID.v7()), \(name), \(code))
                RETURNING id, name, code, created_at, updated_at, version
                """, logger: self.logger)
            let department = try await Self.one(rows.decode((UUID, String, String, Date, Date, Int).self)).map(Department.init(row:))!
            try await self.outbox.record(Change(
                type: .departmentCreated, action: "department.create", subject: .init(kind: "department", id: department.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: department)), on: connection, logger: self.logger)
            return department
        }
    }

    func updateDepartment(_ id: UUID, name: String?, code: String?, version: Int, by actor: AuditActor) async throws -> Department {
        try await self.client.transaction(logger: self.logger) { connection in
            guard let before = try await self.department(id, on: connection) else { throw Problem.notFound("Department \(id.lowercased)") }
            guard before.version == version else { throw Problem.versionConflict(expected: version, actual: before.version) }
            let rows = try await connection.query("""
                UPDATE auth.departments SET name = COALESCE(\(name), name), code = COALESCE(\(code), code),
                    updated_at = now(), version = version + 1
                WHERE id = \(id) AND version = \(version)
                RETURNING id, name, code, created_at, updated_at, version
                """, logger: self.logger)
            guard let department = try await Self.one(rows.decode((UUID, String, String, Date, Date, Int).self)).map(Department.init(row:)) else {
                throw Problem.versionConflict(expected: version, actual: version + 1)
            }
            try await self.outbox.record(Change(
                type: .departmentUpdated, action: "department.update", subject: .init(kind: "department", id: id.lowercased),
                actorId: actor.id, requestId: actor.requestId,
                before: try JSONValue(encoding: before), after: try JSONValue(encoding: department)), on: connection, logger: self.logger)
            return department
        }
    }

    // MARK: Employees

    /// An employee with the password hash, for sign-in only.
    func credentials(email: String) async throws -> (Employee, String?)? {
        let rows = try await self.client.query(
            "SELECT \(unescaped: Self.employeeColumns), password_hash FROM auth.employees WHERE email = \(email)", logger: self.logger)
        for try await row in rows {
            return (try Employee(row: row), try row.makeRandomAccess()["password_hash"].decode(String?.self, context: .default))
        }
        return nil
    }

    func employee(_ id: UUID, on connection: PostgresConnection? = nil, lock: Bool = false) async throws -> Employee? {
        let query: PostgresQuery = "SELECT \(unescaped: Self.employeeColumns) FROM auth.employees WHERE id = \(id) \(unescaped: lock ? "FOR UPDATE" : "")"
        let rows = try await self.run(query, on: connection)
        for try await row in rows { return try Employee(row: row) }
        return nil
    }

    struct EmployeeFilter: Sendable {
        var departmentId: UUID?
        var role: Role?
        var active: Bool?
        var isDepartmentHead: Bool?
        var isCeo: Bool?
        var text: String?
        var after: UUID?
        var limit: Int
    }

    /// A page of employees ordered by id (time-ordered UUIDs), after the cursor's id.
    func employees(_ filter: EmployeeFilter) async throws -> [Employee] {
        let pattern = filter.text.map { "%" + $0.replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%" }
        let rows = try await self.client.query("""
            SELECT \(unescaped: Self.employeeColumns) FROM auth.employees
            WHERE (\(filter.departmentId)::uuid IS NULL OR department_id = \(filter.departmentId))
              AND (\(filter.role?.rawValue)::text IS NULL OR \(filter.role?.rawValue) = ANY (roles))
              AND (\(filter.active)::boolean IS NULL OR active = \(filter.active))
              AND (\(filter.isDepartmentHead)::boolean IS NULL OR is_department_head = \(filter.isDepartmentHead))
              AND (\(filter.isCeo)::boolean IS NULL OR is_ceo = \(filter.isCeo))
              AND (\(pattern)::text IS NULL OR full_name ILIKE \(pattern) OR email ILIKE \(pattern))
              AND (\(filter.after)::uuid IS NULL OR id > \(filter.after))
            ORDER BY id LIMIT \(filter.limit)
            """, logger: self.logger)
        var employees: [Employee] = []
        for try await row in rows { employees.append(try Employee(row: row)) }
        return employees
    }

    struct NewEmployee: Sendable {
        var email: String
        var fullName: String
        var departmentId: UUID?
        var jobTitle: String
        var isDepartmentHead: Bool
        var isCeo: Bool
        var passwordHash: String?
        var roles: [Role]
        var moderatedDepartmentIds: [UUID]
    }

    func createEmployee(_ new: NewEmployee, by actor: AuditActor) async throws -> Employee {
        try await self.writing {
            try await self.client.transaction(logger: self.logger) { connection in
                let rows = try await connection.query("""
                    INSERT INTO auth.employees (id, email, full_name, department_id, job_title, is_department_head, is_ceo,
                        password_hash, roles, moderated_department_ids)
                    VALUES (\(UUID.v7()), \(new.email), \(new.fullName), \(new.departmentId), \(new.jobTitle), \(new.isDepartmentHead),
                        \(new.isCeo), \(new.passwordHash), \(new.roles.map(\.rawValue)), \(new.moderatedDepartmentIds))
                    RETURNING \(unescaped: Self.employeeColumns)
                    """, logger: self.logger)
                let employee = try await Self.oneEmployee(rows)
                try await self.outbox.record(Change(
                    type: .employeeCreated, action: "employee.create", subject: .init(kind: "employee", id: employee.id.lowercased),
                    actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: employee)), on: connection, logger: self.logger)
                return employee
            }
        }
    }

    struct EmployeeChanges: Sendable {
        var fullName: String?
        var departmentId: UUID?
        var jobTitle: String?
        var isDepartmentHead: Bool?
        var isCeo: Bool?
        var active: Bool?
        var passwordHash: String?
    }

    /// Applies changes at `version`; deactivation revokes every session at once.
    func updateEmployee(_ id: UUID, _ changes: EmployeeChanges, version: Int, by actor: AuditActor) async throws -> Employee {
        try await self.writing {
            try await self.client.transaction(logger: self.logger) { connection in
                guard let before = try await self.employee(id, on: connection, lock: true) else { throw Problem.notFound("Employee \(id.lowercased)") }
                guard before.version == version else { throw Problem.versionConflict(expected: version, actual: before.version) }
                let rows = try await connection.query("""
                    UPDATE auth.employees SET
                        full_name = COALESCE(\(changes.fullName), full_name),
                        department_id = COALESCE(\(changes.departmentId), department_id),
                        job_title = COALESCE(\(changes.jobTitle), job_title),
                        is_department_head = COALESCE(\(changes.isDepartmentHead), is_department_head),
                        is_ceo = COALESCE(\(changes.isCeo), is_ceo),
                        active = COALESCE(\(changes.active), active),
                        password_hash = COALESCE(\(changes.passwordHash), password_hash),
                        updated_at = now(), version = version + 1
                    WHERE id = \(id)
                    RETURNING \(unescaped: Self.employeeColumns)
                    """, logger: self.logger)
                let employee = try await Self.oneEmployee(rows)
                try await self.outbox.record(Change(
                    type: .employeeUpdated, action: "employee.update", subject: .init(kind: "employee", id: id.lowercased),
                    actorId: actor.id, requestId: actor.requestId,
                    before: try JSONValue(encoding: before), after: try JSONValue(encoding: employee)), on: connection, logger: self.logger)
                if before.hasAccess && !employee.hasAccess || changes.passwordHash != nil {
                    try await self.revokeSessions(of: id, on: connection)
                }
                if before.hasAccess != employee.hasAccess {
                    try await self.recordAccessChange(before: before, after: employee, by: actor, on: connection)
                }
                return employee
            }
        }
    }

    /// Replaces an employee's roles and moderated departments. Losing access revokes every session.
    func setAccess(_ id: UUID, roles: [Role], moderates: [UUID], by actor: AuditActor) async throws -> Employee {
        try await self.writing {
            try await self.client.transaction(logger: self.logger) { connection in
                guard let before = try await self.employee(id, on: connection, lock: true) else { throw Problem.notFound("Employee \(id.lowercased)") }
                let rows = try await connection.query("""
                    UPDATE auth.employees SET roles = \(roles.map(\.rawValue)), moderated_department_ids = \(moderates),
                        updated_at = now(), version = version + 1
                    WHERE id = \(id)
                    RETURNING \(unescaped: Self.employeeColumns)
                    """, logger: self.logger)
                let employee = try await Self.oneEmployee(rows)
                if Set(before.roles) != Set(employee.roles) || Set(before.moderatedDepartmentIds) != Set(employee.moderatedDepartmentIds)
                    || roles.isEmpty {
                    if !Set(before.roles).isSubset(of: Set(employee.roles)) || !employee.hasAccess {
                        try await self.revokeSessions(of: id, on: connection)
                    }
                    try await self.recordAccessChange(before: before, after: employee, by: actor, on: connection)
                }
                return employee
            }
        }
    }

    private func recordAccessChange(before: Employee, after: Employee, by actor: AuditActor, on connection: PostgresConnection) async throws {
        struct Access: Encodable {
            var active: Bool
            var roles: [Role]
            var moderatedDepartmentIds: [UUID]
        }
        try await self.outbox.record(Change(
            type: .employeeAccessChanged, action: "employee.access", subject: .init(kind: "employee", id: after.id.lowercased),
            actorId: actor.id, requestId: actor.requestId,
            before: try JSONValue(encoding: Access(active: before.active, roles: before.roles, moderatedDepartmentIds: before.moderatedDepartmentIds)),
            after: try JSONValue(encoding: Access(active: after.active, roles: after.roles, moderatedDepartmentIds: after.moderatedDepartmentIds)),
            details: ["employee_id": .string(after.id.lowercased), "has_access": .bool(after.hasAccess)]), on: connection, logger: self.logger)
    }

    /// Revokes every refresh token of an employee: their next refresh fails.
    func revokeSessions(of employee: UUID, on connection: PostgresConnection) async throws {
        try await connection.query("""
            UPDATE auth.refresh_tokens SET revoked_at = now() WHERE employee_id = \(employee) AND revoked_at IS NULL
            """, logger: self.logger)
    }

    /// Maps constraint violations to problems naming the field.
    func writing<T>(_ body: () async throws -> sending T) async throws -> sending T {
        do {
            return try await body()
        } catch let error as PSQLError where error.isUniqueViolation {
            let constraint = error.serverInfo?[.constraintName] ?? ""
            switch constraint {
            case "employees_email": throw Problem.conflict(kind: "duplicate", "An employee with this email exists")
            case "employees_one_head": throw Problem.conflict(kind: "duplicate", "The department already has an active head")
            case "employees_one_ceo": throw Problem.conflict(kind: "duplicate", "The organisation already has an active CEO")
            default: throw Problem.conflict(kind: "duplicate", "A record with these values exists")
            }
        } catch let error as PSQLError where error.isForeignKeyViolation {
            throw Problem.validation([.init(field: "department_id", message: "is not a known department")])
        }
    }

    /// Runs a query on `connection` when inside a transaction, else on the pool.
    func run(_ query: PostgresQuery, on connection: PostgresConnection?) async throws -> PostgresRowSequence {
        if let connection { return try await connection.query(query, logger: self.logger) }
        return try await self.client.query(query, logger: self.logger)
    }

    static func one<Row>(_ rows: some AsyncSequence<Row, any Error>) async throws -> Row? {
        for try await row in rows { return row }
        return nil
    }

    static func oneEmployee(_ rows: PostgresRowSequence) async throws -> Employee {
        for try await row in rows { return try Employee(row: row) }
        throw Problem.notFound("Employee")
    }
}

extension Department {
    init(row: (UUID, String, String, Date, Date, Int)) {
        self.init(id: row.0, name: row.1, code: row.2, createdAt: row.3, updatedAt: row.4, version: row.5)
    }
}

extension Employee {
    /// Reads the first thirteen columns in `DirectoryRepository.employeeColumns` order.
    init(row: PostgresRow) throws {
        let (id, email, fullName, departmentId, jobTitle, isHead, isCeo, active, roles, moderates, createdAt, updatedAt, version) =
            try row.decode((UUID, String, String, UUID?, String, Bool, Bool, Bool, [String], [UUID], Date, Date, Int).self, context: .default)
        self.init(
            id: id, email: email, fullName: fullName, departmentId: departmentId, jobTitle: jobTitle, isDepartmentHead: isHead,
            isCeo: isCeo, active: active, roles: roles.compactMap(Role.init(rawValue:)).sorted(), moderatedDepartmentIds: moderates,
            createdAt: createdAt, updatedAt: updatedAt, version: version)
    }
}
