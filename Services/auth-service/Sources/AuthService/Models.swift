import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird

/// A department of the organisation.
struct Department: Codable, Sendable, Equatable {
    var id: UUID
    var name: String
    var code: String
    var createdAt: Date
    var updatedAt: Date
    var version: Int
}

/// An employee as the API shows it. The password hash never leaves the repository.
struct Employee: Codable, Sendable, Equatable {
    var id: UUID
    var email: String
    var fullName: String
    var departmentId: UUID?
    var jobTitle: String
    var isDepartmentHead: Bool
    var isCeo: Bool
    var active: Bool
    var roles: [Role]
    var moderatedDepartmentIds: [UUID]
    var createdAt: Date
    var updatedAt: Date
    var version: Int

    /// Whether the employee may sign in to HDMS at all.
    var hasAccess: Bool { self.active && !self.roles.isEmpty }
}

/// The `user` object of a login answer and `GET /auth/me`.
struct UserSummary: Codable, Sendable {
    var id: UUID
    var email: String
    var fullName: String
    var departmentId: UUID?
    var roles: [Role]
    var moderatedDepartmentIds: [UUID]
    var isDepartmentHead: Bool
    var isCeo: Bool
    var jobTitle: String

    init(_ employee: Employee) {
        self.id = employee.id
        self.email = employee.email
        self.fullName = employee.fullName
        self.departmentId = employee.departmentId
        self.roles = employee.roles
        self.moderatedDepartmentIds = employee.moderatedDepartmentIds
        self.isDepartmentHead = employee.isDepartmentHead
        self.isCeo = employee.isCeo
        self.jobTitle = employee.jobTitle
    }
}

extension Department: ResponseEncodable {}
extension Employee: ResponseEncodable {}
extension UserSummary: ResponseEncodable {}
