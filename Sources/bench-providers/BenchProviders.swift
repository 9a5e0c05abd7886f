import Catalog
import CurlHTTP
import Foundation
import Providers

/// `bench-providers`: CPU per `ProviderClient.complete` call against a running provider-stub, for
/// both API styles. Run by `make bench-providers` (scripts/bench-providers.sh), which pins the stub
/// to the other core and adds a perf profile.
///
/// Usage: bench-providers --base-url http://127.0.0.1:18090 [--calls 20000] [--concurrency 100]
///                        [--style openai|anthropic|both] [--stub-pid PID]
@main
struct BenchProviders {
    static func main() async throws {
        var arguments = CommandLine.arguments.dropFirst()
        var baseURL = "http://127.0.0.1:18090"
        var calls = 20_000
        var concurrency = 100
        var styles: [APIStyle] = [.openai, .anthropic]
        var stubPID: Int32?
        while let flag = arguments.popFirst() {
            let value = arguments.popFirst() ?? ""
            switch flag {
            case "--base-url": baseURL = value
            case "--calls": calls = Int(value) ?? calls
            case "--concurrency": concurrency = max(1, Int(value) ?? concurrency)
            case "--style": styles = value == "both" ? [.openai, .anthropic] : value == "anthropic" ? [.anthropic] : [.openai]
            case "--stub-pid": stubPID = Int32(value)
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }

        let http = try CurlHTTPClient()
        defer { http.shutdown() }
        // The bench key is bound to the stub's host (which may then be loopback), as an operator binds a real key.
        let benchHost = Provider.parseBaseURL(baseURL)?.host ?? "127.0.0.1"
        let client = ProviderClient(
            transport: http, environment: ["BENCH_KEY": "sk-bench", KeyHostBindings.environmentVariable: "BENCH_KEY=\(benchHost)"])
        let request = ChatRequest(
            messages: [
                .system("You are a concise assistant for a travel agency."),
                .user("Suggest three things to do in Lisbon on a rainy afternoon, one line each."),
            ],
            temperature: 0.7, maxTokens: 256, user: "agent-42")

        for style in styles {
            let provider = Provider(
                name: style == .openai ? "openai" : "anthropic", apiStyle: style, baseURL: baseURL,
                apiKeyEnv: "BENCH_KEY", connectTimeoutSeconds: 5, requestTimeoutSeconds: 60)
            let model = style == .openai ? "gpt-4o-mini" : "claude-haiku-4-5"
            // Warm-up: connections, caches, lazy initialisation.
            _ = try await run(client, request, model, provider, calls: min(2_000, calls), concurrency: concurrency)

            let stubBefore = stubPID.flatMap(processCPUSeconds)
            let cpuBefore = ownCPUSeconds()
            let start = ContinuousClock.now
            let failures = try await run(client, request, model, provider, calls: calls, concurrency: concurrency)
            let wall = ContinuousClock.now - start
            let cpu = ownCPUSeconds() - cpuBefore
            let wallSeconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
            var line = String(
                format: "%@: %d calls, concurrency %d, %d failed: %.0f calls/s, client CPU %.1f µs/call",
                style == .openai ? "openai   " : "anthropic", calls, concurrency, failures,
                Double(calls) / wallSeconds, cpu / Double(calls) * 1e6)
            if let stubBefore, let stubAfter = stubPID.flatMap(processCPUSeconds) {
                line += String(format: ", stub CPU %.1f µs/request", (stubAfter - stubBefore) / Double(calls) * 1e6)
            }
            print(line)
        }
    }

    /// `calls` calls spread over `concurrency` tasks; returns how many failed.
    static func run(
        _ client: ProviderClient, _ request: ChatRequest, _ model: String, _ provider: Provider, calls: Int, concurrency: Int
    ) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                let share = calls / concurrency + (worker < calls % concurrency ? 1 : 0)
                group.addTask {
                    var failed = 0
                    for _ in 0..<share {
                        do {
                            _ = try await client.complete(request, model: model, provider: provider)
                        } catch {
                            failed += 1
                            if failed == 1 { FileHandle.standardError.write(Data("call failed: \(error)\n".utf8)) }
                        }
                    }
                    return failed
                }
            }
            var failed = 0
            for try await count in group { failed += count }
            return failed
        }
    }

    /// User + system CPU seconds of this process.
    static func ownCPUSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
            + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
    }

    /// User + system CPU seconds of another process, from /proc/PID/stat (fields 14 and 15, in ticks).
    static func processCPUSeconds(_ pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = text.lastIndex(of: ")")
        else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12.
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        return (user + system) / ticks
    }
}
