import BaseModel
import Foundation
import HDMSProtocol
import HummingbirdBcrypt
import NIOPosix
import PostgresNIO
import ServiceKit
import ServiceLifecycle

/// Records the signing key once the database is migrated (retrying until it is), then stays
/// until shutdown: a service that returns early would end the whole service group.
struct SigningKeyRegistration: Service {
    let sessions: Sessions

    func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await self.sessions.registerSigningKey()
                break
            } catch {
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        try? await gracefulShutdown()
    }
}

/// The demo organisation of API.md: five departments and eight logins, password `hdms-demo`.
/// Seeding is idempotent: departments by name, employees by email.
enum DemoOrganisation {
    static let password = "hdms-demo"
    static let departments = [("IT", "IT"), ("Finance", "FIN"), ("HR", "HR"), ("Operations", "OPS"), ("Executive", "EXEC")]

    struct Person {
        var email: String
        var name: String
        var department: String
        var title: String
        var roles: [Role]
        var moderates: [String] = []
        var head = false
        var ceo = false
    }

    static let people = [
        Person(email: "admin@hdms.test", name: "Ada Admin", department: "IT", title: "Systems administrator", roles: [.admin]),
        Person(email: "moderator@hdms.test", name: "Morgan Moderator", department: "IT", title: "Service desk lead",
               roles: [.moderator], moderates: ["IT", "HR", "Operations"]),
        Person(email: "agent@hdms.test", name: "Alex Agent", department: "IT", title: "Support engineer", roles: [.assignee]),
        Person(email: "agent.ops@hdms.test", name: "Olive Operations", department: "Operations", title: "Facilities technician", roles: [.assignee]),
        Person(email: "requestor@hdms.test", name: "Riley Requestor", department: "HR", title: "HR officer", roles: [.requestor]),
        Person(email: "head.hr@hdms.test", name: "Harper Head", department: "HR", title: "Head of HR", roles: [.requestor], head: true),
        Person(email: "head.finance@hdms.test", name: "Finley Finance", department: "Finance", title: "Head of Finance",
               roles: [.requestor, .moderator], moderates: ["Finance"], head: true),
        Person(email: "ceo@hdms.test", name: "Casey Chief", department: "Executive", title: "Chief executive officer", roles: [.requestor], ceo: true),
    ]

    static func seed(_ context: ServiceContext) async throws {
        let settings = try AuthSettings(context.configuration.environment)
        let cost = settings.bcryptCost
        let hash = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
        let logger = context.logger
        try await context.postgres.transaction(logger: logger) { connection in
            var ids: [String: UUID] = [:]
            for (name, code) in departments {
                let rows = try await connection.query("""
                    INSERT INTO auth.departments (id, name, code) VALUES (\(UUID.v7()), \(name), \(code))
                    ON CONFLICT (lower(name)) DO UPDATE SET name = EXCLUDED.name
                    RETURNING id
                    """, logger: logger)
                for try await id in rows.decode(UUID.self) { ids[name] = id }
            }
            for person in people {
                try await connection.query("""
                    INSERT INTO auth.employees (id, email, full_name, department_id, job_title, is_department_head, is_ceo, active,
                        password_hash, roles, moderated_department_ids)
                    VALUES (\(UUID.v7()), \(person.email), \(person.name), \(ids[person.department]), \(person.title), \(person.head),
                        \(person.ceo), true, \(hash), \(person.roles.map(\.rawValue)), \(person.moderates.compactMap { ids[$0] }))
                    ON CONFLICT (email) DO UPDATE SET full_name = EXCLUDED.full_name, department_id = EXCLUDED.department_id,
                        job_title = EXCLUDED.job_title, is_department_head = EXCLUDED.is_department_head, is_ceo = EXCLUDED.is_ceo,
                        active = true, password_hash = EXCLUDED.password_hash, roles = EXCLUDED.roles,
                        moderated_department_ids = EXCLUDED.moderated_department_ids, updated_at = now()
                    """, logger: logger)
            }
        }
        logger.info("demo organisation seeded", metadata: ["employees": "\(people.count)", "departments": "\(departments.count)"])
    }
}
