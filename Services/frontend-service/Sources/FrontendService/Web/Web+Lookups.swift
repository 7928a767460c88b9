import AsyncHTTPClient
import BaseModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceKit

extension Web {
    /// Department names by id (auth-service's directory, briefly cached).
    func departmentNames() async throws -> [UUID: String] {
        let departments = try await self.directory.departments()
        return Dictionary(departments.map { ($0.id, $0.name) }, uniquingKeysWith: { first, _ in first })
    }

    /// An employee's name for display; nil when the directory does not know them.
    func personName(_ id: UUID) async -> String? {
        try? await self.directory.employee(id)?.fullName
    }

    /// The names of several employees, looked up concurrently; those the directory does not know are absent.
    func personNames(_ ids: some Sequence<UUID>) async -> [UUID: String] {
        await withTaskGroup(of: (UUID, String?).self) { group in
            for id in Set(ids) { group.addTask { (id, await self.personName(id)) } }
            var names: [UUID: String] = [:]
            for await (id, name) in group { names[id] = name }
            return names
        }
    }

    /// Passes an API answer through to the browser as a stream (downloads, CSV exports), keeping
    /// the headers that describe the content.
    func proxy(_ method: HTTPMethod, _ path: String, visit: Visit, request: Request, accept: String) async throws -> Response {
        var headers: [(String, String)] = []
        let response = try await self.api.send(method, path, caller: visit.caller, accept: accept)
        guard (200..<300).contains(response.status.code) else {
            let bytes = try await response.body.collect(upTo: 1 << 20)
            try ServiceAPI.check(response.status, bytes, path: path)
            throw Problem.unavailable("Unexpected answer from \(path)")
        }
        for name in ["Content-Type", "Content-Length", "Content-Disposition", "Accept-Ranges", "ETag", "Last-Modified"] {
            if let value = response.headers.first(name: name) { headers.append((name, value)) }
        }
        var fields: HTTPFields = [.cacheControl: "private, no-store", .init("X-Content-Type-Options")!: "nosniff"]
        for (name, value) in headers { if let field = HTTPField.Name(name) { fields[field] = value } }
        let body = response.body
        return Response(
            status: .init(code: Int(response.status.code)), headers: fields,
            body: ResponseBody { writer in
                for try await chunk in body { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
    }
}
