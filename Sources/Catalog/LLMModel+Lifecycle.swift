import Foundation

extension LLMModel {
    /// The status to act on: the stored status, raised to `deprecated` once the deprecation date has
    /// arrived (on or after that day, matching the seed migration's `deprecation_date <= CURRENT_DATE`).
    /// Retired stays retired. Needed because nothing in the database flips `status` when a date passes.
    public func effectiveStatus(on day: CalendarDate) -> ModelStatus {
        if let deprecationDate, deprecationDate <= day {
            return max(status, .deprecated)
        }
        return status
    }

    /// `effectiveStatus(on:)` for the UTC day containing `date`.
    public func effectiveStatus(on date: Date) -> ModelStatus {
        effectiveStatus(on: CalendarDate(date))
    }

    /// Whether the model has the capability tag, also honouring the boolean columns (a row may say
    /// supports_vision = true without listing "vision", or the reverse).
    public func hasCapability(_ capability: String) -> Bool {
        let tag = capability.lowercased()
        switch tag {
        case "function_calling", "functions", "tools": if supportsFunctions { return true }
        case "vision": if supportsVision { return true }
        case "streaming": return supportsStreaming
        case "chat": return true  // every catalog model is a chat model
        default: break
        }
        return capabilities.contains { $0.lowercased() == tag }
    }

    /// Whether the model accepts only one temperature (min = max), e.g. OpenAI reasoning models.
    public var hasFixedTemperature: Bool { minTemperature == maxTemperature }
}
