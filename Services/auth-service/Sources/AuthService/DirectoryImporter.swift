import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import Logging
import PostgresNIO
import ServiceKit

/// `POST /api/v1/employees/import`: the organisation's directory, as CSV or JSON, upserted by email.
///
/// Rows are checked one by one; rows that fail are reported with their reason and skipped, the
/// rest are written in one transaction with one bulk statement (all or nothing). A body that is
/// not a readable CSV or JSON document at all is refused as a whole (400) and changes nothing.
/// Imported employees get no HDMS access and no password: access is granted separately.
struct DirectoryImporter: Sendable {
    let directory: DirectoryRepository
    let client: PostgresClient
    let outbox: Outbox
    let logger: Logger
    static let maxBytes = 20 * 1024 * 1024
    static let maxRows = 100_000

    /// One row as read from the file, before checks.
    struct Row: Decodable, Sendable {
        var email: String?
        var fullName: String?
        var department: String?
        var jobTitle: String?
        var isDepartmentHead: Flag?
        var isCeo: Flag?
        var active: Flag?
    }

    /// A boolean written as JSON true/false or as CSV text (`true`, `yes`, `1`, ...).
    struct Flag: Decodable, Sendable {
        var text: String
        init(_ text: String) { self.text = text }
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let value = try? container.decode(Bool.self) { self.text = value ? "true" : "false" } else { self.text = try container.decode(String.self) }
        }
        var value: Bool? {
            switch self.text.trimmingCharacters(in: .whitespaces).lowercased() {
            case "", "false", "no", "0", "n", "f": false
            case "true", "yes", "1", "y", "t": true
            default: nil
            }
        }
    }

    struct Rejected: Encodable, Sendable {
        var row: Int
        var email: String?
        var reason: String
    }

    struct Report: Encodable, Sendable {
        var created: Int
        var updated: Int
        var unchanged: Int
        var rejected: [Rejected]
    }

    @Sendable func handle(_ request: Request, context: AppRequestContext) async throws -> Report {
        try context.require(.admin)
        let actor = context.actor
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.maxBytes)
        } catch {
            throw Problem(status: 413, kind: "too-large", title: "Import too large", detail: "An import may be at most \(Self.maxBytes / 1_048_576) MiB")
        }
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        let rows: [Row]
        if contentType.contains("json") {
            rows = try Self.parseJSON(body)
        } else if contentType.contains("csv") || contentType.contains("text/plain") {
            rows = try Self.parseCSV(String(buffer: body))
        } else {
            throw Problem(status: 415, kind: "unsupported-media-type", title: "Unsupported media type", detail: "Send text/csv or application/json")
        }
        guard rows.count <= Self.maxRows else { throw Problem.validation([.init(field: "rows", message: "at most \(Self.maxRows) rows per import")]) }
        return try await self.apply(rows, by: actor)
    }

    static func parseJSON(_ body: ByteBuffer) throws -> [Row] {
        struct Wrapped: Decodable { var employees: [Row] }
        if let rows = try? JSONDecoder.hdms.decode([Row].self, from: body) { return rows }
        if let wrapped = try? JSONDecoder.hdms.decode(Wrapped.self, from: body) { return wrapped.employees }
        throw Problem.badRequest("The JSON must be an array of employees or {\"employees\": [...]}, with string fields")
    }

    /// Reads RFC 4180 CSV with a header row naming the columns (any order; unknown columns ignored).
    static func parseCSV(_ text: String) throws -> [Row] {
        let records = try CSV.parse(text)
        guard let header = records.first else { throw Problem.badRequest("The CSV is empty") }
        let names = header.map { $0.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: " ", with: "_") }
        guard names.contains("email") else { throw Problem.badRequest("The CSV header must name an email column") }
        func column(_ name: String) -> Int? { names.firstIndex(of: name) }
        let email = column("email"), fullName = column("full_name") ?? column("name"), department = column("department")
        let jobTitle = column("job_title"), head = column("is_department_head"), ceo = column("is_ceo"), active = column("active")
        return records.dropFirst().filter { !($0.count == 1 && $0[0].isEmpty) }.map { fields in
            func value(_ index: Int?) -> String? {
                guard let index, index < fields.count else { return nil }
                return fields[index]
            }
            return Row(
                email: value(email), fullName: value(fullName), department: value(department), jobTitle: value(jobTitle),
                isDepartmentHead: value(head).map(Flag.init), isCeo: value(ceo).map(Flag.init), active: value(active).map(Flag.init))
        }
    }

    /// Checks each row, then upserts the valid ones in one transaction.
    func apply(_ rows: [Row], by actor: AuditActor) async throws -> Report {
        let departments = try await self.directory.departments()
        var byName: [String: UUID] = [:]
        for department in departments {
            byName[department.name.lowercased()] = department.id
            byName[department.code.lowercased()] = department.id
        }
        let existing = try await self.client.query("""
            SELECT email, department_id, is_department_head, is_ceo FROM auth.employees WHERE active
            """, logger: self.logger)
        var heads: [UUID: String] = [:]
        var ceo: String?
        for try await (email, department, isHead, isCeo) in existing.decode((String, UUID?, Bool, Bool).self) {
            if isHead, let department { heads[department] = email }
            if isCeo { ceo = email }
        }

        var rejected: [Rejected] = []
        var seen: Set<String> = []
        var valid: [(email: String, name: String, department: UUID?, title: String, head: Bool, ceo: Bool, active: Bool)] = []
        for (index, row) in rows.enumerated() {
            let number = index + 2  // the header is line 1
            var check = Validation()
            let email = check.email(row.email)
            let name = check.require(row.fullName, "full_name", maxLength: 200)
            let title = check.limit(row.jobTitle, "job_title", maxLength: 200) ?? ""
            var department: UUID?
            if let raw = row.department?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
                department = byName[raw.lowercased()]
                if department == nil { check.fail("department", "\"\(raw)\" is not a known department") }
            }
            let head = row.isDepartmentHead?.value, isCEO = row.isCeo?.value, active = row.active.map { $0.value } ?? true
            if row.isDepartmentHead != nil && head == nil { check.fail("is_department_head", "must be true or false") }
            if row.isCeo != nil && isCEO == nil { check.fail("is_ceo", "must be true or false") }
            if active == nil { check.fail("active", "must be true or false") }
            if let email, seen.contains(email) { check.fail("email", "appears more than once in the import") }
            if head == true && department == nil { check.fail("is_department_head", "needs a department") }
            if let email, head == true, let department, active == true, let holder = heads[department], holder != email {
                check.fail("is_department_head", "the department already has a head (\(holder))")
            }
            if let email, isCEO == true, active == true, let holder = ceo, holder != email {
                check.fail("is_ceo", "the organisation already has a CEO (\(holder))")
            }
            guard check.errors.isEmpty, let email, let name else {
                rejected.append(Rejected(row: number, email: row.email, reason: check.errors.map { "\($0.field) \($0.message)" }.joined(separator: "; ")))
                continue
            }
            seen.insert(email)
            if head == true, let department, active == true { heads[department] = email }
            if isCEO == true, active == true { ceo = email }
            valid.append((email, name, department, title, head ?? false, isCEO ?? false, active ?? true))
        }

        let ids = valid.map { _ in UUID.v7() }
        let emails = valid.map(\.email), names = valid.map(\.name), titles = valid.map(\.title)
        let departmentIDs = valid.map { $0.department?.lowercased ?? "" }
        let headFlags = valid.map(\.head), ceoFlags = valid.map(\.ceo), activeFlags = valid.map(\.active)
        let (created, updated) = try await self.directory.writing {
            try await self.client.transaction(logger: self.logger) { connection -> ([String], [String]) in
                let rows = try await connection.query("""
                    INSERT INTO auth.employees AS e (id, email, full_name, department_id, job_title, is_department_head, is_ceo, active)
                    SELECT id, email, full_name, NULLIF(department, '')::uuid, job_title, head, ceo, active
                    FROM unnest(\(ids)::uuid[], \(emails)::text[], \(names)::text[], \(departmentIDs)::text[], \(titles)::text[],
                                \(headFlags)::boolean[], \(ceoFlags)::boolean[], \(activeFlags)::boolean[])
                         AS v(id, email, full_name, department, job_title, head, ceo, active)
                    ON CONFLICT (email) DO UPDATE SET
                        full_name = EXCLUDED.full_name, department_id = EXCLUDED.department_id, job_title = EXCLUDED.job_title,
                        is_department_head = EXCLUDED.is_department_head, is_ceo = EXCLUDED.is_ceo, active = EXCLUDED.active,
                        updated_at = now(), version = e.version + 1
                    WHERE (e.full_name, e.department_id, e.job_title, e.is_department_head, e.is_ceo, e.active)
                          IS DISTINCT FROM (EXCLUDED.full_name, EXCLUDED.department_id, EXCLUDED.job_title,
                                            EXCLUDED.is_department_head, EXCLUDED.is_ceo, EXCLUDED.active)
                    RETURNING e.email, (xmax = 0) AS inserted
                    """, logger: self.logger)
                var created: [String] = []
                var updated: [String] = []
                for try await (email, inserted) in rows.decode((String, Bool).self) {
                    if inserted { created.append(email) } else { updated.append(email) }
                }
                // Deactivated employees lose their sessions at once.
                try await connection.query("""
                    UPDATE auth.refresh_tokens SET revoked_at = now()
                    WHERE revoked_at IS NULL AND employee_id IN (SELECT id FROM auth.employees WHERE email = ANY(\(updated)) AND NOT active)
                    """, logger: self.logger)
                try await self.outbox.record(Change(
                    type: .directoryImported, action: "directory.import", subject: .init(kind: "directory", id: "employees"),
                    actorId: actor.id, requestId: actor.requestId,
                    after: .object(["created": .array(created.map(JSONValue.string)), "updated": .array(updated.map(JSONValue.string))]),
                    details: ["rejected": .number(Double(rejected.count))]), on: connection, logger: self.logger)
                return (created, updated)
            }
        }
        return Report(created: created.count, updated: updated.count, unchanged: valid.count - created.count - updated.count, rejected: rejected)
    }
}

extension DirectoryImporter.Report: ResponseEncodable {}

/// RFC 4180 CSV reading.
enum CSV {
    /// Parses records; a quote left open at the end of the input is a 400 naming the line.
    static func parse(_ text: String) throws -> [[String]] {
        var records: [[String]] = []
        var record: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var quoteLine = 0
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func next() -> Unicode.Scalar? {
            if let scalar = pending { pending = nil; return scalar }
            return iterator.next()
        }
        while let scalar = next() {
            if quoted {
                if scalar == "\"" {
                    if let following = next() {
                        if following == "\"" { field.unicodeScalars.append("\"") } else { quoted = false; pending = following }
                    } else {
                        quoted = false
                    }
                } else {
                    if scalar == "\n" { line += 1 }
                    field.unicodeScalars.append(scalar)
                }
                continue
            }
            switch scalar {
            case "\"" where field.isEmpty:
                quoted = true
                quoteLine = line
            case ",":
                record.append(field)
                field = ""
            case "\r":
                continue
            case "\n":
                record.append(field)
                records.append(record)
                record = []
                field = ""
                line += 1
            default:
                field.unicodeScalars.append(scalar)
            }
        }
        if quoted { throw Problem.badRequest("The CSV has a quoted field opened on line \(quoteLine) that is never closed") }
        if !field.isEmpty || !record.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
