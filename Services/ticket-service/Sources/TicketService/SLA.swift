import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit

/// An SLA target for one department and priority, in working minutes.
struct SLAPolicy: Codable, Sendable, Equatable, ResponseEncodable {
    var id: UUID
    var departmentId: UUID
    var priority: Priority
    var firstResponseMinutes: Int
    var resolutionMinutes: Int
    var version: Int
}

/// The SQL of SLA policies and the business calendar.
struct SLARepository: Sendable {
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger

    func calendar(on connection: PostgresConnection? = nil) async throws -> (BusinessCalendar, version: Int) {
        let query: PostgresQuery = """
            SELECT time_zone, work_days, day_start_minute, day_end_minute, holidays::text[], version FROM tickets.business_calendar WHERE id = 1
            """
        let rows = if let connection { try await connection.query(query, logger: self.logger) } else { try await self.client.query(query, logger: self.logger) }
        for try await (zone, days, start, end, holidays, version) in rows.decode((String, [Int], Int, Int, [String], Int).self) {
            return (BusinessCalendar(timeZone: zone, workDays: days, dayStartMinute: start, dayEndMinute: end, holidays: holidays), version)
        }
        return (.standard, 0)
    }

    func saveCalendar(_ calendar: BusinessCalendar, version: Int, by actor: AuditActor) async throws -> (BusinessCalendar, version: Int) {
        try await self.client.transaction(logger: self.logger) { connection in
            let (before, current) = try await self.calendar(on: connection)
            guard current == version else { throw Problem.versionConflict(expected: version, actual: current) }
            try await connection.query("""
                UPDATE tickets.business_calendar SET time_zone = \(calendar.timeZone), work_days = \(calendar.workDays),
                    day_start_minute = \(calendar.dayStartMinute), day_end_minute = \(calendar.dayEndMinute),
                    holidays = \(calendar.holidays)::date[], updated_at = now(), version = version + 1
                WHERE id = 1
                """, logger: self.logger)
            try await self.outbox.record(Change(
                type: .configChanged, action: "business_calendar.update", subject: .init(kind: "business_calendar", id: "1"),
                actorId: actor.id, requestId: actor.requestId, before: try JSONValue(encoding: before), after: try JSONValue(encoding: calendar)),
                on: connection, logger: self.logger)
            return (calendar, version + 1)
        }
    }

    func policies() async throws -> [SLAPolicy] {
        let rows = try await self.client.query("""
            SELECT id, department_id, priority, first_response_minutes, resolution_minutes, version FROM tickets.sla_policies
            ORDER BY department_id, priority
            """, logger: self.logger)
        var policies: [SLAPolicy] = []
        for try await (id, department, priority, first, resolution, version) in rows.decode((UUID, UUID, String, Int, Int, Int).self) {
            guard let priority = Priority(rawValue: priority) else { continue }
            policies.append(SLAPolicy(id: id, departmentId: department, priority: priority, firstResponseMinutes: first, resolutionMinutes: resolution, version: version))
        }
        return policies
    }

    func policy(department: UUID, priority: Priority, on connection: PostgresConnection) async throws -> (firstResponse: Int, resolution: Int)? {
        let rows = try await connection.query("""
            SELECT first_response_minutes, resolution_minutes FROM tickets.sla_policies
            WHERE department_id = \(department) AND priority = \(priority.rawValue)
            """, logger: self.logger)
        for try await row in rows.decode((Int, Int).self) { return row }
        return nil
    }

    /// Creates or replaces the policy of a department and priority.
    func upsert(department: UUID, priority: Priority, firstResponse: Int, resolution: Int, by actor: AuditActor) async throws -> SLAPolicy {
        try await self.client.transaction(logger: self.logger) { connection in
            let rows = try await connection.query("""
                INSERT INTO tickets.sla_policies (id, department_id, priority, first_response_minutes, resolution_minutes)
                VALUES (\(UUID.v7()), \(department), \(priority.rawValue), \(firstResponse), \(resolution))
                ON CONFLICT (department_id, priority) DO UPDATE SET first_response_minutes = EXCLUDED.first_response_minutes,
                    resolution_minutes = EXCLUDED.resolution_minutes, updated_at = now(), version = tickets.sla_policies.version + 1
                RETURNING id, version
                """, logger: self.logger)
            var policy: SLAPolicy?
            for try await (id, version) in rows.decode((UUID, Int).self) {
                policy = SLAPolicy(id: id, departmentId: department, priority: priority, firstResponseMinutes: firstResponse, resolutionMinutes: resolution, version: version)
            }
            guard let policy else { throw Problem.internalError(requestID: actor.requestId) }
            try await self.outbox.record(Change(
                type: .configChanged, action: "sla_policy.set", subject: .init(kind: "sla_policy", id: policy.id.lowercased),
                actorId: actor.id, requestId: actor.requestId, after: try JSONValue(encoding: policy)), on: connection, logger: self.logger)
            return policy
        }
    }
}

/// `/api/v1/sla-policies` and `/api/v1/business-calendar`: staff read, admins write.
struct SLAController: Sendable {
    let sla: SLARepository
    let directory: DirectoryClient

    struct PolicyBody: Decodable {
        var departmentId: UUID?
        var priority: Priority?
        var firstResponseMinutes: Int?
        var resolutionMinutes: Int?
    }

    typealias CalendarBody = BusinessCalendarBody

    func register(on router: Router<AppRequestContext>) {
        router.get("api/v1/sla-policies") { _, context -> Page<SLAPolicy> in
            _ = try context.requireIdentity()
            return Page(items: try await self.sla.policies(), nextCursor: nil)
        }
        router.put("api/v1/sla-policies") { request, context -> SLAPolicy in
            try context.require(.admin)
            let body = try await request.decode(as: PolicyBody.self, context: context)
            var check = Validation()
            if body.departmentId == nil { check.fail("department_id", "is required") }
            if body.priority == nil { check.fail("priority", "is required") }
            check.range(body.firstResponseMinutes ?? 0, "first_response_minutes", 1...100_000)
            check.range(body.resolutionMinutes ?? 0, "resolution_minutes", 1...1_000_000)
            if let first = body.firstResponseMinutes, let resolution = body.resolutionMinutes, first > resolution {
                check.fail("first_response_minutes", "must not exceed resolution_minutes")
            }
            try check.finish()
            guard let department = body.departmentId, let priority = body.priority, let first = body.firstResponseMinutes,
                  let resolution = body.resolutionMinutes else { throw Problem.badRequest("incomplete policy") }
            guard try await self.directory.departments().contains(where: { $0.id == department }) else {
                throw Problem.validation([.init(field: "department_id", message: "is not a known department")])
            }
            return try await self.sla.upsert(department: department, priority: priority, firstResponse: first, resolution: resolution, by: context.actor)
        }
        router.get("api/v1/business-calendar") { _, context -> CalendarBody in
            _ = try context.requireIdentity()
            let (calendar, version) = try await self.sla.calendar()
            return CalendarBody(calendar, version: version)
        }
        router.put("api/v1/business-calendar") { request, context -> CalendarBody in
            try context.require(.admin)
            let body = try await request.decode(as: CalendarBody.self, context: context)
            guard let version = body.version else { throw Problem.validation([.init(field: "version", message: "is required")]) }
            let calendar = BusinessCalendar(timeZone: body.timeZone, workDays: Array(Set(body.workDays)).sorted(), dayStartMinute: body.dayStartMinute,
                                            dayEndMinute: body.dayEndMinute, holidays: Array(Set(body.holidays)).sorted())
            try calendar.validate()
            let (saved, next) = try await self.sla.saveCalendar(calendar, version: version, by: context.actor)
            return CalendarBody(saved, version: next)
        }
    }
}

extension BusinessCalendarBody: ResponseEncodable {
    init(_ calendar: BusinessCalendar, version: Int) {
        self.init(timeZone: calendar.timeZone, workDays: calendar.workDays, dayStartMinute: calendar.dayStartMinute,
                  dayEndMinute: calendar.dayEndMinute, holidays: calendar.holidays, version: version)
    }
}
