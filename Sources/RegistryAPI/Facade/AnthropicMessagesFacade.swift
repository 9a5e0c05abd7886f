import ChatModel
import JSON

/// Anthropic Messages ⇄ the queue: a `POST /v1/messages` body becomes the neutral request
/// (system blocks → a system message, `tool_use`/`tool_result` blocks → tool calls and tool
/// messages), and a succeeded job's result becomes a `message` object or its event stream.
enum AnthropicMessagesFacade {
    static let fields: Set<String> = [
        "model", "messages", "max_tokens", "system", "temperature", "top_p", "stop_sequences", "tools", "tool_choice",
        "metadata", "stream", "service_tier", "thinking", "top_k",
    ]

    static func parse(_ document: JSONValue) throws(FacadeError) -> FacadeCall {
        guard case .object(let members) = document else { throw .invalidRequest("the request body must be a JSON object") }
        for member in members where !fields.contains(member.key) {
            throw .invalidRequest("\(member.key): unsupported parameter", param: member.key)
        }
        let model = try FacadeParsing.model(document["model"])
        let stream = try FacadeParsing.optionalBool(document["stream"], "stream") ?? false
        guard let maxTokens = document["max_tokens"]?.intValue else { throw .invalidRequest("max_tokens: field required (an integer)", param: "max_tokens") }

        var messages: [ChatMessage] = []
        switch document["system"] {
        case nil, .null?: break
        case .string(let text)?: if !text.isEmpty { messages.append(.system(text)) }
        case .array(let blocks)?:
            // One system message per cache breakpoint, so each marker keeps its place.
            var texts: [String] = []
            for (index, block) in blocks.enumerated() {
                guard block["type"]?.stringValue == "text", let text = block["text"]?.stringValue else {
                    throw .invalidRequest("system.\(index): only text blocks are supported", param: "system")
                }
                texts.append(text)
                if let marker = try cacheControl(block, path: "system.\(index)") {
                    var message = ChatMessage.system(texts.joined(separator: "\n\n"))
                    message.cacheControl = marker
                    messages.append(message)
                    texts = []
                }
            }
            if !texts.isEmpty { messages.append(.system(texts.joined(separator: "\n\n"))) }
        default:
            throw .invalidRequest("system: must be a string or an array of text blocks", param: "system")
        }
        guard let turns = document["messages"]?.arrayValue else { throw .invalidRequest("messages: field required (an array)", param: "messages") }
        for (index, turn) in turns.enumerated() {
            messages += try self.messages(turn, path: "messages.\(index)")
        }

        var tools: [ToolDefinition] = []
        if let list = document["tools"], !list.isNull {
            guard let array = list.arrayValue else { throw .invalidRequest("tools: must be an array", param: "tools") }
            for (index, tool) in array.enumerated() {
                let type = tool["type"]?.stringValue ?? "custom"
                guard type == "custom", let name = tool["name"]?.stringValue, let schema = tool["input_schema"], schema.isObject else {
                    throw .invalidRequest(
                        "tools.\(index): only custom tools with name and input_schema are supported", param: "tools")
                }
                tools.append(ToolDefinition(
                    name: name, description: tool["description"]?.stringValue, parameters: schema,
                    cacheControl: try cacheControl(tool, path: "tools.\(index)")))
            }
        }
        var toolChoice: ToolChoice?
        var parallelToolCalls: Bool?
        if let choice = document["tool_choice"], !choice.isNull {
            switch choice["type"]?.stringValue {
            case "auto"?: toolChoice = .auto
            case "any"?: toolChoice = .required
            case "none"?: toolChoice = ToolChoice.none
            case "tool"?:
                guard let name = choice["name"]?.stringValue else { throw .invalidRequest("tool_choice.name: field required", param: "tool_choice") }
                toolChoice = .tool(name: name)
            default:
                throw .invalidRequest("tool_choice.type: must be auto, any, tool or none", param: "tool_choice")
            }
            if try FacadeParsing.optionalBool(choice["disable_parallel_tool_use"], "tool_choice.disable_parallel_tool_use") == true {
                parallelToolCalls = false
            }
        }
        var stop: [String] = []
        if let sequences = document["stop_sequences"], !sequences.isNull {
            guard let array = sequences.arrayValue else { throw .invalidRequest("stop_sequences: must be an array of strings", param: "stop_sequences") }
            for item in array {
                guard let text = item.stringValue else { throw .invalidRequest("stop_sequences: must be an array of strings", param: "stop_sequences") }
                stop.append(text)
            }
        }
        func number(_ key: String) throws(FacadeError) -> Double? {
            guard let value = document[key], !value.isNull else { return nil }
            guard let number = value.doubleValue else { throw .invalidRequest("\(key): must be a number", param: key) }
            return number
        }
        var user: String?
        if let metadata = document["metadata"], !metadata.isNull {
            guard metadata.isObject else { throw .invalidRequest("metadata: must be an object", param: "metadata") }
            user = metadata["user_id"]?.stringValue
        }
        var reasoning: ReasoningControl?
        if let thinking = document["thinking"], !thinking.isNull {
            switch thinking["type"]?.stringValue {
            case "enabled"?:
                guard let budget = thinking["budget_tokens"]?.intValue, budget >= 1 else {
                    throw .invalidRequest("thinking.budget_tokens: field required (an integer)", param: "thinking")
                }
                reasoning = ReasoningControl(budgetTokens: budget)
            case "disabled"?:
                break
            default:
                throw .invalidRequest("thinking.type: must be enabled or disabled", param: "thinking")
            }
        }
        var topK: Int?
        if let value = document["top_k"], !value.isNull {
            guard let k = value.intValue, k >= 1 else { throw .invalidRequest("top_k: must be a positive integer", param: "top_k") }
            topK = k
        }
        let request = ChatRequest(
            messages: messages, tools: tools, toolChoice: toolChoice, parallelToolCalls: parallelToolCalls, stop: stop,
            temperature: try number("temperature"), topP: try number("top_p"), maxTokens: maxTokens, user: user,
            reasoning: reasoning, topK: topK)
        try FacadeParsing.check(request)
        return FacadeCall(model: model, request: request, stream: stream)
    }

    /// A block's `cache_control` as a neutral cache breakpoint.
    static func cacheControl(_ block: JSONValue, path: String) throws(FacadeError) -> CacheControl? {
        guard let marker = block["cache_control"], !marker.isNull else { return nil }
        guard marker["type"]?.stringValue == "ephemeral" else {
            throw .invalidRequest("\(path).cache_control.type: must be ephemeral", param: "cache_control")
        }
        let ttl = marker["ttl"]?.stringValue
        if let ttl, ttl != "5m", ttl != "1h" { throw .invalidRequest("\(path).cache_control.ttl: must be 5m or 1h", param: "cache_control") }
        return CacheControl(ttl: ttl)
    }

    /// One Anthropic turn as neutral messages: a user turn's `tool_result` blocks become tool
    /// messages (first, as the results answer the previous assistant turn), its other blocks one
    /// user message; an assistant turn's `tool_use` blocks become its tool calls.
    static func messages(_ turn: JSONValue, path: String) throws(FacadeError) -> [ChatMessage] {
        guard turn.isObject else { throw .invalidRequest("\(path): must be an object", param: "messages") }
        let role: ChatRole
        switch turn["role"]?.stringValue {
        case "user"?: role = .user
        case "assistant"?: role = .assistant
        default: throw .invalidRequest("\(path).role: must be user or assistant", param: "messages")
        }
        let blocks: [JSONValue]
        switch turn["content"] {
        case .string(let text)?: blocks = [.object([("type", "text"), ("text", .string(text))])]
        case .array(let array)?: blocks = array
        default: throw .invalidRequest("\(path).content: must be a string or an array of content blocks", param: "messages")
        }
        var parts: [ContentPart] = []
        var calls: [ToolCall] = []
        var results: [ChatMessage] = []
        // A breakpoint on any block marks its message (the neutral breakpoint follows a message).
        var marker: CacheControl?
        for (index, block) in blocks.enumerated() {
            let where_ = "\(path).content.\(index)"
            let blockMarker = try cacheControl(block, path: where_)
            if block["type"]?.stringValue != "tool_result", let blockMarker { marker = blockMarker }
            switch block["type"]?.stringValue {
            case "text"?:
                guard let text = block["text"]?.stringValue else { throw .invalidRequest("\(where_).text: field required", param: "messages") }
                parts.append(.text(text))
            case "image"?:
                let source = block["source"]
                switch source?["type"]?.stringValue {
                case "base64"?:
                    guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                        throw .invalidRequest("\(where_).source: media_type and data are required", param: "messages")
                    }
                    parts.append(.image(url: "data:\(media);base64,\(data)"))
                case "url"?:
                    guard let url = source?["url"]?.stringValue else { throw .invalidRequest("\(where_).source.url: field required", param: "messages") }
                    parts.append(.image(url: url))
                default:
                    throw .invalidRequest("\(where_).source.type: must be base64 or url", param: "messages")
                }
            case "document"?:
                let source = block["source"]
                let title = block["title"]?.stringValue
                switch source?["type"]?.stringValue {
                case "base64"?:
                    guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                        throw .invalidRequest("\(where_).source: media_type and data are required", param: "messages")
                    }
                    parts.append(.file(url: "data:\(media);base64,\(data)", filename: title))
                case "url"?:
                    guard let url = source?["url"]?.stringValue else { throw .invalidRequest("\(where_).source.url: field required", param: "messages") }
                    parts.append(.file(url: url, filename: title))
                case "text"?:
                    guard let data = source?["data"]?.stringValue else { throw .invalidRequest("\(where_).source.data: field required", param: "messages") }
                    parts.append(.text(title.map { "\($0)\n\n\(data)" } ?? data))
                default:
                    throw .invalidRequest("\(where_).source.type: must be base64, url or text", param: "messages")
                }
            case "thinking"? where role == .assistant, "redacted_thinking"? where role == .assistant:
                // Earlier turns' thinking: Anthropic ignores it there, and the neutral request has
                // no place for it (see docs/v1-compatibility.md on thinking with tool use).
                continue
            case "tool_use"? where role == .assistant:
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                    throw .invalidRequest("\(where_): tool_use needs id and name", param: "messages")
                }
                let input = block["input"].flatMap { $0.isNull ? nil : $0 } ?? .object([])
                calls.append(ToolCall(id: id, name: name, arguments: input.encodedString()))
            case "tool_result"? where role == .user:
                guard let id = block["tool_use_id"]?.stringValue else {
                    throw .invalidRequest("\(where_).tool_use_id: field required", param: "messages")
                }
                var text: String
                switch block["content"] {
                case nil, .null?: text = ""
                case .string(let value)?: text = value
                case .array(let items)?:
                    text = items.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined(separator: "\n")
                default: throw .invalidRequest("\(where_).content: must be a string or text blocks", param: "messages")
                }
                if block["is_error"]?.boolValue == true { text = "Error: " + text }
                var result = ChatMessage.tool(callID: id, content: text)
                result.cacheControl = blockMarker
                results.append(result)
            case let other:
                throw .invalidRequest(
                    "\(where_).type: '\(other ?? "")' is not supported in a \(role.rawValue) turn", param: "messages")
            }
        }
        if role == .assistant {
            return parts.isEmpty && calls.isEmpty ? [] : [ChatMessage(role: .assistant, content: parts, toolCalls: calls, cacheControl: marker)]
        }
        return results + (parts.isEmpty ? [] : [ChatMessage(role: .user, content: parts, cacheControl: marker)])
    }

    // MARK: - Answers

    static func stopReason(_ result: FacadeResult) -> String {
        if result.stopSequence != nil { return "stop_sequence" }
        switch result.finishReason {
        case "length"?: return "max_tokens"
        case "tool_calls"?: return "tool_use"
        case "content_filter"?: return "refusal"
        default: return result.toolCalls.isEmpty ? "end_turn" : "tool_use"
        }
    }

    /// Anthropic counts `input_tokens` without cache reads and writes.
    static func usage(_ result: FacadeResult) -> JSONValue {
        let usage = result.usage ?? FacadeResult.Usage(inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, cacheCreationInputTokens: 0, reasoningTokens: 0)
        return .object([
            ("input_tokens", .int(max(0, usage.inputTokens - usage.cachedInputTokens - usage.cacheCreationInputTokens))),
            ("output_tokens", .int(usage.outputTokens)),
            ("cache_creation_input_tokens", .int(usage.cacheCreationInputTokens)),
            ("cache_read_input_tokens", .int(usage.cachedInputTokens)),
        ])
    }

    /// A tool call's arguments as the `input` object (text that is no JSON object is kept whole).
    static func input(_ call: FacadeResult.ToolCall) -> JSONValue {
        if let value = JSONValue.parse(call.arguments), value.isObject { return value }
        return .object([("_raw", .string(call.arguments))])
    }

    static func contentBlocks(_ result: FacadeResult) -> [JSONValue] {
        var blocks: [JSONValue] = []
        let text = result.content ?? result.refusal
        if let text, !text.isEmpty { blocks.append(.object([("type", "text"), ("text", .string(text))])) }
        for call in result.toolCalls {
            blocks.append(.object([("type", "tool_use"), ("id", .string(call.id)), ("name", .string(call.name)), ("input", input(call))]))
        }
        return blocks
    }

    static func responseID(_ jobID: Int64) -> String { "msg_sb\(jobID)" }

    static func message(_ result: FacadeResult, jobID: Int64) -> JSONValue {
        .object([
            ("id", .string(responseID(jobID))), ("type", "message"), ("role", "assistant"), ("model", .string(result.model)),
            ("content", .array(contentBlocks(result))),
            ("stop_reason", .string(stopReason(result))), ("stop_sequence", result.stopSequence.map(JSONValue.string) ?? .null),
            ("usage", usage(result)),
        ])
    }

    /// The Messages streaming event sequence: message_start, per block content_block_start /
    /// one delta (text_delta or input_json_delta) / content_block_stop, message_delta, message_stop.
    static func stream(_ result: FacadeResult, jobID: Int64) -> [UInt8] {
        var bytes: [UInt8] = []
        func send(_ type: String, _ members: [(key: String, value: JSONValue)]) {
            FacadeSSE.append(event: type, data: .object([("type", .string(type))] + members), to: &bytes)
        }
        var start = usage(result)
        start["output_tokens"] = 0
        send("message_start", [("message", .object([
            ("id", .string(responseID(jobID))), ("type", "message"), ("role", "assistant"), ("model", .string(result.model)),
            ("content", .array([])), ("stop_reason", .null), ("stop_sequence", .null), ("usage", start),
        ]))])
        for (index, block) in contentBlocks(result).enumerated() {
            if block["type"]?.stringValue == "tool_use" {
                var opening = block
                opening["input"] = .object([])
                send("content_block_start", [("index", .int(index)), ("content_block", opening)])
                send("content_block_delta", [("index", .int(index)), ("delta", .object([
                    ("type", "input_json_delta"), ("partial_json", .string((block["input"] ?? .object([])).encodedString())),
                ]))])
            } else {
                send("content_block_start", [("index", .int(index)), ("content_block", .object([("type", "text"), ("text", "")]))])
                send("content_block_delta", [("index", .int(index)), ("delta", .object([
                    ("type", "text_delta"), ("text", block["text"] ?? ""),
                ]))])
            }
            send("content_block_stop", [("index", .int(index))])
        }
        send("message_delta", [
            ("delta", .object([("stop_reason", .string(stopReason(result))), ("stop_sequence", result.stopSequence.map(JSONValue.string) ?? .null)])),
            ("usage", .object([("output_tokens", .int(result.usage?.outputTokens ?? 0))])),
        ])
        send("message_stop", [])
        return bytes
    }
}
