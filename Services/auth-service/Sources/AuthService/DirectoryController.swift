import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdBcrypt
import NIOPosix
import PostgresNIO
import ServiceKit

/// Departments, employees and HDMS access. Reads are open to staff and services (pickers,
/// approver look-ups); writes are admin-only.
struct DirectoryController: Sendable {
    let directory: DirectoryRepository
    let importer: DirectoryImporter
    let bcryptCost: UInt8

    func register(on router: Router<AppRequestContext>) {
        let departments = router.group("api/v1/departments")
        departments.get(use: self.listDepartments)
        departments.post(use: self.createDepartment)
        departments.get(":id", use: self.getDepartment)
        departments.patch(":id", use: self.updateDepartment)

        let employees = router.group("api/v1/employees")
        employees.get(use: self.listEmployees)
        employees.post(use: self.createEmployee)
        employees.post("import", use: self.importer.handle)
        employees.get(":id", use: self.getEmployee)
        employees.patch(":id", use: self.updateEmployee)
        employees.put(":id/access", use: self.setAccess)
    }

    // MARK: Departments

    struct DepartmentRequest: Decodable {
        var name: String?
        var code: String?
        var version: Int?
    }

    @Sendable func listDepartments(_ request: Request, context: AppRequestContext) async throws -> Page<Department> {
        _ = try context.requireIdentity()
        return Page(items: try await self.directory.departments(), nextCursor: nil)
    }

    @Sendable func getDepartment(_ request: Request, context: AppRequestContext) async throws -> Department {
        _ = try context.requireIdentity()
        let id = try context.uuidParameter("id")
        guard let department = try await self.directory.department(id) else { throw Problem.notFound("Department \(id.lowercased)") }
        return department
    }

    @Sendable func createDepartment(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Department> {
        let actor = try self.admin(context)
        let body = try await request.decode(as: DepartmentRequest.self, context: context)
        var check = Validation()
        let name = check.require(body.name, "name", maxLength: 120)
        let code = check.require(body.code ?? body.name.map(Self.code(from:)), "code", maxLength: 20)
        try check.finish()
        guard let name, let code else { throw Problem.badRequest("name is required") }
        let department = try await refusingDuplicates(Problem.conflict(kind: "duplicate", "A department with this name or code exists")) {
            try await self.directory.createDepartment(name: name, code: code.uppercased(), by: actor)
        }
        return EditedResponse(status: .created, response: department)
    }

    @Sendable func updateDepartment(_ request: Request, context: AppRequestContext) async throws -> Department {
        let actor = try self.admin(context)
        let id = try context.uuidParameter("id")
        let body = try await request.decode(as: DepartmentRequest.self, context: context)
        var check = Validation()
        let name = check.limit(body.name, "name", maxLength: 120)
        let code = check.limit(body.code, "code", maxLength: 20)
        if body.version == nil { check.fail("version", "is required") }
        if name?.isEmpty == true { check.fail("name", "must not be blank") }
        try check.finish()
        return try await refusingDuplicates(Problem.conflict(kind: "duplicate", "A department with this name or code exists")) {
            try await self.directory.updateDepartment(id, name: name, code: code?.uppercased(), version: body.version ?? 0, by: actor)
        }
    }

    static func code(from name: String) -> String {
        String(name.uppercased().filter { $0.isLetter || $0.isNumber }.prefix(10))
    }

    // MARK: Employees

    struct EmployeeRequest: Decodable {
        var email: String?
        var fullName: String?
        var departmentId: UUID?
        var jobTitle: String?
        var isDepartmentHead: Bool?
        var isCeo: Bool?
        var active: Bool?
        var password: String?
        var roles: [Role]?
        var moderatedDepartmentIds: [UUID]?
        var version: Int?
    }

    struct AccessRequest: Decodable {
        var roles: [Role]?
        var moderatedDepartmentIds: [UUID]?
    }

    @Sendable func listEmployees(_ request: Request, context: AppRequestContext) async throws -> Page<Employee> {
        let identity = try context.requireIdentity()
        guard identity.isStaff else { throw Problem.forbidden("Only staff may browse the directory") }
        let query = request.uri.queryParameters
        let limit = try PageLimit(query["limit"].map(String.init)).value
        let sortName = "id"
        let after = try query["cursor"].map { try Cursor(decoding: String($0), sort: sortName).id }
        var reader = QueryReader(query)
        var filter = DirectoryRepository.EmployeeFilter(
            departmentId: reader.uuid("department_id"), role: reader.value("role", as: Role.self), active: reader.bool("active"),
            isDepartmentHead: reader.bool("is_department_head"), isCeo: reader.bool("is_ceo"), text: nil,
            after: after, limit: limit + 1)
        filter.text = reader.check.limit(query.get("q"), "q", maxLength: 200)
        try reader.finish()
        var employees = try await self.directory.employees(filter)
        var next: String?
        if employees.count > limit {
            employees.removeLast()
            next = employees.last.map { Cursor(key: "", id: $0.id, sort: sortName).encoded }
        }
        return Page(items: employees, nextCursor: next)
    }

    @Sendable func getEmployee(_ request: Request, context: AppRequestContext) async throws -> Employee {
        let identity = try context.requireIdentity()
        let id = try context.uuidParameter("id")
        guard identity.isStaff || identity.userID == id else { throw Problem.forbidden("You may only read your own record") }
        guard let employee = try await self.directory.employee(id) else { throw Problem.notFound("Employee \(id.lowercased)") }
        return employee
    }

    @Sendable func createEmployee(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<Employee> {
        let actor = try self.admin(context)
        let body = try await request.decode(as: EmployeeRequest.self, context: context)
        var check = Validation()
        let email = check.email(body.email)
        let fullName = check.require(body.fullName, "full_name", maxLength: 200)
        let jobTitle = check.limit(body.jobTitle, "job_title", maxLength: 200) ?? ""
        if let password = body.password, password.count < 8 || password.utf8.count > 72 {
            check.fail("password", "must be 8 to 72 bytes long")
        }
        try check.finish()
        guard let email, let fullName else { throw Problem.badRequest("email and full_name are required") }
        try await self.requireDepartments([body.departmentId].compactMap { $0 } , field: "department_id")
        try await self.requireDepartments(body.moderatedDepartmentIds ?? [], field: "moderated_department_ids")
        let hash = try await self.hash(body.password)
        let employee = try await self.directory.createEmployee(.init(
            email: email, fullName: fullName, departmentId: body.departmentId, jobTitle: jobTitle,
            isDepartmentHead: body.isDepartmentHead ?? false, isCeo: body.isCeo ?? false, passwordHash: hash,
            roles: Array(Set(body.roles ?? [])).sorted(), moderatedDepartmentIds: body.moderatedDepartmentIds ?? []), by: actor)
        return EditedResponse(status: .created, response: employee)
    }

    @Sendable func updateEmployee(_ request: Request, context: AppRequestContext) async throws -> Employee {
        let actor = try self.admin(context)
        let id = try context.uuidParameter("id")
        let body = try await request.decode(as: EmployeeRequest.self, context: context)
        var check = Validation()
        let fullName = check.limit(body.fullName, "full_name", maxLength: 200)
        if fullName?.isEmpty == true { check.fail("full_name", "must not be blank") }
        let jobTitle = check.limit(body.jobTitle, "job_title", maxLength: 200)
        if body.email != nil { check.fail("email", "cannot be changed; it identifies the employee in imports") }
        if body.roles != nil || body.moderatedDepartmentIds != nil { check.fail("roles", "are changed with PUT /api/v1/employees/{id}/access") }
        if let password = body.password, password.count < 8 || password.utf8.count > 72 { check.fail("password", "must be 8 to 72 bytes long") }
        if body.version == nil { check.fail("version", "is required") }
        try check.finish()
        try await self.requireDepartments([body.departmentId].compactMap { $0 }, field: "department_id")
        let hash = try await self.hash(body.password)
        return try await self.directory.updateEmployee(id, .init(
            fullName: fullName, departmentId: body.departmentId, jobTitle: jobTitle, isDepartmentHead: body.isDepartmentHead,
            isCeo: body.isCeo, active: body.active, passwordHash: hash), version: body.version ?? 0, by: actor)
    }

    @Sendable func setAccess(_ request: Request, context: AppRequestContext) async throws -> Employee {
        let actor = try self.admin(context)
        let id = try context.uuidParameter("id")
        let body = try await request.decode(as: AccessRequest.self, context: context)
        guard let roles = body.roles else { throw Problem.validation([.init(field: "roles", message: "is required (an empty list removes HDMS access)")]) }
        let moderates = body.moderatedDepartmentIds ?? []
        if !moderates.isEmpty && !roles.contains(.moderator) {
            throw Problem.validation([.init(field: "moderated_department_ids", message: "requires the moderator role")])
        }
        try await self.requireDepartments(moderates, field: "moderated_department_ids")
        return try await self.directory.setAccess(id, roles: Array(Set(roles)).sorted(), moderates: Array(Set(moderates)), by: actor)
    }

    // MARK: Helpers

    private func admin(_ context: AppRequestContext) throws -> AuditActor {
        try context.require(.admin)
        return context.actor
    }

    private func hash(_ password: String?) async throws -> String? {
        guard let password else { return nil }
        let cost = self.bcryptCost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    private func requireDepartments(_ ids: [UUID], field: String) async throws {
        guard !ids.isEmpty else { return }
        let known = Set(try await self.directory.departments().map(\.id))
        if let unknown = ids.first(where: { !known.contains($0) }) {
            throw Problem.validation([.init(field: field, message: "\(unknown.lowercased) is not a known department")])
        }
    }
}
