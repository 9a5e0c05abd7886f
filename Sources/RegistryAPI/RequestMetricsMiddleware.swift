import Hummingbird
import Prometheus

/// Counts requests by method, route and status and records their latency, into the registry that
/// `/metrics` renders. Routes are labelled by their template (`/api/models/{model_id}`), never by
/// the raw path, so label cardinality stays bounded; unmatched paths share one label.
struct RequestMetricsMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    let registry: PrometheusCollectorRegistry
    /// Router path (`/api/models/**`) → documented template (`/api/models/{model_id}`).
    let templates: [String: String]

    static let buckets: [Duration] = [
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let status: Int
        let response: Response
        do {
            response = try await next(request, context)
            status = response.status.code
        } catch let error as any HTTPResponseError {
            record(request, context, status: error.status.code, elapsed: ContinuousClock.now - started)
            throw error
        } catch {
            record(request, context, status: 500, elapsed: ContinuousClock.now - started)
            throw error
        }
        record(request, context, status: status, elapsed: ContinuousClock.now - started)
        return response
    }

    private func record(_ request: Request, _ context: Context, status: Int, elapsed: Duration) {
        let route = context.endpointPath.flatMap { templates[$0] } ?? "unmatched"
        let method = request.method.rawValue
        registry.makeCounter(
            descriptor: MetricNameDescriptor(
                metricName: "http_server_requests", unitName: "total",
                helpText: "HTTP requests answered, by method, route template and status code."),
            labels: [("method", method), ("route", route), ("status", String(status))]
        ).increment()
        registry.makeDurationHistogram(
            descriptor: MetricNameDescriptor(
                metricName: "http_server_request_duration", unitName: "seconds",
                helpText: "Time to produce the response (headers), by method and route template."),
            labels: [("method", method), ("route", route)],
            buckets: Self.buckets
        ).record(elapsed)
    }
}
