import AsyncHTTPClient
import BaseModel
import Crypto
import Foundation
import HDMSProtocol
import HummingbirdWSClient
import JWTKit
import Logging
import NIOCore
import NIOPosix
import Synchronization

/// `hdms-bench ws`: many authenticated sockets on one communication-service, then messages posted
/// at a steady rate; reports the delivery latency from the POST to each socket's frame, and the
/// service's RSS per 1,000 idle sockets.
///
/// Read from the environment (scripts/bench sets them): `HDMS_BENCH_COMMS_URL`, `HDMS_BENCH_COMMS_PID`,
/// `HDMS_BENCH_PARTICIPANTS` (a file of `<ticket id> <participant id>` lines: each participant gets
/// one socket), `HDMS_BENCH_JWT_KEY` (auth-service's Ed25519 seed, to sign the participants' tokens),
/// `HDMS_BENCH_POSTER_TOKEN` (a real user who may post on every ticket), `HDMS_BENCH_RATE`
/// (messages per second, default 20) and `HDMS_BENCH_SECONDS` (default 30).
enum WebSocketBench {
    struct Settings {
        var comms: String
        var pid: Int32
        var participants: [(ticket: UUID, user: UUID)]
        var seed: Data
        var posterToken: String
        var rate: Int
        var seconds: Int

        init() throws {
            let environment = ProcessInfo.processInfo.environment
            func value(_ name: String) throws -> String {
                guard let value = environment[name], !value.isEmpty else { throw WebSocketBenchError.missing(name) }
                return value
            }
            self.comms = try value("HDMS_BENCH_COMMS_URL")
            self.pid = Int32(try value("HDMS_BENCH_COMMS_PID")) ?? 0
            self.participants = try String(contentsOfFile: try value("HDMS_BENCH_PARTICIPANTS"), encoding: .utf8)
                .split(separator: "\n").compactMap { line in
                    let parts = line.split(separator: " ")
                    guard parts.count == 2, let ticket = UUID(uuidString: String(parts[0])), let user = UUID(uuidString: String(parts[1])) else { return nil }
                    return (ticket, user)
                }
            guard let seed = Data(base64Encoded: try value("HDMS_BENCH_JWT_KEY")) else { throw WebSocketBenchError.missing("HDMS_BENCH_JWT_KEY") }
            self.seed = seed
            self.posterToken = try value("HDMS_BENCH_POSTER_TOKEN")
            self.rate = Int(environment["HDMS_BENCH_RATE"] ?? "") ?? 20
            self.seconds = Int(environment["HDMS_BENCH_SECONDS"] ?? "") ?? 30
        }
    }

    /// What the sockets saw.
    final class Tally: Sendable {
        let ready = Atomic<Int>(0)
        let failed = Atomic<Int>(0)
        let closed = Atomic<Int>(0)
        /// When each message (by its sequence number) was posted.
        let sent = Mutex<[Int: ContinuousClock.Instant]>([:])
        /// Delivery latencies in milliseconds.
        let latencies = Mutex<[Double]>([])
        let unmatched = Atomic<Int>(0)
        /// Set when the run is over: sockets leave their loops.
        let stop = Atomic<Bool>(false)
    }

    /// Whether one socket was answered `ready`.
    final class Flag: Sendable {
        let value = Atomic<Bool>(false)
    }

    static func run(report: Report) async throws {
        let settings = try Settings()
        let logger = {
            var logger = Logger(label: "hdms-bench-ws")
            logger.logLevel = .critical
            return logger
        }()
        let signing = try Curve25519.Signing.PrivateKey(rawRepresentation: settings.seed)
        let kid = SHA256.hash(data: signing.publicKey.rawRepresentation).prefix(8).map { String(format: "%02x", $0) }.joined()
        let keys = JWTKeyCollection()
        await keys.add(eddsa: try EdDSA.PrivateKey(backing: signing), kid: JWKIdentifier(string: kid))

        let sockets = settings.participants.count
        print("signing \(sockets) tokens")
        var tokens: [String] = []
        tokens.reserveCapacity(sockets)
        for participant in settings.participants {
            let claims = AccessClaims(
                subject: participant.user.lowercased, audience: AccessClaims.userAudience, kind: .user, roles: [.requestor],
                department: nil, moderates: nil, heads: nil, isCEO: nil, name: "Bench Participant", issuedAt: Date(), lifetime: 3_600)
            tokens.append(try await keys.sign(claims, kid: JWKIdentifier(string: kid)))
        }

        let rssBefore = Self.rssKB(settings.pid)
        try report.record("ws.rss_before_sockets", Double(rssBefore), "kB")
        let tally = Tally()
        let url = settings.comms.replacingOccurrences(of: "http://", with: "ws://") + "/api/v1/ws"
        let opened = ContinuousClock.now
        try await withThrowingTaskGroup(of: Void.self) { group in
            // Opened in waves of 250, each wave waiting for the one before to be ready, so the
            // listen backlog never overflows.
            for wave in stride(from: 0, to: sockets, by: 250) {
                for index in wave..<min(wave + 250, sockets) {
                    let token = tokens[index]
                    group.addTask { await Self.socket(url: url, token: token, tally: tally, logger: logger) }
                }
                let target = min(wave + 250, sockets)
                for _ in 0..<600 where tally.ready.load(ordering: .relaxed) + tally.failed.load(ordering: .relaxed) < target {
                    try await Task.sleep(for: .milliseconds(50))
                }
            }
            let ready = tally.ready.load(ordering: .relaxed)
            try report.record("ws.sockets_ready", Double(ready), "sockets")
            try report.record("ws.sockets_failed", Double(tally.failed.load(ordering: .relaxed)), "sockets")
            try report.record("ws.open_seconds", Self.seconds(ContinuousClock.now - opened), "s")
            try await Task.sleep(for: .seconds(5))
            let rssIdle = Self.rssKB(settings.pid)
            try report.record("ws.rss_idle_sockets", Double(rssIdle), "kB")
            if ready > 0 {
                try report.record("ws.rss_per_1000_idle_sockets", Double(rssIdle - rssBefore) / 1024 / (Double(ready) / 1000), "MiB")
            }

            let tickets = Array(Set(settings.participants.map(\.ticket))).sorted { $0.uuidString < $1.uuidString }
            let perTicket = Dictionary(grouping: settings.participants, by: \.ticket).mapValues(\.count)
            let total = settings.rate * settings.seconds
            var expected = 0
            let interval = Duration.seconds(1) / settings.rate
            let start = ContinuousClock.now
            print("posting \(total) messages at \(settings.rate)/s over \(tickets.count) tickets")
            try await withThrowingTaskGroup(of: Bool.self) { posts in
                for sequence in 0..<total {
                    let ticket = tickets[sequence % tickets.count]
                    expected += perTicket[ticket] ?? 0
                    try await Task.sleep(until: start + interval * sequence, clock: .continuous)
                    let comms = settings.comms
                    let token = settings.posterToken
                    posts.addTask { try await Self.post(sequence, ticket: ticket, comms: comms, token: token, tally: tally) }
                }
                var failures = 0
                for try await ok in posts where !ok { failures += 1 }
                try report.record("ws.post_failures", Double(failures), "posts")
            }
            try report.record("ws.post_rate_achieved", Double(total) / Self.seconds(ContinuousClock.now - start), "messages/s")
            // Frames still in flight arrive within a few seconds.
            for _ in 0..<100 where tally.latencies.withLock({ $0.count }) < expected { try await Task.sleep(for: .milliseconds(100)) }
            let latencies = tally.latencies.withLock { $0 }.sorted()
            try report.record("ws.messages_posted", Double(total), "messages")
            try report.record("ws.frames_expected", Double(expected), "frames")
            try report.record("ws.frames_delivered", Double(latencies.count), "frames")
            if !latencies.isEmpty {
                func percentile(_ p: Double) -> Double { latencies[min(latencies.count - 1, Int(Double(latencies.count) * p))] }
                try report.record("ws.delivery_latency_p50", percentile(0.50), "ms")
                try report.record("ws.delivery_latency_p90", percentile(0.90), "ms")
                try report.record("ws.delivery_latency_p99", percentile(0.99), "ms")
                try report.record("ws.delivery_latency_max", latencies[latencies.count - 1], "ms")
            }
            try report.record("ws.rss_after", Double(Self.rssKB(settings.pid)), "kB")
            try report.record("ws.rss_peak", Double(Self.rssKB(settings.pid, field: "VmHWM:")), "kB")
            tally.stop.store(true, ordering: .relaxed)
            group.cancelAll()
        }
    }

    /// One participant's socket: authenticates with the subprotocol header, counts `ready`, and
    /// records the latency of every message frame until the run stops.
    static func socket(url: String, token: String, tally: Tally, logger: Logger) async {
        struct Frame: Decodable {
            var type: String
            var message: Body?
            struct Body: Decodable { var body: String }
        }
        let configuration = WebSocketClientConfiguration(additionalHeaders: [.secWebSocketProtocol: "hdms.v1, bearer.\(token)"])
        let counted = Flag()
        do {
            try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, _, _ in
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    let now = ContinuousClock.now
                    guard case .text(let text) = message, let frame = try? JSONDecoder().decode(Frame.self, from: Data(text.utf8)) else { continue }
                    switch frame.type {
                    case "ready":
                        tally.ready.add(1, ordering: .relaxed)
                        counted.value.store(true, ordering: .relaxed)
                    case "message":
                        guard let body = frame.message?.body, body.hasPrefix("bench "), let sequence = Int(body.dropFirst(6)),
                              let sent = tally.sent.withLock({ $0[sequence] })
                        else {
                            tally.unmatched.add(1, ordering: .relaxed)
                            continue
                        }
                        let latency = Self.seconds(now - sent) * 1000
                        tally.latencies.withLock { $0.append(latency) }
                    case "error":
                        print("socket refused: \(text)")
                    default:
                        continue
                    }
                    if tally.stop.load(ordering: .relaxed) { break }
                }
            }
        } catch {
            if !counted.value.load(ordering: .relaxed) && !Task.isCancelled { tally.failed.add(1, ordering: .relaxed) }
            return
        }
        if !counted.value.load(ordering: .relaxed) { tally.failed.add(1, ordering: .relaxed) }
    }

    /// Posts message `sequence` ("bench <sequence>") to `ticket`; false when it was not accepted.
    static func post(_ sequence: Int, ticket: UUID, comms: String, token: String, tally: Tally) async throws -> Bool {
        var request = HTTPClientRequest(url: "\(comms)/api/v1/conversations/\(ticket.lowercased)/messages")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"body":"bench \#(sequence)"}"#))
        tally.sent.withLock { $0[sequence] = .now }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        if response.status != .created { print("post \(sequence) answered \(response.status.code)") }
        return response.status == .created
    }

    /// A field of /proc/<pid>/status in kB.
    static func rssKB(_ pid: Int32, field: String = "VmRSS:") -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix(field) {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0
        }
        return 0
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

enum WebSocketBenchError: Error, CustomStringConvertible {
    case missing(String)

    var description: String {
        switch self {
        case .missing(let name): "\(name) is not set (run through scripts/bench ws)"
        }
    }
}
