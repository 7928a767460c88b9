import BaseModel
import Foundation
import Glibc
import HTTPTypes
import HummingbirdTesting
import NIOPosix
import Testing
import TestSupport

@Suite("Ranges and streaming")
struct DownloadTests {
    /// One byte range is served as 206 with its Content-Range; a range past the end is 416; several ranges or a stale If-Range get the whole file.
    @Test func rangeRequestsServeOnePart() async throws {
        try await FileWorld.run { world in
            let ticket = try await world.ticket()
            let bytes = Sample.pdf(100)
            let file = try await world.uploaded(bytes, filename: "scan.pdf", type: "application/pdf", ticket: ticket)
            let path = "/api/v1/files/\(file.id.lowercased)"
            let parts: [(String, ClosedRange<Int>)] = [
                ("bytes=0-9", 0...9), ("bytes=90-", 90...99), ("bytes=-5", 95...99), ("bytes=95-5000", 95...99), ("bytes=-500", 0...99),
            ]
            for (range, expected) in parts {
                let response = try await world.get(path, as: "requestor", headers: [.range: range])
                #expect(response.status == .partialContent, "\(range)")
                #expect(response.headers[.contentRange] == "bytes \(expected.lowerBound)-\(expected.upperBound)/100", "\(range)")
                #expect(response.headers[.contentLength] == String(expected.count), "\(range)")
                #expect(Array(response.body.readableBytesView) == Array(bytes[expected]), "\(range)")
            }
            for range in ["bytes=100-", "bytes=500-600", "bytes=-0"] {
                let response = try await world.get(path, as: "requestor", headers: [.range: range])
                #expect(response.status == .rangeNotSatisfiable, "\(range)")
                #expect(response.headers[.contentRange] == "bytes */100", "\(range)")
            }
            for range in ["bytes=0-1,5-6", "items=0-5", "bytes=9-2", "bytes=abc"] {
                let response = try await world.get(path, as: "requestor", headers: [.range: range])
                #expect(response.status == .ok, "\(range)")
                #expect(response.body.readableBytes == 100, "\(range)")
            }
            let stale = try await world.get(path, as: "requestor", headers: [.range: "bytes=0-9", .ifRange: "\"0000\""])
            #expect(stale.status == .ok)
            let fresh = try await world.get(path, as: "requestor", headers: [.range: "bytes=0-9", .ifRange: "\"\(file.sha256)\""])
            #expect(fresh.status == .partialContent)
        }
    }

    /// Over a real connection, a Content-Length over the limit is refused before any body is sent, and a chunked body is cut off with 413 as soon as it passes the limit.
    @Test func oversizedUploadsAreRefusedWithoutWaitingForTheBody() async throws {
        try await FileWorld.run(maxUploadBytes: 100_000, setup: .live) { world in
            let port = try #require(world.client.port)
            let ticket = try await world.ticket()
            let head = """
                POST /api/v1/files?ticket_id=\(ticket.lowercased)&filename=big.txt HTTP/1.1\r
                Host: 127.0.0.1\r
                Authorization: Bearer \(world.token("requestor"))\r
                Content-Type: text/plain\r

                """
            let announced = try await RawHTTP.status(port: port, Array((head + "Content-Length: 100001\r\n\r\n").utf8))
            #expect(announced == 413)
            // 150 KB of chunks and no final zero-length chunk: the answer must not wait for an end that never comes.
            var chunked = Array((head + "Transfer-Encoding: chunked\r\n\r\n").utf8)
            for _ in 0..<15 { chunked += Array("2710\r\n".utf8) + Sample.text(10_000) + Array("\r\n".utf8) }
            let cutOff = try await RawHTTP.status(port: port, chunked)
            #expect(cutOff == 413)
            #expect(try await world.rowCount() == 0)
            #expect(world.filesOnDisk() == [])
        }
    }
}

/// HTTP/1.1 over a plain socket, for what HTTP clients will not do: announce more than they send.
/// The blocking socket calls run on a thread pool of their own: never on the concurrency pool the
/// server needs, nor on NIO's shared blocking pool, where the server writes its files (it has one
/// thread per core, so two suites waiting for an answer at once would starve the servers they wait for).
enum RawHTTP {
    struct Failure: Error { var reason: String }

    private static let threads: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    /// Sends `request` as it is and returns the status code of the response that follows.
    static func status(port: Int, _ request: [UInt8]) async throws -> Int {
        try await Self.threads.runIfActive {
            guard let socket = LoopbackSocket.connect(port: port, timeout: .seconds(10)) else { throw Failure(reason: "connect") }
            defer { close(socket) }
            // The server may answer and stop reading before everything is sent; that is the point.
            LoopbackSocket.send(socket, request)
            var response: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while !response.contains(UInt8(ascii: "\n")) {
                let count = recv(socket, &buffer, buffer.count, 0)
                guard count > 0 else { throw Failure(reason: "no response") }
                response += buffer[..<count]
            }
            let line = String(decoding: response, as: UTF8.self).split(separator: " ")
            guard line.count >= 2, let status = Int(line[1]) else { throw Failure(reason: "not HTTP: \(line)") }
            return status
        }
    }
}
