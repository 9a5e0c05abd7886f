import Foundation

/// A task type derived from an agent's type or skills, with why.
public struct TaskTypeMatch: Sendable, Equatable, Hashable, Codable {
    /// A `recommended_for` tag.
    public var taskType: String
    /// e.g. "agent type 'research' reads long sources and reasons over them".
    public var reason: String

    public init(taskType: String, reason: String) {
        self.taskType = taskType
        self.reason = reason
    }

    public enum CodingKeys: String, CodingKey {
        case taskType = "task_type"
        case reason
    }
}

/// Recommendations for an agent (`GET /api/agents/{id}/recommendations`).
public struct AgentRecommendations: Sendable, Equatable {
    /// The task types the agent's type and skills map to, in order of derivation.
    public var taskTypes: [TaskTypeMatch]
    public var result: RecommendationResult

    public init(taskTypes: [TaskTypeMatch], result: RecommendationResult) {
        self.taskTypes = taskTypes
        self.result = result
    }
}

/// JSON: `{"task_types": [...], "recommendations": [...], "exclusions": [...], "considered_count": n}`.
extension AgentRecommendations: Encodable {
    enum CodingKeys: String, CodingKey {
        case taskTypes = "task_types"
        case recommendations, exclusions
        case consideredCount = "considered_count"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(taskTypes, forKey: .taskTypes)
        try c.encode(result.recommendations, forKey: .recommendations)
        try c.encode(result.exclusions, forKey: .exclusions)
        try c.encode(result.consideredCount, forKey: .consideredCount)
    }
}

extension Recommender {
    /// Agent types the recommender knows → task types, with the reason a person reads.
    /// Keys are normalized (lowercase, `_` for spaces and dashes); several spellings map to one entry.
    static let agentTypeTasks: [String: (tasks: [String], why: String)] = {
        let research = (["reasoning", "analysis", "long_context"], "reads long sources and reasons over them")
        let coding = (["coding", "reasoning"], "writes and reviews code")
        let support = (["chat", "classification"], "holds conversations and routes requests")
        let content = (["chat", "summarization"], "writes and condenses text")
        let analysis = (["analysis", "reasoning"], "works through data and draws conclusions")
        let summarization = (["summarization", "long_context"], "condenses long inputs")
        let extraction = (["extraction"], "pulls structured fields out of text")
        let classification = (["classification"], "sorts inputs into categories")
        let vision = (["vision"], "works with images")
        let chat = (["chat"], "holds general conversations")
        var table: [String: (tasks: [String], why: String)] = [:]
        for key in ["research", "researcher"] { table[key] = research }
        for key in ["coding", "code", "coder", "developer", "engineering", "programming"] { table[key] = coding }
        for key in ["support", "customer_support", "customer_service", "helpdesk"] { table[key] = support }
        for key in ["content", "writing", "writer", "copywriting", "marketing"] { table[key] = content }
        for key in ["analysis", "analyst", "data_analysis", "data"] { table[key] = analysis }
        for key in ["summarization", "summarizer", "summary"] { table[key] = summarization }
        for key in ["extraction", "extractor"] { table[key] = extraction }
        for key in ["classification", "classifier", "triage", "router"] { table[key] = classification }
        for key in ["vision", "image", "multimodal"] { table[key] = vision }
        for key in ["chat", "assistant", "general", "conversational"] { table[key] = chat }
        return table
    }()

    /// Skill keywords (matched as substrings of the lowercased skill) → task types. First match wins per
    /// keyword; a skill may match several keywords.
    static let skillKeywords: [(keyword: String, task: String)] = [
        ("code", "coding"), ("program", "coding"), ("python", "coding"), ("sql", "coding"),
        ("debug", "coding"), ("refactor", "coding"),
        ("summar", "summarization"), ("tl;dr", "summarization"),
        ("extract", "extraction"), ("parse", "extraction"), ("parsing", "extraction"),
        ("classif", "classification"), ("categor", "classification"), ("triage", "classification"),
        ("routing", "classification"), ("sentiment", "classification"),
        ("image", "vision"), ("vision", "vision"), ("ocr", "vision"), ("screenshot", "vision"),
        ("analy", "analysis"), ("statistic", "analysis"),
        ("reason", "reasoning"), ("math", "reasoning"), ("planning", "reasoning"), ("research", "reasoning"),
        ("long document", "long_context"), ("long_document", "long_context"), ("long context", "long_context"),
        ("write", "chat"), ("writing", "chat"), ("conversation", "chat"), ("chat", "chat"),
        ("translat", "chat"), ("email", "chat"), ("support", "chat"),
    ]

    /// Task types for an agent's type and skills, in order (type first), without duplicates.
    /// An unknown or missing type with no recognisable skill falls back to general chat, so every agent
    /// gets recommendations.
    public static func taskTypes(forAgentType agentType: String?, skills: [String]) -> [TaskTypeMatch] {
        var matches: [TaskTypeMatch] = []
        func add(_ task: String, _ reason: String) {
            if !matches.contains(where: { $0.taskType == task }) {
                matches.append(TaskTypeMatch(taskType: task, reason: reason))
            }
        }
        let typeKey = agentType.map(normalizedTag) ?? ""
        if let entry = agentTypeTasks[typeKey] {
            for task in entry.tasks { add(task, "agent type '\(agentType ?? typeKey)' \(entry.why)") }
        }
        for skill in skills {
            let lowered = skill.lowercased()
            for (keyword, task) in skillKeywords where lowered.contains(keyword) {
                add(task, "skill '\(skill)' calls for \(task.replacingOccurrences(of: "_", with: " "))")
            }
        }
        if matches.isEmpty {
            let what = typeKey.isEmpty ? "no agent type" : "agent type '\(agentType ?? typeKey)' is not one the recommender knows"
            add("chat", "\(what) and no recognised skill: recommending general chat models")
        }
        return matches
    }

    /// Models for an agent: its type and skills become task types (see `taskTypes(forAgentType:skills:)`),
    /// which are scored as task fit; everything else is ranked as in `recommend(_:models:today:limit:)`
    /// with no hard requirement beyond status.
    public static func recommendations(
        forAgentType agentType: String?, skills: [String], models: [LLMModel], today: Date, limit: Int? = nil
    ) -> AgentRecommendations {
        let matches = taskTypes(forAgentType: agentType, skills: skills)
        let suffix = agentType.map { "(suits a '\($0)' agent)" }
        let result = rank(
            RecommendationRequirements(), taskTypes: matches.map(\.taskType), taskReasonSuffix: suffix,
            models: models, today: today, limit: limit)
        return AgentRecommendations(taskTypes: matches, result: result)
    }
}
