import BaseModel
import Foundation
import HDMSProtocol
import Synchronization

/// An employee as auth-service's API describes it, for other services.
public struct DirectoryEmployee: Codable, Sendable, Equatable {
    public var id: UUID
    public var email: String
    public var fullName: String
    public var departmentId: UUID?
    public var jobTitle: String
    public var isDepartmentHead: Bool
    public var isCeo: Bool
    public var active: Bool
    public var roles: [Role]
    public var moderatedDepartmentIds: [UUID]
    /// The row version, for writes that must not overwrite a newer change.
    public var version: Int?
}

/// A department as auth-service's API describes it.
public struct DirectoryDepartment: Codable, Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var code: String
    /// The row version, for writes that must not overwrite a newer change.
    public var version: Int?
}

/// Typed, briefly cached look-ups in auth-service's directory, made with this service's own
/// service token (approver resolution, pickers, notification recipients).
public final class DirectoryClient: Sendable {
    private struct Entry<Value: Sendable>: Sendable {
        var value: Value
        var expires: ContinuousClock.Instant
    }

    private struct Items<Item: Decodable>: Decodable { var items: [Item] }

    private let http: ServiceHTTPClient
    private let ttl: Duration
    private let employees = Mutex<[UUID: Entry<DirectoryEmployee?>]>([:])
    private let queries = Mutex<[String: Entry<[DirectoryEmployee]>]>([:])
    private let departmentList = Mutex<Entry<[DirectoryDepartment]>?>(nil)

    public init(http: ServiceHTTPClient, ttl: Duration = .seconds(30)) {
        self.http = http
        self.ttl = ttl
    }

    /// One employee, or nil when there is none with that id.
    public func employee(_ id: UUID) async throws -> DirectoryEmployee? {
        if let cached = self.employees.withLock({ $0[id] }), cached.expires > .now { return cached.value }
        let value = try await self.http.get("/api/v1/employees/\(id.lowercased)", as: DirectoryEmployee.self)
        self.employees.withLock { $0[id] = Entry(value: value, expires: .now + self.ttl) }
        return value
    }

    /// The active head of a department, if it has one.
    public func head(of department: UUID) async throws -> DirectoryEmployee? {
        try await self.search("is_department_head=true&active=true&department_id=\(department.lowercased)").first
    }

    /// The active CEO, if there is one.
    public func ceo() async throws -> DirectoryEmployee? {
        try await self.search("is_ceo=true&active=true").first
    }

    /// Employees matching a query of `GET /api/v1/employees` (first page of 100).
    public func search(_ query: String) async throws -> [DirectoryEmployee] {
        if let cached = self.queries.withLock({ $0[query] }), cached.expires > .now { return cached.value }
        let items = try await self.http.get("/api/v1/employees?limit=100&\(query)", as: Items<DirectoryEmployee>.self)?.items ?? []
        self.queries.withLock { $0[query] = Entry(value: items, expires: .now + self.ttl) }
        return items
    }

    /// Every department.
    public func departments() async throws -> [DirectoryDepartment] {
        if let cached = self.departmentList.withLock({ $0 }), cached.expires > .now { return cached.value }
        let items = try await self.http.get("/api/v1/departments", as: Items<DirectoryDepartment>.self)?.items ?? []
        self.departmentList.withLock { $0 = Entry(value: items, expires: .now + self.ttl) }
        return items
    }

    /// Forgets everything cached (on `employee.access_changed` and directory events).
    public func invalidate() {
        self.employees.withLock { $0.removeAll() }
        self.queries.withLock { $0.removeAll() }
        self.departmentList.withLock { $0 = nil }
    }
}
