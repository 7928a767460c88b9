import Dispatch
import Hummingbird
import Metrics
import NIOCore
import Prometheus
import Synchronization

/// The process-wide Prometheus registry behind swift-metrics. The metrics system can be bootstrapped
/// once per process, so every application built in the process (tests build many) shares it.
public enum MetricsExporter {
    private static let state = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry, bootstrapping the metrics system on first use.
    public static var registry: PrometheusCollectorRegistry {
        state.withLock { registry in
            if let registry { return registry }
            let created = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: created)
            factory.defaultDurationHistogramBuckets = [
                .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
                .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
                .milliseconds(2_500), .seconds(5), .seconds(10),
            ]
            MetricsSystem.bootstrap(factory)
            registry = created
            return created
        }
    }

    /// `GET /metrics` in the Prometheus text format.
    public static func response() -> Response {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(16 * 1024)
        MetricsExporter.registry.emit(into: &bytes)
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}

/// Request metrics under the names of Hummingbird's `MetricsMiddleware` (`hb.requests`,
/// `http.server.request.duration`, `hb.request.errors` by route, method and status;
/// `http.server.active_requests` by method), measured until the handler has produced its response.
///
/// Hummingbird's middleware waits for the body to be written by wrapping it in a closure, so every
/// JSON answer went out as two socket writes (head, then body) with a hop to the event loop before
/// each: a tenth of a ticket list's cost. Here a body stays one buffer, written with its head. A
/// streamed body (a download, a CSV report) is timed to its first byte. Answers of 500 and above
/// count as errors, as do errors no middleware turned into an answer.
public struct RequestMetricsMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    private let cache = RequestMetricsCache()

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = DispatchTime.now().uptimeNanoseconds
        let active = self.cache.active(request.method)
        active.increment()
        defer { active.decrement() }
        do {
            let response = try await next(request, context)
            self.cache.endpoint(context.endpointPath ?? "Unknown", request.method, response.status)
                .record(since: start, error: response.status.code >= 500)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            self.cache.endpoint(context.endpointPath ?? "NotFound", request.method, status).record(since: start, error: true)
            throw error
        }
    }
}

/// The metric objects of each route, method and status, made once.
private final class RequestMetricsCache: Sendable {
    struct Key: Hashable {
        var route: String
        var method: HTTPRequest.Method
        var status: Int
    }

    struct Endpoint: Sendable {
        let requests: Metrics.Counter
        let duration: Metrics.Timer
        let errors: Metrics.Counter

        init(_ key: Key) {
            let route = [("http.route", key.route), ("http.request.method", key.method.rawValue)]
            let status = String(key.status)
            self.requests = Metrics.Counter(label: "hb.requests", dimensions: route + [("http.response.status_code", status)])
            self.duration = Metrics.Timer(
                label: "http.server.request.duration", dimensions: route + [("http.response.status_code", status)], preferredDisplayUnit: .seconds)
            self.errors = Metrics.Counter(label: "hb.request.errors", dimensions: route + [("error.type", status)])
        }

        func record(since start: UInt64, error: Bool) {
            self.requests.increment()
            self.duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            if error { self.errors.increment() }
        }
    }

    private let endpoints = Mutex<[Key: Endpoint]>([:])
    private let methods = Mutex<[HTTPRequest.Method: Metrics.Meter]>([:])

    func endpoint(_ route: String, _ method: HTTPRequest.Method, _ status: HTTPResponse.Status) -> Endpoint {
        let key = Key(route: route, method: method, status: status.code)
        return self.endpoints.withLock { endpoints in
            if let known = endpoints[key] { return known }
            let made = Endpoint(key)
            endpoints[key] = made
            return made
        }
    }

    func active(_ method: HTTPRequest.Method) -> Metrics.Meter {
        self.methods.withLock { methods in
            if let known = methods[method] { return known }
            let made = Metrics.Meter(label: "http.server.active_requests", dimensions: [("http.request.method", method.rawValue)])
            methods[method] = made
            return made
        }
    }
}
