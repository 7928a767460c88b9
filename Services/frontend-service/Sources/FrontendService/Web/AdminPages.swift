import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import NIOCore
import ServiceKit

/// The administrator's pages: employees (with CSV import and access), departments, categories,
/// SLA policies, the business calendar, approval routes and the organisation-wide audit log.
/// The APIs enforce the admin role; the pages refuse others up front for a clear answer.
struct AdminPages: Sendable {
    let web: Web

    func register(on router: Router<AppRequestContext>) {
        self.page(router, "/admin") { _, visit in Web.redirect("/admin/employees") }
        self.page(router, "/admin/employees") { request, visit in try await self.employees(request, &visit) }
        self.page(router, "/admin/employees/:id") { _, visit in try await self.employee(&visit) }
        self.write(router, "/admin/employees") { form, visit in
            struct New: Encodable { var email: String?; var fullName: String?; var departmentId: UUID?; var jobTitle: String?; var password: String?; var roles: [String] }
            let created: EmployeeDTO = try await visit.send(.POST, "/api/v1/employees", New(
                email: form["email"], fullName: form["full_name"], departmentId: form.uuid("department_id"), jobTitle: form["job_title"],
                password: form["password"], roles: form.all("role")))
            return ("Employee \(created.fullName) created", "/admin/employees/\(created.id.lowercased)")
        }
        self.write(router, "/admin/employees/import") { form, visit in
            guard let csv = form.fields.first(where: { $0.0 == "csv" })?.1, !csv.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
                throw Problem.validation([.init(field: "csv", message: "choose a CSV file or paste its text")])
            }
            struct Report: Codable { struct Rejected: Codable { var row: Int; var email: String?; var reason: String }; var created: Int; var updated: Int; var unchanged: Int; var rejected: [Rejected] }
            let response = try await visit.web.api.send(.POST, "/api/v1/employees/import", caller: visit.caller, body: ByteBuffer(string: csv), contentType: "text/csv")
            let bytes = try await response.body.collect(upTo: 4 << 20)
            try ServiceAPI.check(response.status, bytes, path: "/api/v1/employees/import")
            let report = try JSONDecoder.hdms.decode(Report.self, from: bytes)
            var text = "Import finished: \(report.created) created, \(report.updated) updated, \(report.unchanged) unchanged, \(report.rejected.count) rejected."
            for row in report.rejected.prefix(20) { text += " Line \(row.row)\(row.email.map { " (\($0))" } ?? ""): \(row.reason)." }
            return (text, "/admin/employees?imported=1")
        }
        self.write(router, "/admin/employees/:id") { form, visit in
            let id = try visit.context.uuidParameter("id")
            struct Patch: Encodable { var fullName: String?; var departmentId: UUID?; var jobTitle: String?; var isDepartmentHead: Bool; var isCeo: Bool; var active: Bool; var version: Int? }
            let _: EmployeeDTO = try await visit.send(.PATCH, "/api/v1/employees/\(id.lowercased)", Patch(
                fullName: form["full_name"], departmentId: form.uuid("department_id"), jobTitle: form["job_title"],
                isDepartmentHead: form["is_department_head"] == "on", isCeo: form["is_ceo"] == "on", active: form["active"] == "on", version: form.int("version")))
            return ("Employee saved", "/admin/employees/\(id.lowercased)")
        }
        self.write(router, "/admin/employees/:id/access") { form, visit in
            let id = try visit.context.uuidParameter("id")
            struct Access: Encodable { var roles: [String]; var moderatedDepartmentIds: [UUID] }
            let _: EmployeeDTO = try await visit.send(.PUT, "/api/v1/employees/\(id.lowercased)/access", Access(
                roles: form.all("role"), moderatedDepartmentIds: form.all("moderates").compactMap { UUID(uuidString: $0) }))
            return (form.all("role").isEmpty ? "HDMS access removed" : "Access saved", "/admin/employees/\(id.lowercased)")
        }

        self.page(router, "/admin/departments") { _, visit in try await self.departments(&visit) }
        self.write(router, "/admin/departments") { form, visit in
            struct Body: Encodable { var name: String?; var code: String?; var version: Int? }
            if let id = form.uuid("id") {
                let _: DepartmentDTO = try await visit.send(.PATCH, "/api/v1/departments/\(id.lowercased)", Body(name: form["name"], code: form["code"], version: form.int("version")))
                visit.web.directory.invalidate()
                return ("Department saved", "/admin/departments")
            }
            let _: DepartmentDTO = try await visit.send(.POST, "/api/v1/departments", Body(name: form["name"], code: form["code"]))
            visit.web.directory.invalidate()
            return ("Department created", "/admin/departments")
        }

        self.page(router, "/admin/categories") { _, visit in try await self.categories(&visit) }
        self.write(router, "/admin/categories") { form, visit in
            struct Body: Encodable { var name: String?; var departmentId: UUID?; var active: Bool?; var version: Int? }
            if let id = form.uuid("id") {
                let _: CategoryDTO = try await visit.send(.PATCH, "/api/v1/categories/\(id.lowercased)", Body(
                    name: form["name"], departmentId: form.uuid("department_id"), active: form["active"] == "on", version: form.int("version")))
                return ("Category saved", "/admin/categories")
            }
            let _: CategoryDTO = try await visit.send(.POST, "/api/v1/categories", Body(name: form["name"], departmentId: form.uuid("department_id")))
            return ("Category created", "/admin/categories")
        }

        self.page(router, "/admin/sla-policies") { _, visit in try await self.policies(&visit) }
        self.write(router, "/admin/sla-policies") { form, visit in
            struct Body: Encodable { var departmentId: UUID?; var priority: String?; var firstResponseMinutes: Int?; var resolutionMinutes: Int? }
            let _: SLAPolicyDTO = try await visit.send(.PUT, "/api/v1/sla-policies", Body(
                departmentId: form.uuid("department_id"), priority: form["priority"],
                firstResponseMinutes: form.int("first_response_hours").map { $0 * 60 } ?? form.int("first_response_minutes"),
                resolutionMinutes: form.int("resolution_hours").map { $0 * 60 } ?? form.int("resolution_minutes")))
            return ("SLA policy saved", "/admin/sla-policies")
        }

        self.page(router, "/admin/calendar") { _, visit in try await self.calendar(&visit) }
        self.write(router, "/admin/calendar") { form, visit in
            let holidays = (form["holidays"] ?? "").split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == "\r" })
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            let calendar = BusinessCalendarBody(
                timeZone: form["time_zone"] ?? "", workDays: form.all("work_day").compactMap { Int($0) },
                dayStartMinute: Self.minutes(form["day_start"]) ?? -1, dayEndMinute: Self.minutes(form["day_end"]) ?? -1,
                holidays: holidays, version: form.int("version"))
            let _: BusinessCalendarBody = try await visit.send(.PUT, "/api/v1/business-calendar", calendar)
            return ("Business calendar saved", "/admin/calendar")
        }

        self.page(router, "/admin/routes") { _, visit in try await self.routes(&visit) }
        self.write(router, "/admin/routes") { form, visit in
            struct Body: Encodable { var name: String?; var steps: [String]?; var active: Bool?; var version: Int? }
            let steps = form.all("step").filter { !$0.isEmpty }
            if let id = form.uuid("id") {
                let _: RouteDTO = try await visit.send(.PATCH, "/api/v1/approval-routes/\(id.lowercased)", Body(
                    name: form["name"], steps: nil, active: form["active"] == "on", version: form.int("version")))
                return ("Approval route saved", "/admin/routes")
            }
            let _: RouteDTO = try await visit.send(.POST, "/api/v1/approval-routes", Body(name: form["name"], steps: steps))
            return ("Approval route created", "/admin/routes")
        }

        self.page(router, "/admin/audit") { request, visit in try await self.audit(request, &visit) }
    }

    // MARK: Plumbing

    private func page(_ router: Router<AppRequestContext>, _ path: RouterPath, _ handler: @escaping Web.Handler) {
        self.web.page(router, path) { request, visit in
            guard visit.has(.admin) else { throw Problem.forbidden("Administration is for admins") }
            return try await handler(request, &visit)
        }
    }

    /// A form post: the handler answers a notice and where to go; a refused input comes back as
    /// the problem on the page it was sent from.
    private func write(_ router: Router<AppRequestContext>, _ path: RouterPath, _ handler: @escaping @Sendable (Form, inout Visit) async throws -> (String, String)) {
        self.web.action(router, path) { request, visit in
            guard visit.has(.admin) else { throw Problem.forbidden("Administration is for admins") }
            let form = try visit.form()
            do {
                let (notice, next) = try await handler(form, &visit)
                try await visit.flash(notice: notice)
                return Web.redirect(next)
            } catch let problem as Problem where (400..<500).contains(problem.statusCode) && problem.statusCode != 401 {
                try await visit.flash(problem: problem)
                let back = request.uri.path.hasSuffix("/import") || request.uri.path.hasSuffix("/access") ? String(request.uri.path.split(separator: "/").dropLast().joined(separator: "/")) : request.uri.path
                return Web.redirect(back.hasPrefix("/") ? back : "/" + back)
            }
        }
    }

    static func minutes(_ text: String?) -> Int? {
        guard let parts = text?.split(separator: ":"), parts.count >= 2, let hours = Int(parts[0]), let minutes = Int(parts[1]) else { return nil }
        return hours * 60 + minutes
    }

    static func clock(_ minutes: Int) -> String {
        let hours = minutes / 60, rest = minutes % 60
        return (hours < 10 ? "0" : "") + "\(hours):" + (rest < 10 ? "0" : "") + "\(rest)"
    }

    private func departmentOptions(_ visit: Visit, selected: UUID?) async throws -> [Option] {
        Option.departments(try await self.web.departmentNames()) { $0 == selected }
    }

    // MARK: Employees

    struct EmployeeRow { var id: String; var name: String; var email: String; var department: String; var roles: String; var active: Bool; var position: String }
    struct EmployeesPage { var q: String; var rows: [EmployeeRow]; var nextQuery: String?; var departments: [Option]; var roles: [Option] }

    private func employees(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let query = request.uri.queryParameters
        let q = query.get("q") ?? ""
        var api: [(String, String)] = [("limit", "50")]
        if !q.isEmpty { api.append(("q", q)) }
        if let cursor = query.get("cursor") { api.append(("cursor", cursor)) }
        let listing: Listing<EmployeeDTO> = try await visit.get("/api/v1/employees?" + Form(fields: api).query)
        let names = try await self.web.departmentNames()
        let rows = listing.items.map { employee in
            EmployeeRow(
                id: employee.id.lowercased, name: employee.fullName, email: employee.email, department: employee.departmentId.flatMap { names[$0] } ?? "—",
                roles: employee.roles.isEmpty ? "no access" : employee.roles.map { Vocabulary.label($0.rawValue) }.joined(separator: ", "), active: employee.active,
                position: [employee.isCeo ? "CEO" : nil, employee.isDepartmentHead ? "Head of department" : nil, employee.jobTitle.isEmpty ? nil : employee.jobTitle].compactMap { $0 }.joined(separator: " · "))
        }
        let page = EmployeesPage(
            q: q, rows: rows, nextQuery: listing.nextCursor.map { Form(fields: [("q", q), ("cursor", $0)]).query },
            departments: try await self.departmentOptions(visit, selected: nil),
            roles: Role.allCases.map { Option(value: $0.rawValue, label: Vocabulary.label($0.rawValue), selected: $0 == .requestor) })
        return try await self.web.render("admin-employees", title: "Employees", page: page, visit: &visit)
    }

    struct EmployeePage {
        var employee: EmployeeDTOView
        var departments: [Option]
        var roles: [Option]
        var moderates: [Option]
    }
    struct EmployeeDTOView { var id: String; var email: String; var fullName: String; var jobTitle: String; var isDepartmentHead: Bool; var isCeo: Bool; var active: Bool; var version: Int }

    private func employee(_ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        let employee: EmployeeDTO = try await visit.get("/api/v1/employees/\(id.lowercased)")
        let names = try await self.web.departmentNames()
        let page = EmployeePage(
            employee: EmployeeDTOView(
                id: employee.id.lowercased, email: employee.email, fullName: employee.fullName, jobTitle: employee.jobTitle,
                isDepartmentHead: employee.isDepartmentHead, isCeo: employee.isCeo, active: employee.active, version: employee.version ?? 0),
            departments: try await self.departmentOptions(visit, selected: employee.departmentId),
            roles: Role.allCases.map { Option(value: $0.rawValue, label: Vocabulary.label($0.rawValue), selected: employee.roles.contains($0)) },
            moderates: Option.departments(names) { employee.moderatedDepartmentIds.contains($0) })
        return try await self.web.render("admin-employee", title: employee.fullName, page: page, visit: &visit)
    }

    // MARK: Configuration

    struct DepartmentRow { var id: String; var name: String; var code: String; var version: Int }

    private func departments(_ visit: inout Visit) async throws -> Response {
        let listing: Listing<DepartmentDTO> = try await visit.get("/api/v1/departments")
        let rows = listing.items.sorted { $0.name < $1.name }.map { DepartmentRow(id: $0.id.lowercased, name: $0.name, code: $0.code, version: $0.version ?? 1) }
        return try await self.web.render("admin-departments", title: "Departments", page: ["rows": rows], visit: &visit)
    }

    struct CategoryRow { var id: String; var name: String; var departments: [Option]; var active: Bool; var version: Int }

    private func categories(_ visit: inout Visit) async throws -> Response {
        let listing: Listing<CategoryDTO> = try await visit.get("/api/v1/categories?limit=100&include_inactive=true")
        var rows: [CategoryRow] = []
        for category in listing.items.sorted(by: { $0.name < $1.name }) {
            rows.append(CategoryRow(id: category.id.lowercased, name: category.name, departments: try await self.departmentOptions(visit, selected: category.departmentId), active: category.active, version: category.version))
        }
        let page: [String: Any] = ["rows": rows, "departments": try await self.departmentOptions(visit, selected: nil)]
        return try await self.web.render("admin-categories", title: "Categories", page: page, visit: &visit)
    }

    struct PolicyRow { var department: String; var priority: String; var firstResponse: String; var resolution: String }

    private func policies(_ visit: inout Visit) async throws -> Response {
        let listing: Listing<SLAPolicyDTO> = try await visit.get("/api/v1/sla-policies")
        let names = try await self.web.departmentNames()
        let rows = listing.items
            .sorted { ((names[$0.departmentId] ?? ""), Vocabulary.priorities.firstIndex(of: $0.priority) ?? 0) < ((names[$1.departmentId] ?? ""), Vocabulary.priorities.firstIndex(of: $1.priority) ?? 0) }
            .map { PolicyRow(department: names[$0.departmentId] ?? "?", priority: Vocabulary.label($0.priority), firstResponse: Self.businessTime($0.firstResponseMinutes), resolution: Self.businessTime($0.resolutionMinutes)) }
        let page: [String: Any] = [
            "rows": rows, "departments": try await self.departmentOptions(visit, selected: nil),
            "priorities": Option.codes(Vocabulary.priorities, selected: "medium"),
        ]
        return try await self.web.render("admin-sla", title: "SLA policies", page: page, visit: &visit)
    }

    static func businessTime(_ minutes: Int) -> String {
        minutes % 60 == 0 ? "\(minutes / 60) business hours" : "\(minutes) business minutes"
    }

    struct CalendarPage { var timeZone: String; var days: [Option]; var dayStart: String; var dayEnd: String; var holidays: String; var version: Int }

    private func calendar(_ visit: inout Visit) async throws -> Response {
        let calendar: BusinessCalendarBody = try await visit.get("/api/v1/business-calendar")
        let dayNames = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        let page = CalendarPage(
            timeZone: calendar.timeZone,
            days: dayNames.enumerated().map { Option(value: String($0.offset + 1), label: $0.element, selected: calendar.workDays.contains($0.offset + 1)) },
            dayStart: Self.clock(calendar.dayStartMinute), dayEnd: Self.clock(calendar.dayEndMinute),
            holidays: calendar.holidays.joined(separator: "\n"), version: calendar.version ?? 0)
        return try await self.web.render("admin-calendar", title: "Business calendar", page: page, visit: &visit)
    }

    struct RouteRow { var id: String; var name: String; var steps: String; var active: Bool; var version: Int }

    private func routes(_ visit: inout Visit) async throws -> Response {
        let listing: Listing<RouteDTO> = try await visit.get("/api/v1/approval-routes?limit=100")
        let names = try await self.web.departmentNames()
        let rows = listing.items.map { route in
            RouteRow(id: route.id.lowercased, name: route.name, steps: route.steps.map { TicketPages.positionLabel($0, departments: names) }.joined(separator: " → "), active: route.active, version: route.version)
        }
        var positions = [Option(value: "", label: "—", selected: false), Option(value: "head_of_requestor_department", label: "Head of the requestor's department", selected: false)]
        positions += names.sorted { $0.value < $1.value }.map { Option(value: "head_of_department:\($0.key.lowercased)", label: "Head of \($0.value)", selected: false) }
        positions.append(Option(value: "ceo", label: "CEO", selected: false))
        let page: [String: Any] = ["rows": rows, "positions": positions, "stepSlots": [1, 2, 3, 4].map { ["number": $0] }]
        return try await self.web.render("admin-routes", title: "Approval routes", page: page, visit: &visit)
    }

    // MARK: Audit

    struct AuditRow { var at: String; var service: String; var actor: String; var entity: String; var link: String?; var action: String; var requestId: String }
    struct AuditPage { var rows: [AuditRow]; var filters: [String: String]; var nextQuery: String?; var exportQuery: String; var empty: Bool }

    private func audit(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let query = request.uri.queryParameters
        var fields: [(String, String)] = []
        var filters: [String: String] = [:]
        for name in ["actor_id", "entity_kind", "entity_id", "action", "from", "to"] {
            guard let value = query.get(name), !value.isEmpty else { continue }
            filters[name] = value
            if (name == "from" || name == "to"), let date = DashboardPages.day(value) {
                fields.append((name, RFC3339.format(name == "to" ? date.addingTimeInterval(86_400) : date)))
            } else {
                fields.append((name, value))
            }
        }
        var api = fields + [("limit", "50")]
        if let cursor = query.get("cursor") { api.append(("cursor", cursor)) }
        let listing: Listing<AuditDTO> = try await visit.get("/api/v1/audit?" + Form(fields: api).query)
        let people = await self.web.personNames(listing.items.compactMap(\.actorId))
        let rows = listing.items.map { item in
            AuditRow(
                at: RFC3339.format(item.at), service: item.service, actor: item.actorId.map { people[$0] ?? $0.lowercased } ?? "System",
                entity: "\(item.entityKind) \(item.entityId)", link: item.entityKind == "ticket" ? "/tickets/\(item.entityId.lowercased())" : nil,
                action: item.action, requestId: item.requestId ?? "")
        }
        let filterQuery = Form(fields: filters.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).query
        let page = AuditPage(
            rows: rows, filters: filters, nextQuery: listing.nextCursor.map { filterQuery + "&cursor=" + Form.percentEncode($0) },
            exportQuery: filterQuery, empty: rows.isEmpty)
        return try await self.web.render("admin-audit", title: "Audit log", page: page, visit: &visit)
    }
}
