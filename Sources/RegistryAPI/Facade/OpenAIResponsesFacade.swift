import ChatModel
import JSON

/// OpenAI Responses ⇄ the queue: a `POST /v1/responses` body becomes the same neutral request as
/// a chat completion (`instructions` → a system message, input items → messages, function
/// calls and their outputs → tool calls and tool messages, `text.format` → the response format),
/// and a succeeded job's result becomes a `response` object.
///
/// `previous_response_id` names an earlier response, `resp_sb<job id>`: its job's stored request
/// and result are the conversation so far (Switchboard keeps them in `llm_jobs` for the
/// retention period whatever `store` says), and the new input continues it.
enum OpenAIResponsesFacade {
    static let fields: Set<String> = [
        "model", "input", "instructions", "tools", "tool_choice", "parallel_tool_calls", "temperature", "top_p",
        "max_output_tokens", "reasoning", "text", "user", "safety_identifier", "prompt_cache_key", "store", "metadata",
        "previous_response_id", "stream", "service_tier", "truncation",
    ]

    static func parse(_ document: JSONValue) throws(FacadeError) -> FacadeCall {
        guard case .object(let members) = document else { throw .invalidRequest("the request body must be a JSON object") }
        for member in members where !fields.contains(member.key) {
            throw .invalidRequest("unsupported parameter '\(member.key)'", param: member.key, code: "unsupported_parameter")
        }
        let model = try FacadeParsing.model(document["model"])
        let stream = try FacadeParsing.optionalBool(document["stream"], "stream") ?? false
        if let truncation = document["truncation"]?.stringValue, truncation != "disabled" {
            throw .invalidRequest("only truncation 'disabled' is supported", param: "truncation", code: "unsupported_value")
        }
        var messages: [ChatMessage] = []
        if let instructions = document["instructions"], !instructions.isNull {
            guard let text = instructions.stringValue else { throw .invalidRequest("instructions must be a string", param: "instructions") }
            if !text.isEmpty { messages.append(.system(text)) }
        }
        switch document["input"] {
        case .string(let text)?: messages.append(.user(text))
        case .array(let items)?:
            for (index, item) in items.enumerated() { try append(item, path: "input[\(index)]", to: &messages) }
        default: throw .invalidRequest("input must be a string or an array of input items", param: "input")
        }

        // Everything else has the Chat Completions shape once renamed: read by the one codec.
        var chat: [(key: String, value: JSONValue)] = [("messages", .array([]))]
        for key in ["tool_choice", "parallel_tool_calls", "temperature", "top_p", "user", "safety_identifier", "prompt_cache_key"] {
            if let value = document[key], !value.isNull { chat.append((key, value)) }
        }
        if let value = document["max_output_tokens"], !value.isNull { chat.append(("max_tokens", value)) }
        if let tools = document["tools"], !tools.isNull {
            guard let list = tools.arrayValue else { throw .invalidRequest("tools must be an array", param: "tools") }
            chat.append(("tools", .array(try list.enumerated().map { index, tool throws(FacadeError) in try functionTool(tool, index: index) })))
        }
        if let choice = document["tool_choice"], choice.isObject {
            guard choice["type"]?.stringValue == "function", let name = choice["name"]?.stringValue else {
                throw .invalidRequest("tool_choice must be auto, none, required or {\"type\": \"function\", \"name\"}", param: "tool_choice")
            }
            chat.removeAll { $0.key == "tool_choice" }
            chat.append(("tool_choice", ["type": "function", "function": ["name": .string(name)]]))
        }
        if let reasoning = document["reasoning"], !reasoning.isNull {
            // `summary` asks for a reasoning summary in the output, which no result carries.
            guard reasoning.isObject else { throw .invalidRequest("reasoning must be an object", param: "reasoning") }
            if let effort = reasoning["effort"], !effort.isNull { chat.append(("reasoning", .object([("effort", effort)]))) }
        }
        if let text = document["text"], !text.isNull {
            guard text.isObject else { throw .invalidRequest("text must be an object", param: "text") }
            if let verbosity = text["verbosity"], !verbosity.isNull { chat.append(("verbosity", verbosity)) }
            if let format = text["format"], !format.isNull { chat.append(("response_format", try responseFormat(format))) }
        }
        var request: ChatRequest
        do {
            request = try ChatRequest(json: .object(chat))
        } catch {
            throw .invalidRequest(error.description, param: error.path.isEmpty ? nil : error.path)
        }
        request.messages = messages
        var previous: Int64?
        if let id = document["previous_response_id"], !id.isNull {
            guard let text = id.stringValue, text.hasPrefix(responseIDPrefix), let jobID = Int64(text.dropFirst(responseIDPrefix.count)) else {
                throw .invalidRequest("previous_response_id must be the id of an earlier response (resp_sb<job id>)", param: "previous_response_id")
            }
            previous = jobID
        }
        if previous == nil { try FacadeParsing.check(request) }
        var call = FacadeCall(model: model, request: request, stream: stream)
        call.openAIObject = .response
        call.previousResponseJobID = previous
        call.instructions = document["instructions"]?.stringValue
        return call
    }

    /// One input item as neutral messages: a message, a function call (joined to the assistant
    /// turn before it), or a function call's output (a tool message). Reasoning items are
    /// skipped: the neutral request has no place for them.
    static func append(_ item: JSONValue, path: String, to messages: inout [ChatMessage]) throws(FacadeError) {
        guard item.isObject else { throw .invalidRequest("\(path) must be an object", param: "input") }
        switch item["type"]?.stringValue ?? "message" {
        case "message":
            let role: ChatRole
            switch item["role"]?.stringValue {
            case "user"?: role = .user
            case "assistant"?: role = .assistant
            case "system"?, "developer"?: role = .system
            default: throw .invalidRequest("\(path).role must be user, assistant, system or developer", param: "input")
            }
            messages.append(ChatMessage(role: role, content: try content(item["content"], path: "\(path).content")))
        case "function_call":
            guard let callID = item["call_id"]?.stringValue, let name = item["name"]?.stringValue else {
                throw .invalidRequest("\(path): a function_call needs call_id and name", param: "input")
            }
            let call = ToolCall(id: callID, name: name, arguments: item["arguments"]?.stringValue ?? "{}")
            if let last = messages.indices.last, messages[last].role == .assistant {
                messages[last].toolCalls.append(call)
            } else {
                messages.append(ChatMessage(role: .assistant, content: [], toolCalls: [call]))
            }
        case "function_call_output":
            guard let callID = item["call_id"]?.stringValue else { throw .invalidRequest("\(path).call_id is required", param: "input") }
            let output: String
            switch item["output"] {
            case .string(let text)?: output = text
            case .array(let parts)?: output = parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n")
            default: throw .invalidRequest("\(path).output must be a string", param: "input")
            }
            messages.append(.tool(callID: callID, content: output))
        case "reasoning":
            return
        case let other:
            throw .invalidRequest("\(path).type '\(other)' is not supported (message, function_call, function_call_output)", param: "input")
        }
    }

    /// A message's content: a string, or input_text / input_image / input_file parts (and, in
    /// assistant turns replayed from an earlier output, output_text and refusal).
    static func content(_ value: JSONValue?, path: String) throws(FacadeError) -> [ContentPart] {
        switch value {
        case .string(let text)?: return [.text(text)]
        case .array(let parts)?:
            var content: [ContentPart] = []
            for (index, part) in parts.enumerated() {
                let where_ = "\(path)[\(index)]"
                switch part["type"]?.stringValue {
                case "input_text"?, "output_text"?, "text"?, "refusal"?:
                    guard let text = part["text"]?.stringValue ?? part["refusal"]?.stringValue else {
                        throw .invalidRequest("\(where_).text is required", param: "input")
                    }
                    content.append(.text(text))
                case "input_image"?:
                    guard let url = part["image_url"]?.stringValue else {
                        throw .invalidRequest("\(where_).image_url is required (file ids are not supported)", param: "input")
                    }
                    content.append(.image(url: url, detail: part["detail"]?.stringValue.flatMap(ImageDetail.init(rawValue:))))
                case "input_file"?:
                    guard let url = part["file_data"]?.stringValue ?? part["file_url"]?.stringValue else {
                        throw .invalidRequest("\(where_): send file_data (a data: URL) or file_url (file ids are not supported)", param: "input")
                    }
                    content.append(.file(url: url, filename: part["filename"]?.stringValue))
                case let other:
                    throw .invalidRequest("\(where_).type '\(other ?? "")' is not supported", param: "input")
                }
            }
            return content
        default:
            throw .invalidRequest("\(path) must be a string or an array of content parts", param: "input")
        }
    }

    /// A Responses function tool (flat: name, parameters, strict) in the Chat Completions shape.
    static func functionTool(_ tool: JSONValue, index: Int) throws(FacadeError) -> JSONValue {
        guard tool["type"]?.stringValue == "function", let name = tool["name"]?.stringValue else {
            throw .invalidRequest(
                "tools[\(index)]: only function tools are supported (built-in tools such as web_search run inside OpenAI)", param: "tools")
        }
        var function: [(key: String, value: JSONValue)] = [("name", .string(name))]
        for key in ["description", "parameters", "strict"] {
            if let value = tool[key], !value.isNull { function.append((key, value)) }
        }
        return .object([("type", "function"), ("function", .object(function))])
    }

    /// `text.format` (flat: type, name, schema, strict) as Chat Completions' `response_format`.
    static func responseFormat(_ format: JSONValue) throws(FacadeError) -> JSONValue {
        switch format["type"]?.stringValue {
        case "text"?: return ["type": "text"]
        case "json_object"?: return ["type": "json_object"]
        case "json_schema"?:
            var schema: [(key: String, value: JSONValue)] = []
            for key in ["name", "schema", "strict", "description"] {
                if let value = format[key], !value.isNull { schema.append((key, value)) }
            }
            return .object([("type", "json_schema"), ("json_schema", .object(schema))])
        default:
            throw .invalidRequest("text.format.type must be text, json_object or json_schema", param: "text.format")
        }
    }

    /// The conversation a stored response ends: its request's turns (not its instructions, which
    /// OpenAI does not carry over either) and its answer.
    static func history(request: ChatRequest, result: FacadeResult) -> [ChatMessage] {
        var messages = request.messages.filter { $0.role != .system }
        let calls = result.toolCalls.map { ToolCall(id: $0.id, name: $0.name, arguments: $0.arguments) }
        let text = result.content ?? result.refusal
        if text != nil || !calls.isEmpty { messages.append(.assistant(text, toolCalls: calls)) }
        return messages
    }

    // MARK: - Answers

    static let responseIDPrefix = "resp_sb"

    static func responseID(_ jobID: Int64) -> String { "\(responseIDPrefix)\(jobID)" }

    /// The `response` object. `created_at` is the job's finish time (Unix seconds). The request's
    /// instructions, sampling and tools are echoed as the official schema requires.
    static func response(_ result: FacadeResult, jobID: Int64, created: Int, call: FacadeCall? = nil) -> JSONValue {
        var output: [JSONValue] = []
        var parts: [JSONValue] = []
        if let refusal = result.refusal, !refusal.isEmpty {
            parts.append(.object([("type", "refusal"), ("refusal", .string(refusal))]))
        } else if let text = result.content, !text.isEmpty {
            parts.append(.object([("type", "output_text"), ("text", .string(text)), ("annotations", .array([])), ("logprobs", .array([]))]))
        }
        if !parts.isEmpty {
            output.append(.object([
                ("type", "message"), ("id", .string("msg_sb\(jobID)")), ("status", "completed"), ("role", "assistant"), ("content", .array(parts)),
            ]))
        }
        for (index, call) in result.toolCalls.enumerated() {
            output.append(.object([
                ("type", "function_call"), ("id", .string("fc_sb\(jobID)_\(index)")), ("call_id", .string(call.id)),
                ("name", .string(call.name)), ("arguments", .string(call.arguments)), ("status", "completed"),
            ]))
        }
        let truncated = result.finishReason == "length"
        let request = call?.request
        let tools: [JSONValue] = (request?.tools ?? []).map { tool in
            .object([
                ("type", "function"), ("name", .string(tool.name)), ("description", tool.description.map(JSONValue.string) ?? .null),
                ("parameters", tool.parameters), ("strict", .bool(tool.strict ?? false)),
            ])
        }
        let toolChoice: JSONValue
        switch request?.toolChoice {
        case .none?: toolChoice = "none"
        case .required?: toolChoice = "required"
        case .tool(let name)?: toolChoice = .object([("type", "function"), ("name", .string(name))])
        case .auto?, nil: toolChoice = "auto"
        }
        var response: [(key: String, value: JSONValue)] = [
            ("id", .string(responseID(jobID))), ("object", "response"), ("created_at", .int(created)),
            ("status", truncated ? "incomplete" : "completed"), ("error", .null),
            ("incomplete_details", truncated ? .object([("reason", "max_output_tokens")]) : .null),
            ("instructions", call?.instructions.map(JSONValue.string) ?? .null), ("metadata", .object([])),
            ("model", .string(result.model)), ("output", .array(output)),
            ("parallel_tool_calls", .bool(request?.parallelToolCalls ?? true)),
            ("temperature", request?.temperature.map(JSONValue.double) ?? .null), ("top_p", request?.topP.map(JSONValue.double) ?? .null),
            ("tool_choice", toolChoice), ("tools", .array(tools)),
            ("previous_response_id", call?.previousResponseJobID.map { .string(responseID($0)) } ?? .null),
        ]
        if let usage = result.usage {
            response.append(("usage", .object([
                ("input_tokens", .int(usage.inputTokens)),
                ("input_tokens_details", .object([
                    ("cached_tokens", .int(usage.cachedInputTokens)), ("cache_write_tokens", .int(usage.cacheCreationInputTokens)),
                ])),
                ("output_tokens", .int(usage.outputTokens)),
                ("output_tokens_details", .object([("reasoning_tokens", .int(usage.reasoningTokens))])),
                ("total_tokens", .int(usage.inputTokens + usage.outputTokens)),
            ])))
        }
        return .object(response)
    }
}
