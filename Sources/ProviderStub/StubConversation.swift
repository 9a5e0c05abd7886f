/// The parts of a chat request the stub's answer depends on, read from either API format.
struct StubConversation {
    enum ToolChoice: Equatable {
        case auto, none, required
        case named(String)
    }

    struct Tool {
        var name: String
        var schema: StubJSON
    }

    /// All text the prompt contains (messages, system, tool results, tool definitions): the
    /// input token count is derived from it.
    var promptText = ""
    var imageCount = 0
    var messageCount = 0
    /// Text of the last user turn that is not a tool result.
    var lastUserText = ""
    /// Tool results of the final turn, when the conversation ends with them.
    var trailingToolResults: [String] = []
    var tools: [Tool] = []
    var toolChoice: ToolChoice = .auto
    var parallelToolCalls = true
    var stopSequences: [String] = []
    var maxTokens: Int?
    /// Anthropic: the prompt up to its last `cache_control` marker (tools, system, messages, in
    /// the order Messages caches them); nil without markers.
    var cachePrefix: String?

    var inputTokens: Int {
        // A few tokens of framing per message, as real chat templates add.
        estimatedTokens(promptText) + 85 * imageCount + 3 * messageCount
    }
}

/// The stub's deterministic answer to a conversation.
struct StubReply {
    enum Finish: Equatable {
        case endTurn
        case maxTokens
        case stopSequence(String)
        case toolCalls
        case refusal
    }

    struct ToolCallReply {
        var name: String
        var arguments: StubJSON
    }

    var text: String?
    var toolCalls: [ToolCallReply] = []
    var finish: Finish = .endTurn
    var outputTokens = 0

    init(conversation: StubConversation, behavior: StubBehavior) {
        if behavior.refuse {
            text = "I can't help with that request."
            finish = .refusal
            outputTokens = estimatedTokens(text ?? "")
            return
        }
        let calls = Self.toolCalls(conversation, behavior: behavior)
        if !calls.isEmpty {
            toolCalls = calls
            finish = .toolCalls
            outputTokens = calls.reduce(0) { $0 + estimatedTokens($1.name) + estimatedTokens($1.arguments.encodedString()) }
            return
        }

        var reply: String
        if !conversation.trailingToolResults.isEmpty {
            reply = "Tool results received: " + conversation.trailingToolResults.joined(separator: "; ")
        } else if conversation.lastUserText.isEmpty {
            reply = "Stub reply."
        } else {
            reply = "Stub reply to: " + conversation.lastUserText
        }
        // A stop sequence in the reply ends it there, as it would for a real model.
        let stops = conversation.stopSequences.compactMap { stop -> (String, String.Index)? in
            guard !stop.isEmpty, let range = reply.range(of: stop) else { return nil }
            return (stop, range.lowerBound)
        }
        if let first = stops.min(by: { $0.1 < $1.1 }) {
            reply = String(reply[..<first.1])
            finish = .stopSequence(first.0)
        }
        outputTokens = estimatedTokens(reply)
        if let maxTokens = conversation.maxTokens, maxTokens >= 0, outputTokens > maxTokens {
            reply = String(reply.utf8.prefix(maxTokens * 4)) ?? String(reply.prefix(maxTokens * 4))
            outputTokens = maxTokens
            finish = .maxTokens
        }
        text = reply
    }

    /// Calls when tools are offered and either tool_choice demands one, the user's last message
    /// names a tool, or the model name says `tool`. A conversation that ends in tool results is
    /// answered in text unless a call is demanded, so agent loops terminate.
    private static func toolCalls(_ conversation: StubConversation, behavior: StubBehavior) -> [ToolCallReply] {
        let tools = conversation.tools
        guard !tools.isEmpty else { return [] }
        let userText = conversation.lastUserText.lowercased()
        let mentioned = tools.filter { userText.contains($0.name.lowercased()) }
        var chosen: [StubConversation.Tool]
        switch conversation.toolChoice {
        case .none:
            return []
        case .named(let name):
            chosen = tools.filter { $0.name == name }
            if chosen.isEmpty { chosen = [tools[0]] }
        case .required:
            chosen = mentioned.isEmpty ? [tools[0]] : mentioned
        case .auto:
            guard conversation.trailingToolResults.isEmpty else { return [] }
            chosen = mentioned.isEmpty && behavior.forceToolCall ? [tools[0]] : mentioned
        }
        if !conversation.parallelToolCalls { chosen = Array(chosen.prefix(1)) }
        return chosen.map { ToolCallReply(name: $0.name, arguments: arguments(for: $0.schema)) }
    }

    /// Arguments that satisfy the schema's required properties (all properties when none are
    /// listed): the first enum value, else a fixed value of the declared type.
    static func arguments(for schema: StubJSON) -> StubJSON {
        guard let properties = schema["properties"], properties.isObject else { return [:] }
        let required = schema["required"]?.array?.compactMap(\.string) ?? properties.object?.map(\.key) ?? []
        // Arguments in the schema's property order, as a model following the schema writes them.
        var values: StubJSON = [:]
        for (name, property) in properties.object ?? [] where required.contains(name) {
            if let first = property["enum"]?.array?.first {
                values[name] = first
                continue
            }
            switch property["type"]?.string {
            case "integer": values[name] = .int(property["minimum"]?.int ?? 1)
            case "number": values[name] = .double(property["minimum"]?.double ?? 1.5)
            case "boolean": values[name] = .bool(true)
            case "array": values[name] = .array([])
            case "object": values[name] = arguments(for: property)
            case "null": values[name] = .null
            default: values[name] = .string("stub-\(name)")
            }
        }
        return values
    }
}
