import Catalog
import Foundation
import Hummingbird

/// The filters of `GET /api/models` (and the providers view), read from the query string.
struct ModelQuery: Sendable {
    var provider: String?
    /// Effective statuses to include; default every status but retired.
    var statuses: Set<ModelStatus> = [.active, .beta, .deprecated]
    var supportsFunctions: Bool?
    var supportsVision: Bool?
    var minContext: Int?
    var capability: String?
    /// Case-insensitive substring of the model id, display name or family.
    var text: String?

    static let parameters: [APIParameter] = [
        .query("provider", .string(), "Only this provider's models."),
        .query("status", .string(), "Comma-separated statuses (active, beta, deprecated, retired) or all. Default: all but retired. Matches the effective status (deprecated once deprecation_date has passed)."),
        .query("supports_functions", .boolean(), "true / false"),
        .query("supports_vision", .boolean(), "true / false"),
        .query("min_context", .integer(), "Smallest context window (input tokens)."),
        .query("capability", .string(), "A capability tag, e.g. reasoning, prompt_caching, vision."),
        .query("q", .string(), "Search in model id, display name and family (case-insensitive)."),
    ]

    init() {}

    init(_ request: Request) throws {
        provider = request.query("provider")
        if let status = request.query("status") {
            if status.lowercased() == "all" {
                statuses = Set(ModelStatus.allCases)
            } else {
                statuses = []
                for name in status.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }) where !name.isEmpty {
                    guard let value = ModelStatus(rawValue: name) else {
                        throw APIError.badParameter("status", "must be active, beta, deprecated, retired or all; not \"\(name)\"")
                    }
                    statuses.insert(value)
                }
            }
        }
        supportsFunctions = try request.queryBool("supports_functions")
        supportsVision = try request.queryBool("supports_vision")
        minContext = try request.queryInt("min_context", range: 0...Int(Int32.max))
        capability = request.query("capability")?.lowercased()
        text = request.query("q")?.lowercased()
    }

    func matches(_ model: LLMModel, today: Date) -> Bool {
        if let provider, model.provider != provider { return false }
        if !statuses.contains(model.effectiveStatus(on: today)) { return false }
        if let supportsFunctions, model.supportsFunctions != supportsFunctions { return false }
        if let supportsVision, model.supportsVision != supportsVision { return false }
        if let minContext {
            guard let window = model.contextWindow, window >= minContext else { return false }
        }
        if let capability, !model.hasCapability(capability) { return false }
        if let text {
            let haystacks = [model.modelID, model.displayName, model.modelFamily ?? ""].map { $0.lowercased() }
            if !haystacks.contains(where: { $0.contains(text) }) { return false }
        }
        return true
    }
}
