import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit

/// The five dashboards of ticket-service as pages with Chart.js charts, and the reports page with
/// its CSV exports (streamed through from ticket-service).
struct DashboardPages: Sendable {
    let web: Web

    func register(on router: Router<AppRequestContext>) {
        self.web.page(router, "/") { _, _ in Web.redirect("/dashboard") }
        self.web.page(router, "/dashboard") { _, visit in Web.redirect("/dashboard/" + self.defaultKind(visit)) }
        self.web.page(router, "/dashboard/:kind") { request, visit in try await self.dashboard(request, &visit) }
        self.web.page(router, "/reports") { _, visit in try await self.reports(&visit) }
        self.web.page(router, "/reports/:name") { request, visit in try await self.export(request, &visit) }
    }

    private func defaultKind(_ visit: Visit) -> String {
        if visit.isExecutive { return "organisation" }
        if visit.has(.moderator) || visit.claims.head != nil { return "department" }
        if visit.has(.assignee) { return "workload" }
        return "me"
    }

    private func kinds(_ visit: Visit) -> [(key: String, label: String)] {
        var kinds: [(String, String)] = [("me", "My tickets")]
        if visit.has(.assignee) { kinds.append(("workload", "My workload")) }
        if visit.has(.moderator) || visit.claims.head != nil || visit.has(.admin) { kinds.append(("department", "Department")) }
        if visit.isExecutive { kinds.append(("organisation", "Organisation")) }
        if visit.has(.admin) || visit.has(.moderator) { kinds.append(("system", "System")) }
        return kinds
    }

    // The dashboards' answers (ticket-service's OpenAPI document has them in full).
    struct Me: Decodable { var byStatus: [String: Int]; var averageResolutionHours: Double?; var medianResolutionHours: Double?; var approvalsWaitingForMe: Int }
    struct Workload: Decodable { var openByPriority: [String: Int]; var overdue: Int; var nearingSla: Int?; var awaitingAcknowledgement: Int; var acknowledgedNotStarted: Int }
    struct Department: Decodable {
        struct Load: Decodable { var assigneeId: UUID; var open: Int }
        var departmentId: UUID?
        var open: Int
        var pending: Int
        var inProgress: Int
        var resolved: Int
        var backlogAge: [String: Int]
        var slaCompliancePercent: Double?
        var breaches: Int
        var firstResponseMedianMinutes: Double?
        var resolutionMedianHours: Double?
        var workload: [Load]?
    }
    struct Organisation: Decodable {
        struct Week: Decodable { var weekStart: Date; var created: Int; var resolved: Int }
        var departments: [Department]
        var weeklyVolume: [Week]
        var approvalsPendingByStep: [String: Int]
    }
    struct System: Decodable { var tickets: Int; var openTickets: Int; var outboxUnpublished: Int; var eventStreamLength: Int; var oldestDueJobSeconds: Double }

    /// One figure card.
    struct Figure { var label: String; var value: String; var tone: String }
    /// One chart: its canvas id, kind and data (drawn by the page script).
    struct Chart: Encodable { var id: String; var type: String; var title: String; var labels: [String]; var series: [Series] }
    struct Series: Encodable { var label: String; var values: [Double] }
    struct Table { var headers: [String]; var rows: [[String]] }

    struct DashboardPage {
        struct Tab { var key: String; var label: String; var active: Bool }
        var kind: String
        var tabs: [Tab]
        var from: String
        var to: String
        var showRange: Bool
        var departmentOptions: [Option]
        var showDepartment: Bool
        var figures: [Figure]
        var charts: [Chart]
        var tables: [NamedTable]
        var chartJSON: String
    }
    struct NamedTable { var title: String; var headers: [String]; var rows: [Row] }
    struct Row { var cells: [String] }

    private func dashboard(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let kind = visit.context.parameters.get("kind") ?? "me"
        let available = self.kinds(visit)
        guard available.contains(where: { $0.key == kind }) else {
            throw Problem.forbidden("The \(kind) dashboard is not open to your roles")
        }
        let query = request.uri.queryParameters
        let calendar = Calendar(identifier: .gregorian)
        let today = calendar.startOfDay(for: Date())
        let from = query.get("from").flatMap(Self.day) ?? calendar.date(byAdding: .day, value: -90, to: today)!
        let to = query.get("to").flatMap(Self.day).map { calendar.date(byAdding: .day, value: 1, to: $0)! } ?? calendar.date(byAdding: .day, value: 1, to: today)!
        var apiQuery = "from=\(Form.percentEncode(RFC3339.format(from)))&to=\(Form.percentEncode(RFC3339.format(to)))"
        let names = try await self.web.departmentNames()

        var figures: [Figure] = []
        var charts: [Chart] = []
        var tables: [NamedTable] = []
        var departmentOptions: [Option] = []
        switch kind {
        case "me":
            let me: Me = try await visit.get("/api/v1/dashboards/me?" + apiQuery)
            let byStatus = Pair.of(me.byStatus, order: Vocabulary.statuses)
            figures = [
                Figure(label: "Open tickets", value: String(me.byStatus.filter { !["draft", "closed", "rejected", "withdrawn", "resolved"].contains($0.key) }.values.reduce(0, +)), tone: "primary"),
                Figure(label: "Average time to resolution", value: Self.hours(me.averageResolutionHours), tone: "info"),
                Figure(label: "Median time to resolution", value: Self.hours(me.medianResolutionHours), tone: "info"),
                Figure(label: "Approvals waiting for me", value: String(me.approvalsWaitingForMe), tone: me.approvalsWaitingForMe > 0 ? "warning" : "secondary"),
            ]
            charts = [Chart(id: "chart-status", type: "doughnut", title: "My tickets by status", labels: byStatus.map(\.label), series: [Series(label: "Tickets", values: byStatus.map(\.value))])]
        case "workload":
            let load: Workload = try await visit.get("/api/v1/dashboards/workload?" + apiQuery)
            let byPriority = Pair.of(load.openByPriority, order: Vocabulary.priorities)
            figures = [
                Figure(label: "Open and assigned to me", value: String(load.openByPriority.values.reduce(0, +)), tone: "primary"),
                Figure(label: "Overdue", value: String(load.overdue), tone: load.overdue > 0 ? "danger" : "secondary"),
                Figure(label: "Nearing SLA", value: String(load.nearingSla ?? 0), tone: (load.nearingSla ?? 0) > 0 ? "warning" : "secondary"),
                Figure(label: "Waiting for acknowledgement", value: String(load.awaitingAcknowledgement), tone: "info"),
                Figure(label: "Acknowledged, not started", value: String(load.acknowledgedNotStarted), tone: "info"),
            ]
            charts = [Chart(id: "chart-priority", type: "bar", title: "Open by priority", labels: byPriority.map(\.label), series: [Series(label: "Tickets", values: byPriority.map(\.value))])]
        case "department":
            let allowed: [UUID] = visit.has(.admin) || visit.isExecutive ? Array(names.keys) : Array(Set(visit.moderates + [visit.claims.head].compactMap { $0 }))
            guard !allowed.isEmpty else { throw Problem.forbidden("You neither moderate nor head a department") }
            // The one asked for, else the user's own department or the one they head, else the first by name.
            let chosen = query.get("department_id").flatMap { UUID(uuidString: $0) }.flatMap { allowed.contains($0) ? $0 : nil }
                ?? [visit.claims.dept, visit.claims.head].compactMap { $0 }.first { allowed.contains($0) }
                ?? allowed.sorted { (names[$0] ?? "") < (names[$1] ?? "") }.first!
            departmentOptions = allowed.sorted { (names[$0] ?? "") < (names[$1] ?? "") }.map { Option(value: $0.lowercased, label: names[$0] ?? "?", selected: $0 == chosen) }
            apiQuery += "&department_id=\(chosen.lowercased)"
            let figuresOf: Department = try await visit.get("/api/v1/dashboards/department?" + apiQuery)
            figures = Self.departmentFigures(figuresOf)
            let age = Pair.of(figuresOf.backlogAge, order: ["under_1_day", "1_to_3_days", "3_to_7_days", "over_7_days"])
            charts = [Chart(id: "chart-backlog", type: "bar", title: "Backlog by age", labels: age.map(\.label), series: [Series(label: "Open tickets", values: age.map(\.value))])]
            var loadRows: [Row] = []
            var loadLabels: [String] = []
            var loadValues: [Double] = []
            let assignees = await self.web.personNames((figuresOf.workload ?? []).map(\.assigneeId))
            for load in figuresOf.workload ?? [] {
                let person = assignees[load.assigneeId] ?? "Unknown"
                loadRows.append(Row(cells: [person, String(load.open)]))
                loadLabels.append(person)
                loadValues.append(Double(load.open))
            }
            if !loadRows.isEmpty {
                charts.append(Chart(id: "chart-assignees", type: "bar", title: "Open tickets per assignee", labels: loadLabels, series: [Series(label: "Open", values: loadValues)]))
                tables.append(NamedTable(title: "Workload per assignee", headers: ["Assignee", "Open"], rows: loadRows))
            }
        case "organisation":
            let organisation: Organisation = try await visit.get("/api/v1/dashboards/organisation?" + apiQuery)
            let total = organisation.departments.reduce(into: (open: 0, breaches: 0)) { $0.open += $1.open; $0.breaches += $1.breaches }
            figures = [
                Figure(label: "Open across departments", value: String(total.open), tone: "primary"),
                Figure(label: "SLA breaches", value: String(total.breaches), tone: total.breaches > 0 ? "danger" : "secondary"),
                Figure(label: "Approvals pending", value: String(organisation.approvalsPendingByStep.values.reduce(0, +)), tone: "warning"),
            ]
            let weekFormat = Date.FormatStyle().month(.abbreviated).day()
            charts = [
                Chart(id: "chart-weekly", type: "line", title: "Weekly volume", labels: organisation.weeklyVolume.map { $0.weekStart.formatted(weekFormat) },
                      series: [Series(label: "Created", values: organisation.weeklyVolume.map { Double($0.created) }),
                               Series(label: "Resolved", values: organisation.weeklyVolume.map { Double($0.resolved) })]),
                Chart(id: "chart-breaches", type: "bar", title: "SLA breaches by department",
                      labels: organisation.departments.map { $0.departmentId.flatMap { names[$0] } ?? "None" },
                      series: [Series(label: "Breaches", values: organisation.departments.map { Double($0.breaches) })]),
                Chart(id: "chart-resolution", type: "bar", title: "Median resolution (hours) by department",
                      labels: organisation.departments.map { $0.departmentId.flatMap { names[$0] } ?? "None" },
                      series: [Series(label: "Hours", values: organisation.departments.map { ($0.resolutionMedianHours ?? 0).roundedToTenths })]),
            ]
            tables = [NamedTable(
                title: "Departments", headers: ["Department", "Open", "Pending", "In progress", "Resolved", "SLA compliance", "Breaches", "Median first response", "Median resolution"],
                rows: organisation.departments.map { figures in
                    Row(cells: [
                        figures.departmentId.flatMap { names[$0] } ?? "None", String(figures.open), String(figures.pending), String(figures.inProgress), String(figures.resolved),
                        figures.slaCompliancePercent.map { String(format: "%.1f %%", $0) } ?? "—", String(figures.breaches),
                        figures.firstResponseMedianMinutes.map { String(format: "%.0f min", $0) } ?? "—", Self.hours(figures.resolutionMedianHours),
                    ])
                })]
            let steps = Pair.of(organisation.approvalsPendingByStep)
            if !steps.isEmpty {
                tables.append(NamedTable(title: "Approvals pending by step", headers: ["Step", "Pending"], rows: steps.map { Row(cells: [TicketPages.positionLabel($0.key, departments: names), String(Int($0.value))]) }))
            }
        default:
            let system: System = try await visit.get("/api/v1/dashboards/system")
            figures = [
                Figure(label: "Tickets", value: String(system.tickets), tone: "secondary"),
                Figure(label: "Open tickets", value: String(system.openTickets), tone: "primary"),
                Figure(label: "Outbox waiting to publish", value: String(system.outboxUnpublished), tone: system.outboxUnpublished > 100 ? "warning" : "secondary"),
                Figure(label: "Event stream length", value: String(system.eventStreamLength), tone: "secondary"),
                Figure(label: "Oldest due job (s)", value: String(format: "%.0f", system.oldestDueJobSeconds), tone: system.oldestDueJobSeconds > 300 ? "danger" : "secondary"),
            ]
        }
        let dayFormat = Date.ISO8601FormatStyle().year().month().day()
        let page = DashboardPage(
            kind: kind, tabs: available.map { .init(key: $0.key, label: $0.label, active: $0.key == kind) },
            from: from.formatted(dayFormat), to: Calendar(identifier: .gregorian).date(byAdding: .day, value: -1, to: to)!.formatted(dayFormat),
            showRange: kind != "system", departmentOptions: departmentOptions, showDepartment: kind == "department",
            figures: figures, charts: charts, tables: tables,
            chartJSON: Self.chartJSON(charts))
        return try await self.web.render("dashboard", title: "Dashboard", page: page, visit: &visit)
    }

    /// The charts as JSON for the page's `<script type="application/json">`: every `<` escaped, so
    /// no label can close the script element.
    static func chartJSON(_ charts: [Chart]) -> String {
        let json = (try? String(decoding: JSONEncoder().encode(charts), as: UTF8.self)) ?? "[]"
        return json.replacingOccurrences(of: "<", with: "\\u003c")
    }

    static func departmentFigures(_ figures: Department) -> [Figure] {
        [
            Figure(label: "Open", value: String(figures.open), tone: "primary"),
            Figure(label: "Pending", value: String(figures.pending), tone: "warning"),
            Figure(label: "In progress", value: String(figures.inProgress), tone: "info"),
            Figure(label: "Resolved", value: String(figures.resolved), tone: "success"),
            Figure(label: "SLA compliance", value: figures.slaCompliancePercent.map { String(format: "%.1f %%", $0) } ?? "—", tone: "info"),
            Figure(label: "Breaches", value: String(figures.breaches), tone: figures.breaches > 0 ? "danger" : "secondary"),
            Figure(label: "Median first response", value: figures.firstResponseMedianMinutes.map { String(format: "%.0f min", $0) } ?? "—", tone: "secondary"),
            Figure(label: "Median resolution", value: hours(figures.resolutionMedianHours), tone: "secondary"),
        ]
    }

    static func hours(_ value: Double?) -> String {
        guard let value else { return "—" }
        return value >= 48 ? String(format: "%.1f days", value / 24) : String(format: "%.1f h", value)
    }

    /// A `yyyy-mm-dd` date input as the start of that day (UTC).
    static func day(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle().year().month().day().parse(text)
    }

    // MARK: Reports

    struct ReportsPage {
        struct Report { var name: String; var title: String; var description: String }
        var reports: [Report]
        var from: String
        var to: String
    }

    static let reportList: [ReportsPage.Report] = [
        .init(name: "tickets", title: "Tickets", description: "Every ticket you can see, filtered like the list."),
        .init(name: "sla", title: "SLA compliance", description: "Met and breached targets by department and priority."),
        .init(name: "resolution-times", title: "Resolution times", description: "Time to first response and to resolution per ticket."),
        .init(name: "approvals", title: "Approvals", description: "Each approval step with its decision and timing."),
        .init(name: "workload", title: "Workload", description: "Open tickets per assignee and department."),
    ]

    private func reports(_ visit: inout Visit) async throws -> Response {
        let dayFormat = Date.ISO8601FormatStyle().year().month().day()
        let today = Date()
        let page = ReportsPage(reports: Self.reportList, from: Calendar(identifier: .gregorian).date(byAdding: .day, value: -90, to: today)!.formatted(dayFormat), to: today.formatted(dayFormat))
        return try await self.web.render("reports", title: "Reports", page: page, visit: &visit)
    }

    /// Streams a report's CSV from ticket-service; the query passes through (filters as the list).
    private func export(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let name = visit.context.parameters.get("name") ?? ""
        guard Self.reportList.contains(where: { $0.name == name }) || name == "audit" else { throw Problem.notFound("Report \(name)") }
        var fields = Form(encoded: request.uri.query ?? "").fields.filter { $0.0 != "format" }
        for (index, field) in fields.enumerated() where ["from", "to", "created_from", "created_to"].contains(field.0) {
            if let date = Self.day(field.1) {
                let end = field.0 == "to" || field.0 == "created_to"
                fields[index].1 = RFC3339.format(end ? date.addingTimeInterval(86_400) : date)
            }
        }
        fields.append(("format", "csv"))
        let path = name == "audit" ? "/api/v1/audit" : "/api/v1/reports/\(name)"
        return try await self.web.proxy(.GET, path + "?" + Form(fields: fields).query, visit: visit, request: request, accept: "text/csv")
    }
}

extension Double {
    /// Rounded to one decimal place, for chart values.
    var roundedToTenths: Double { (self * 10).rounded() / 10 }
}
