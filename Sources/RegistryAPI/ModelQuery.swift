import Catalog
import Foundation
import Hummingbird
import Storage

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
        .query("provider", .string(maxLength: 64), "Only this provider's models."),
        .query("status", .string(maxLength: 64), "Comma-separated statuses (active, beta, deprecated, retired) or all. Default: all but retired. Matches the effective status (deprecated once deprecation_date has passed)."),
        .query("supports_functions", .boolean(), "true / false"),
        .query("supports_vision", .boolean(), "true / false"),
        .query("min_context", .integer(), "Smallest context window (input tokens)."),
        .query("capability", .string(maxLength: 64), "A capability tag, e.g. reasoning, prompt_caching, vision."),
        .query("q", .string(maxLength: 256), "Search in model id, display name and family (case-insensitive)."),
    ]

    /// `GET /api/models` only: paging.
    static let pageParameters: [APIParameter] = [
        .query("limit", JSONSchema.integer(minimum: 1, maximum: 500), "Models per page, 1–500 (default 100)."),
        .query("cursor", .string(maxLength: 2048), "next_cursor of the previous page."),
    ]

    /// The same filters for the repository (SQL), statuses judged on `today`.
    func filter(today: Date) -> ModelRepository.Filter {
        var filter = ModelRepository.Filter(today: CalendarDate(today))
        filter.provider = provider
        filter.statuses = statuses
        filter.supportsFunctions = supportsFunctions
        filter.supportsVision = supportsVision
        filter.minContext = minContext
        filter.capability = capability
        filter.text = text
        return filter
    }

    /// An opaque cursor: the last row's sort key, base64url-encoded JSON.
    static func cursor(after position: ModelRepository.Position) -> String? {
        guard let data = try? JSONEncoder().encode([position.provider, position.displayName, position.modelID]) else { return nil }
        return data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func position(fromCursor cursor: String) throws -> ModelRepository.Position {
        var base64 = cursor.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let parts = try? JSONDecoder().decode([String].self, from: data), parts.count == 3 else {
            throw APIError.badParameter("cursor", "must be a next_cursor from a previous page")
        }
        return ModelRepository.Position(provider: parts[0], displayName: parts[1], modelID: parts[2])
    }

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
}
