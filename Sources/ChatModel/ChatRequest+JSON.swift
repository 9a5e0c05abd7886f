// The neutral request's one JSON form (the documented job request format), used by the jobs API,
// the /v1 facade and the worker alike, so a request one of them accepts the others can read. It is
// the OpenAI Chat Completions shape minus `model`, so callers that already build OpenAI bodies can
// reuse them: `content` is a string or an array of `text` / `image_url` parts, tool calls are
// `{"id","type":"function","function":{"name","arguments"}}`, `stop` is a string or an array.
// Read and written with the JSON module, not Foundation's coders, so tool and response schemas
// keep their member order and numbers their exact text (`JSONDecoder` can do neither).

/// Why a document is not a valid neutral request, with the path of the offending field.
public struct ChatRequestJSONError: Error, Equatable, CustomStringConvertible {
    /// `messages[2].content`, `tools[0].function.name`…
    public var path: String
    public var message: String

    public init(path: String, message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

extension ChatRequest {
    /// Parses the request from JSON bytes (strict: syntax errors say line and column).
    public init<Bytes: Sequence<UInt8>>(jsonBytes bytes: Bytes) throws {
        try self.init(json: try JSONParser.parse(contiguous: bytes, maximumDepth: 512))
    }

    /// Reads the request from a parsed document. Unknown keys are ignored here; the HTTP layer decides whether to reject them.
    public init(json: JSONValue) throws(ChatRequestJSONError) {
        guard json.isObject else { throw ChatRequestJSONError(path: "", message: "a request must be a JSON object") }
        let reader = Reader(json, path: "")
        guard let messages = json["messages"]?.arrayValue else {
            throw reader.error("messages", "is required and must be an array")
        }
        var parsedMessages: [ChatMessage] = []
        parsedMessages.reserveCapacity(messages.count)
        for (index, message) in messages.enumerated() {
            parsedMessages.append(try ChatMessage(json: message, path: "messages[\(index)]"))
        }
        var tools: [ToolDefinition] = []
        if let array = try reader.optionalArray("tools") {
            for (index, tool) in array.enumerated() {
                tools.append(try ToolDefinition(json: tool, path: "tools[\(index)]"))
            }
        }
        var stop: [String] = []
        switch json["stop"] {
        case nil, .null?: break
        case .string(let single)?: stop = [single]
        case .array(let items)?:
            for (index, item) in items.enumerated() {
                guard let text = item.stringValue else { throw reader.error("stop[\(index)]", "must be a string") }
                stop.append(text)
            }
        default: throw reader.error("stop", "must be a string or an array of strings")
        }
        var maxTokens = try reader.optionalInt("max_tokens")
        if maxTokens == nil { maxTokens = try reader.optionalInt("max_completion_tokens") }
        var reasoning: ReasoningControl?
        if let value = json["reasoning"], !value.isNull {
            reasoning = try ReasoningControl(json: value, path: "reasoning")
        }
        // OpenAI Chat Completions' flat name for the effort.
        if let effort = try reader.optionalString("reasoning_effort") {
            guard let level = ReasoningEffort(rawValue: effort) else {
                throw reader.error("reasoning_effort", "must be one of \(ReasoningEffort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            reasoning = ReasoningControl(effort: level, budgetTokens: reasoning?.budgetTokens)
        }
        // OpenAI's newer name for the end-user id is `safety_identifier`; both mean the same.
        var user = try reader.optionalString("user")
        if user == nil { user = try reader.optionalString("safety_identifier") }
        let verbosity = try reader.optionalString("verbosity")
        if let verbosity, !["low", "medium", "high"].contains(verbosity) {
            throw reader.error("verbosity", "must be low, medium or high")
        }
        self.init(
            messages: parsedMessages,
            tools: tools,
            toolChoice: try json["tool_choice"].flatMap { $0.isNull ? nil : $0 }.map { value throws(ChatRequestJSONError) in
                try ToolChoice(json: value, path: "tool_choice")
            },
            parallelToolCalls: try reader.optionalBool("parallel_tool_calls"),
            stop: stop,
            temperature: try reader.optionalDouble("temperature"),
            topP: try reader.optionalDouble("top_p"),
            maxTokens: maxTokens,
            frequencyPenalty: try reader.optionalDouble("frequency_penalty"),
            presencePenalty: try reader.optionalDouble("presence_penalty"),
            responseFormat: try json["response_format"].flatMap { $0.isNull ? nil : $0 }.map { value throws(ChatRequestJSONError) in
                try ResponseFormat(json: value, path: "response_format")
            },
            user: user,
            seed: try reader.optionalInt("seed"),
            reasoning: reasoning,
            verbosity: verbosity,
            promptCacheKey: try reader.optionalString("prompt_cache_key"),
            topK: try reader.optionalInt("top_k"))
    }

    /// The request as a document, in the documented key order.
    public var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("messages", .array(messages.map(\.jsonValue)))]
        if !tools.isEmpty { members.append(("tools", .array(tools.map(\.jsonValue)))) }
        if let toolChoice { members.append(("tool_choice", toolChoice.jsonValue)) }
        if let parallelToolCalls { members.append(("parallel_tool_calls", .bool(parallelToolCalls))) }
        if !stop.isEmpty { members.append(("stop", .array(stop.map(JSONValue.string)))) }
        if let temperature { members.append(("temperature", .double(temperature))) }
        if let topP { members.append(("top_p", .double(topP))) }
        if let maxTokens { members.append(("max_tokens", .int(maxTokens))) }
        if let frequencyPenalty { members.append(("frequency_penalty", .double(frequencyPenalty))) }
        if let presencePenalty { members.append(("presence_penalty", .double(presencePenalty))) }
        if let responseFormat { members.append(("response_format", responseFormat.jsonValue)) }
        if let user { members.append(("user", .string(user))) }
        if let seed { members.append(("seed", .int(seed))) }
        if let reasoning { members.append(("reasoning", reasoning.jsonValue)) }
        if let verbosity { members.append(("verbosity", .string(verbosity))) }
        if let promptCacheKey { members.append(("prompt_cache_key", .string(promptCacheKey))) }
        if let topK { members.append(("top_k", .int(topK))) }
        return .object(members)
    }

    /// Compact JSON bytes of `jsonValue`.
    public func jsonBytes() -> [UInt8] { jsonValue.encodedBytes() }
}

extension ChatMessage {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        guard json.isObject else { throw reader.error("", "must be an object") }
        guard let roleText = json["role"]?.stringValue else { throw reader.error("role", "is required") }
        // OpenAI's `developer` role is its newer name for system instructions.
        guard let role = ChatRole(rawValue: roleText == "developer" ? "system" : roleText) else {
            throw reader.error("role", "must be one of system, user, assistant, tool")
        }
        var content: [ContentPart] = []
        var cacheControl: CacheControl?
        if let marker = json["cache_control"], !marker.isNull {
            cacheControl = try CacheControl(json: marker, path: "\(path).cache_control")
        }
        switch json["content"] {
        case nil, .null?: break
        case .string(let text)?: content = [.text(text)]
        case .array(let parts)?:
            for (index, part) in parts.enumerated() {
                let partPath = "\(path).content[\(index)]"
                content.append(try ContentPart(json: part, path: partPath))
                // A marker on a part (the convention of OpenRouter and LiteLLM) marks the message:
                // the neutral breakpoint sits after a message's content.
                if let marker = part["cache_control"], !marker.isNull {
                    cacheControl = try CacheControl(json: marker, path: "\(partPath).cache_control")
                }
            }
        default: throw reader.error("content", "must be a string, an array of parts or null")
        }
        var toolCalls: [ToolCall] = []
        if let calls = try reader.optionalArray("tool_calls") {
            for (index, call) in calls.enumerated() {
                toolCalls.append(try ToolCall(json: call, path: "\(path).tool_calls[\(index)]"))
            }
        }
        self.init(
            role: role, content: content, toolCalls: toolCalls,
            toolCallID: try reader.optionalString("tool_call_id"), name: try reader.optionalString("name"), cacheControl: cacheControl)
    }

    var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("role", .string(role.rawValue))]
        if content.count == 1, case .text(let text) = content[0] {
            members.append(("content", .string(text)))
        } else if content.isEmpty {
            members.append(("content", .null))
        } else {
            members.append(("content", .array(content.map(\.jsonValue))))
        }
        if !toolCalls.isEmpty { members.append(("tool_calls", .array(toolCalls.map(\.jsonValue)))) }
        if let toolCallID { members.append(("tool_call_id", .string(toolCallID))) }
        if let name { members.append(("name", .string(name))) }
        if let cacheControl { members.append(("cache_control", cacheControl.jsonValue)) }
        return .object(members)
    }
}

extension ReasoningControl {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        guard json.isObject else { throw reader.error("", "must be an object {effort, budget_tokens}") }
        var effort: ReasoningEffort?
        if let text = try reader.optionalString("effort") {
            guard let level = ReasoningEffort(rawValue: text) else {
                throw reader.error("effort", "must be one of \(ReasoningEffort.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            effort = level
        }
        let budget = try reader.optionalInt("budget_tokens")
        if let budget, budget < 0 { throw reader.error("budget_tokens", "must not be negative") }
        self.init(effort: effort, budgetTokens: budget)
    }

    var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        if let effort { members.append(("effort", .string(effort.rawValue))) }
        if let budgetTokens { members.append(("budget_tokens", .int(budgetTokens))) }
        return .object(members)
    }
}

extension CacheControl {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        guard json["type"]?.stringValue == "ephemeral" else { throw reader.error("type", "must be ephemeral") }
        let ttl = try reader.optionalString("ttl")
        if let ttl, ttl != "5m", ttl != "1h" { throw reader.error("ttl", "must be 5m or 1h") }
        self.init(ttl: ttl)
    }

    var jsonValue: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("type", "ephemeral")]
        if let ttl { members.append(("ttl", .string(ttl))) }
        return .object(members)
    }
}

extension ContentPart {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        switch json["type"]?.stringValue {
        case "text":
            guard let text = json["text"]?.stringValue else { throw reader.error("text", "is required") }
            self = .text(text)
        case "image_url":
            guard let url = json["image_url"]?["url"]?.stringValue else { throw reader.error("image_url.url", "is required") }
            var detail: ImageDetail?
            if let text = json["image_url"]?["detail"]?.stringValue {
                guard let value = ImageDetail(rawValue: text) else { throw reader.error("image_url.detail", "must be auto, low or high") }
                detail = value
            }
            self = .image(url: url, detail: detail)
        case "file":
            // OpenAI's `file_data` (a data: URL), or `file_url` for a document on the web.
            let file = json["file"] ?? .null
            if file["file_id"] != nil, file["file_data"] == nil {
                throw reader.error("file.file_id", "uploaded file ids are not supported: send the file as file_data (a data: URL)")
            }
            guard let url = file["file_data"]?.stringValue ?? file["file_url"]?.stringValue else {
                throw reader.error("file.file_data", "is required")
            }
            self = .file(url: url, filename: try reader.member("file", file).optionalString("filename"))
        case let other:
            throw reader.error("type", "unsupported content part type '\(other ?? "")': expected text, image_url or file")
        }
    }

    var jsonValue: JSONValue {
        switch self {
        case .text(let text):
            return ["type": "text", "text": .string(text)]
        case .image(let url, let detail):
            var image: JSONValue = ["url": .string(url)]
            if let detail { image["detail"] = .string(detail.rawValue) }
            return ["type": "image_url", "image_url": image]
        case .file(let url, let filename):
            var file: JSONValue = url.hasPrefix("data:") ? ["file_data": .string(url)] : ["file_url": .string(url)]
            if let filename { file["filename"] = .string(filename) }
            return ["type": "file", "file": file]
        }
    }
}

extension ToolDefinition {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        guard let function = json["function"], function.isObject else { throw reader.error("function", "is required") }
        guard let name = function["name"]?.stringValue else { throw reader.error("function.name", "is required") }
        let parameters = function["parameters"].flatMap { $0.isNull ? nil : $0 }
        let functionReader = reader.member("function", function)
        var cacheControl: CacheControl?
        if let marker = json["cache_control"], !marker.isNull {
            cacheControl = try CacheControl(json: marker, path: "\(path).cache_control")
        }
        self.init(
            name: name, description: try functionReader.optionalString("description"),
            parameters: parameters ?? ["type": "object", "properties": [:]], strict: try functionReader.optionalBool("strict"),
            cacheControl: cacheControl)
    }

    var jsonValue: JSONValue {
        var function: JSONValue = ["name": .string(name)]
        if let description { function["description"] = .string(description) }
        function["parameters"] = parameters
        if let strict { function["strict"] = .bool(strict) }
        var tool: JSONValue = ["type": "function", "function": function]
        if let cacheControl { tool["cache_control"] = cacheControl.jsonValue }
        return tool
    }
}

extension ToolChoice {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        switch json {
        case "auto": self = .auto
        case "none": self = .none
        case "required": self = .required
        default:
            guard let name = json["function"]?["name"]?.stringValue else {
                throw ChatRequestJSONError(path: path, message: "tool_choice must be auto, none, required or {\"type\":\"function\",…}")
            }
            self = .tool(name: name)
        }
    }

    var jsonValue: JSONValue {
        switch self {
        case .auto: return "auto"
        case .none: return "none"
        case .required: return "required"
        case .tool(let name): return ["type": "function", "function": ["name": .string(name)]]
        }
    }
}

extension ResponseFormat {
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        switch json["type"]?.stringValue {
        case "text": self = .text
        case "json_object": self = .jsonObject
        case "json_schema":
            guard let schema = json["json_schema"], let name = schema["name"]?.stringValue else {
                throw reader.error("json_schema.name", "is required")
            }
            let strict = try reader.member("json_schema", schema).optionalBool("strict")
            self = .jsonSchema(name: name, schema: schema["schema"] ?? [:], strict: strict)
        case let other:
            throw reader.error("type", "unsupported response_format type '\(other ?? "")'")
        }
    }

    var jsonValue: JSONValue {
        switch self {
        case .text: return ["type": "text"]
        case .jsonObject: return ["type": "json_object"]
        case .jsonSchema(let name, let schema, let strict):
            var jsonSchema: JSONValue = ["name": .string(name), "schema": schema]
            if let strict { jsonSchema["strict"] = .bool(strict) }
            return ["type": "json_schema", "json_schema": jsonSchema]
        }
    }
}

extension ToolCall {
    /// OpenAI's nested `{"id","type":"function","function":{"name","arguments"}}`, or a flat
    /// `{"id","name","arguments"}`.
    init(json: JSONValue, path: String) throws(ChatRequestJSONError) {
        let reader = Reader(json, path: path)
        guard let id = json["id"]?.stringValue else { throw reader.error("id", "is required") }
        let source = json["function"] ?? json
        guard let name = source["name"]?.stringValue else { throw reader.error("function.name", "is required") }
        switch source["arguments"] {
        case nil, .null?: self.init(id: id, name: name, arguments: "{}")
        case .string(let text)?: self.init(id: id, name: name, arguments: text)
        default: throw reader.error("function.arguments", "must be a string of JSON")
        }
    }

    var jsonValue: JSONValue {
        ["id": .string(id), "type": "function", "function": ["name": .string(name), "arguments": .string(arguments)]]
    }
}

/// Typed optional fields of one object, with errors that name the path.
private struct Reader {
    let value: JSONValue
    let path: String

    init(_ value: JSONValue, path: String) {
        self.value = value
        self.path = path
    }

    func error(_ field: String, _ message: String) -> ChatRequestJSONError {
        let full = field.isEmpty ? path : path.isEmpty ? field : "\(path).\(field)"
        return ChatRequestJSONError(path: full, message: message)
    }

    /// The reader of the object at `key` (already looked up), naming paths below it.
    func member(_ key: String, _ object: JSONValue) -> Reader {
        Reader(object, path: path.isEmpty ? key : "\(path).\(key)")
    }

    private func present(_ key: String) -> JSONValue? {
        guard let field = value[key], !field.isNull else { return nil }
        return field
    }

    func optionalString(_ key: String) throws(ChatRequestJSONError) -> String? {
        guard let field = present(key) else { return nil }
        guard let text = field.stringValue else { throw error(key, "must be a string") }
        return text
    }

    func optionalBool(_ key: String) throws(ChatRequestJSONError) -> Bool? {
        guard let field = present(key) else { return nil }
        guard let flag = field.boolValue else { throw error(key, "must be true or false") }
        return flag
    }

    func optionalDouble(_ key: String) throws(ChatRequestJSONError) -> Double? {
        guard let field = present(key) else { return nil }
        guard let number = field.doubleValue else { throw error(key, "must be a number") }
        return number
    }

    func optionalInt(_ key: String) throws(ChatRequestJSONError) -> Int? {
        guard let field = present(key) else { return nil }
        guard let number = field.intValue else { throw error(key, "must be an integer") }
        return number
    }

    func optionalArray(_ key: String) throws(ChatRequestJSONError) -> [JSONValue]? {
        guard let field = present(key) else { return nil }
        guard let items = field.arrayValue else { throw error(key, "must be an array") }
        return items
    }
}
