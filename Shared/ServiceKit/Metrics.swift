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
