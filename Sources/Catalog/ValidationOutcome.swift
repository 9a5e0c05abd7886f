/// One problem with one field of a request, as the API's error `details` carry it.
public struct FieldIssue: Sendable, Equatable, Hashable, Codable {
    /// JSON field name as the client sent it ("temperature", "fallback_model_ids[1]").
    public var field: String
    /// A sentence a person understands, naming the offending value and what is allowed.
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }
}

/// The result of validating something: errors reject it, warnings accompany an accepted value.
public struct ValidationOutcome: Sendable, Equatable {
    public var errors: [FieldIssue]
    public var warnings: [FieldIssue]

    public init(errors: [FieldIssue] = [], warnings: [FieldIssue] = []) {
        self.errors = errors
        self.warnings = warnings
    }

    /// True when there is no error (warnings do not block).
    public var isValid: Bool { errors.isEmpty }
}
