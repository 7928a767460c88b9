import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import NIOCore
import PostgresNIO
import ServiceKit

/// `GET /api/v1/reports/{tickets|sla|resolution-times|approvals|workload}` as JSON `{items}` or as
/// CSV streamed row by row (`Accept: text/csv` or `?format=csv`), so a report of any size keeps
/// memory flat. The tickets report takes the list's filters and visibility; the others are
/// aggregates for admins and the CEO (every department) and moderators (their departments).
struct ReportsController: Sendable {
    let client: PostgresClient
    let search: TicketSearch
    let logger: Logger

    func register(on router: Router<AppRequestContext>) {
        router.get("api/v1/reports/:name", use: self.report)
    }

    /// A report: its CSV header and its rows as text cells.
    private struct Table {
        var header: [String]
        var rows: AsyncThrowingMapSequence<PostgresRowSequence, [String]>
    }

    @Sendable func report(_ request: Request, context: AppRequestContext) async throws -> Response {
        let identity = try context.requireIdentity()
        let name = context.parameters.get("name") ?? ""
        let range = try DashboardsController.Range(request)
        let table: Table
        switch name {
        case "tickets":
            var query = try TicketSearch.Query(request.uri.queryParameters)
            query.cursor = nil
            let rows = try await self.search.all(query, for: identity)
            table = Table(header: ["number", "title", "status", "priority", "department_id", "requestor_id", "assignee_id", "progress", "created_at", "sla_breached"],
                          rows: rows.map { row in
                              let ticket = try Ticket(row: row)
                              return [ticket.number, ticket.title, ticket.status.rawValue, ticket.priority.rawValue, ticket.departmentId?.lowercased ?? "",
                                      ticket.requestorId.lowercased, ticket.assigneeId?.lowercased ?? "", String(ticket.progress),
                                      RFC3339.format(ticket.createdAt), String(ticket.slaBreached)]
                          })
        case "sla", "resolution-times", "approvals", "workload":
            let scope = try self.scope(identity)
            table = try await self.aggregate(name, range: range, departments: scope)
        default:
            throw Problem.notFound("Report \(name)")
        }
        let csv = request.uri.queryParameters.get("format") == "csv" || (request.headers[.accept]?.contains("text/csv") ?? false)
        return csv ? self.csv(table, name: name) : try await self.json(table)
    }

    /// Departments the caller may report on; nil means all.
    private func scope(_ identity: Identity) throws(Problem) -> [UUID]? {
        if identity.has(.admin) || identity.isCEO || identity.isService { return nil }
        if identity.has(.moderator) { return Array(identity.moderates) }
        throw Problem.forbidden("Reports are for admins, the CEO and moderators")
    }

    private func aggregate(_ name: String, range: DashboardsController.Range, departments: [UUID]?) async throws -> Table {
        let all = departments == nil
        let scope = departments ?? []
        func cells(_ row: PostgresRow) throws -> [String] {
            let random = row.makeRandomAccess()
            return try (0..<random.count).map { index in try random[index].decode(String?.self, context: .default) ?? "" }
        }
        switch name {
        case "sla":
            let rows = try await self.client.query("""
                SELECT department_id::text, priority, count(*)::text,
                       count(*) FILTER (WHERE NOT sla_breached)::text,
                       round(100.0 * count(*) FILTER (WHERE NOT sla_breached) / count(*), 2)::text,
                       count(*) FILTER (WHERE sla_breached)::text
                FROM tickets.tickets
                WHERE resolution_due IS NOT NULL AND status <> 'draft' AND created_at >= \(range.from) AND created_at < \(range.to)
                  AND (\(all) OR department_id = ANY(\(scope)::uuid[]))
                GROUP BY department_id, priority ORDER BY department_id, priority
                """, logger: self.logger)
            return Table(header: ["department_id", "priority", "tickets", "within_sla", "compliance_percent", "breaches"], rows: rows.map(cells))
        case "resolution-times":
            let rows = try await self.client.query("""
                SELECT department_id::text, count(*)::text,
                       round((avg(extract(epoch FROM resolved_at - submitted_at)) / 3600)::numeric, 2)::text,
                       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at)) / 3600)::numeric, 2)::text,
                       round((percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM resolved_at - submitted_at)) / 3600)::numeric, 2)::text
                FROM tickets.tickets
                WHERE resolved_at IS NOT NULL AND submitted_at IS NOT NULL AND created_at >= \(range.from) AND created_at < \(range.to)
                  AND (\(all) OR department_id = ANY(\(scope)::uuid[]))
                GROUP BY department_id ORDER BY department_id
                """, logger: self.logger)
            return Table(header: ["department_id", "resolved", "average_hours", "median_hours", "p90_hours"], rows: rows.map(cells))
        case "approvals":
            let rows = try await self.client.query("""
                SELECT r.name, a.position, a.decision, count(*)::text,
                       round((avg(extract(epoch FROM a.decided_at - a.requested_at)) / 3600)::numeric, 2)::text
                FROM tickets.approvals a JOIN tickets.approval_routes r ON r.id = a.route_id JOIN tickets.tickets t ON t.id = a.ticket_id
                WHERE a.requested_at >= \(range.from) AND a.requested_at < \(range.to) AND (\(all) OR t.department_id = ANY(\(scope)::uuid[]))
                GROUP BY r.name, a.position, a.decision ORDER BY r.name, a.position, a.decision
                """, logger: self.logger)
            return Table(header: ["route", "position", "decision", "count", "average_decision_hours"], rows: rows.map(cells))
        default:
            let rows = try await self.client.query("""
                SELECT department_id::text, assignee_id::text,
                       count(*) FILTER (WHERE status = 'assigned')::text,
                       count(*) FILTER (WHERE status = 'in_progress')::text,
                       count(*) FILTER (WHERE status IN ('pending', 'postponed'))::text,
                       count(*) FILTER (WHERE COALESCE(due_at, resolution_due) < now())::text
                FROM tickets.tickets
                WHERE assignee_id IS NOT NULL AND status IN ('assigned', 'in_progress', 'pending', 'postponed')
                  AND (\(all) OR department_id = ANY(\(scope)::uuid[]))
                GROUP BY department_id, assignee_id ORDER BY department_id, assignee_id
                """, logger: self.logger)
            return Table(header: ["department_id", "assignee_id", "assigned", "in_progress", "waiting", "overdue"], rows: rows.map(cells))
        }
    }

    private func json(_ table: Table) async throws -> Response {
        var items: [[String: String]] = []
        for try await row in table.rows { items.append(Dictionary(uniqueKeysWithValues: zip(table.header, row))) }
        return try JSONEncoder.hdmsResponse(["items": items], status: .ok)
    }

    private func csv(_ table: Table, name: String) -> Response {
        let header = table.header
        let rows = table.rows
        let body = ResponseBody { writer in
            var chunk = CSVFormat.record(header)
            for try await row in rows {
                chunk += CSVFormat.record(row)
                if chunk.utf8.count > 32_768 {
                    try await writer.write(ByteBuffer(string: chunk))
                    chunk = ""
                }
            }
            if !chunk.isEmpty { try await writer.write(ByteBuffer(string: chunk)) }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [
            .contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"hdms-\(name).csv\"",
        ], body: body)
    }
}
