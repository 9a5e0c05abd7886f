// Neutral request → Chat Completions body, written straight to bytes.

extension OpenAIChatAdapter {
    /// The body in Chat Completions' member order: model, messages, tools, sampling, output
    /// options. A parameter the model refuses is dropped with a warning rather than sent.
    public func makeBody(for request: ChatRequest, model: String, options: ChatCallOptions) throws(ProviderError) -> TranslatedBody {
        var warnings: [String] = []
        let parameters = ModelParameters(model: model, options: options)

        var writer = JSONWriter(capacity: 256 + request.messages.count * 128)
        writer.beginObject()
        writer.key("model")
        writer.string(model)
        writer.key("messages")
        writer.beginArray()
        for message in request.messages {
            Self.writeMessage(message, to: &writer, warnings: &warnings)
        }
        writer.endArray()
        Self.writeTools(request, parameters: parameters, to: &writer, warnings: &warnings)
        writeSampling(request, parameters: parameters, options: options, to: &writer, warnings: &warnings)
        Self.writeOutputOptions(request, parameters: parameters, to: &writer, warnings: &warnings)
        writeReasoningAndCaching(request, parameters: parameters, options: options, to: &writer, warnings: &warnings)
        writer.endObject()
        // The request's own max_tokens sets how long its answer may take; without one the output
        // is unbounded and the usual timeout applies (a hung provider is found as fast as before).
        return TranslatedBody(bytes: writer.bytes, warnings: warnings, minimumTimeout: request.maxTokens.map(Self.timeoutFor))
    }

    /// What the target model takes: reasoning models refuse the sampling parameters, and the
    /// catalog can list more it refuses.
    struct ModelParameters {
        var model: String
        var isReasoningModel: Bool
        var refused: Set<String>

        init(model: String, options: ChatCallOptions) {
            self.model = model
            isReasoningModel = options.isReasoningModel ?? OpenAIChatAdapter.isReasoningModel(model)
            refused = options.unsupportedParameters
            if isReasoningModel {
                // o-series and gpt-5 answer 400 unsupported_parameter / unsupported_value for these.
                refused.formUnion(["top_p", "frequency_penalty", "presence_penalty", "stop"])
                if OpenAIChatAdapter.isOSeries(model) { refused.insert("parallel_tool_calls") }
            }
        }

        /// Whether to send `parameter`; a refused one adds a warning that it was dropped.
        func accepts(_ parameter: String, warnings: inout [String]) -> Bool {
            guard refused.contains(parameter) else { return true }
            warnings.append("\(parameter) is not supported by \(model); dropped")
            return false
        }
    }

    /// `tools`, `tool_choice` and `parallel_tool_calls`.
    static func writeTools(
        _ request: ChatRequest, parameters: ModelParameters, to writer: inout JSONWriter, warnings: inout [String]
    ) {
        guard !request.tools.isEmpty else {
            if request.toolChoice != nil || request.parallelToolCalls != nil {
                // OpenAI rejects tool_choice and parallel_tool_calls when no tools are offered.
                warnings.append("tool_choice and parallel_tool_calls need tools; dropped")
            }
            return
        }
        writer.key("tools")
        writer.beginArray()
        for tool in request.tools { writeTool(tool, to: &writer) }
        writer.endArray()
        if let choice = request.toolChoice {
            writer.key("tool_choice")
            writeToolChoice(choice, to: &writer)
        }
        if let parallel = request.parallelToolCalls, parameters.accepts("parallel_tool_calls", warnings: &warnings) {
            writer.key("parallel_tool_calls")
            writer.bool(parallel)
        }
    }

    /// `stop`, temperature, top_p, the output cap and the penalties.
    func writeSampling(
        _ request: ChatRequest, parameters: ModelParameters, options: ChatCallOptions,
        to writer: inout JSONWriter, warnings: inout [String]
    ) {
        let model = parameters.model
        if !request.stop.isEmpty, parameters.accepts("stop", warnings: &warnings) {
            writer.key("stop")
            writer.beginArray()
            for stop in request.stop { writer.string(stop) }
            writer.endArray()
        }
        if let temperature = request.temperature {
            if parameters.isReasoningModel, temperature != 1 {
                warnings.append("temperature \(temperature) is not supported by reasoning model \(model) (only 1); dropped")
            } else if let range = options.temperatureRange, !range.contains(temperature) {
                warnings.append("temperature \(temperature) is outside \(model)'s range \(range.lowerBound)–\(range.upperBound); dropped")
            } else if parameters.accepts("temperature", warnings: &warnings) {
                writer.key("temperature")
                writer.double(temperature)
            }
        }
        if let topP = request.topP, parameters.accepts("top_p", warnings: &warnings) {
            writer.key("top_p")
            writer.double(topP)
        }
        if let maxTokens = request.maxTokens {
            // OpenAI itself and every reasoning model (also behind Azure or a proxy) take only
            // max_completion_tokens; other compatible servers understand max_tokens.
            writer.key(dialect == .openAI || parameters.isReasoningModel ? "max_completion_tokens" : "max_tokens")
            writer.int(maxTokens)
        }
        if let penalty = request.frequencyPenalty, parameters.accepts("frequency_penalty", warnings: &warnings) {
            writer.key("frequency_penalty")
            writer.double(penalty)
        }
        if let penalty = request.presencePenalty, parameters.accepts("presence_penalty", warnings: &warnings) {
            writer.key("presence_penalty")
            writer.double(penalty)
        }
    }

    /// `response_format`, `user` and `seed`.
    static func writeOutputOptions(
        _ request: ChatRequest, parameters: ModelParameters, to writer: inout JSONWriter, warnings: inout [String]
    ) {
        if let format = request.responseFormat, parameters.accepts("response_format", warnings: &warnings) {
            writer.key("response_format")
            writeResponseFormat(format, to: &writer)
        }
        if let user = request.user, parameters.accepts("user", warnings: &warnings) {
            writer.key("user")
            writer.string(user)
        }
        if let seed = request.seed, parameters.accepts("seed", warnings: &warnings) {
            writer.key("seed")
            writer.int(seed)
        }
    }

    /// `reasoning_effort`, `verbosity`, `prompt_cache_key` and `top_k`, each where the model or
    /// server takes it; elsewhere dropped with a warning.
    func writeReasoningAndCaching(
        _ request: ChatRequest, parameters: ModelParameters, options: ChatCallOptions, to writer: inout JSONWriter,
        warnings: inout [String]
    ) {
        let model = parameters.model
        if let reasoning = request.reasoning, reasoning.effort != nil || reasoning.budgetTokens != nil {
            if parameters.isReasoningModel || options.supportsReasoning == true {
                let effort = reasoning.effort ?? ReasoningEffort(budgetTokens: reasoning.budgetTokens ?? 0)
                if reasoning.effort == nil {
                    warnings.append("reasoning budget_tokens \(reasoning.budgetTokens ?? 0) sent as reasoning_effort \(effort.rawValue) (\(model) takes an effort, not a budget)")
                }
                if parameters.accepts("reasoning_effort", warnings: &warnings) {
                    writer.key("reasoning_effort")
                    writer.string(effort.rawValue)
                }
            } else {
                warnings.append("reasoning is not supported by \(model) (not a reasoning model in the catalog); dropped")
            }
        }
        if let verbosity = request.verbosity {
            // gpt-5 and its successors; the o-series and chat models refuse it.
            if parameters.isReasoningModel, !Self.isOSeries(model), parameters.accepts("verbosity", warnings: &warnings) {
                writer.key("verbosity")
                writer.string(verbosity)
            } else if !parameters.refused.contains("verbosity") {
                warnings.append("verbosity is not supported by \(model); dropped")
            }
        }
        if let key = request.promptCacheKey {
            if dialect == .openAI, parameters.accepts("prompt_cache_key", warnings: &warnings) {
                writer.key("prompt_cache_key")
                writer.string(key)
            } else if dialect != .openAI {
                warnings.append("prompt_cache_key is only understood by OpenAI itself; dropped for \(model)")
            }
        }
        if let topK = request.topK {
            // OpenAI has no top_k; vLLM, TGI, Ollama and most compatible servers take it.
            if dialect == .compatible, parameters.accepts("top_k", warnings: &warnings) {
                writer.key("top_k")
                writer.int(topK)
            } else if dialect == .openAI {
                warnings.append("top_k is not supported by OpenAI; dropped")
            }
        }
    }

    /// o1, o3, o4-mini… and gpt-5 (not gpt-5-chat, which is a plain chat model).
    static func isReasoningModel(_ model: String) -> Bool {
        let name = Substring(model.split(separator: "/").last ?? Substring(model)).lowercased()
        if isOSeries(model) { return true }
        return name.hasPrefix("gpt-5") && !name.hasPrefix("gpt-5-chat")
    }

    static func isOSeries(_ model: String) -> Bool {
        let name = Substring(model.split(separator: "/").last ?? Substring(model)).lowercased().utf8
        guard name.count >= 2, name.first == UInt8(ascii: "o") else { return false }
        let second = name[name.index(after: name.startIndex)]
        return second >= UInt8(ascii: "1") && second <= UInt8(ascii: "9")
    }

    static func writeMessage(_ message: ChatMessage, to writer: inout JSONWriter, warnings: inout [String]) {
        writer.beginObject()
        writer.key("role")
        writer.string(message.role.rawValue)
        writer.key("content")
        switch message.role {
        case .system, .tool:
            // Both take text only here (OpenAI accepts text parts, but a string is what every
            // compatible server understands).
            if message.content.contains(where: \.isAttachment) {
                warnings.append("images and files in \(message.role.rawValue) messages are not supported by the Chat Completions format; dropped")
            }
            writer.string(message.text)
        case .user:
            writeContent(userContent(message.content, warnings: &warnings), to: &writer)
        case .assistant:
            // `null` content is how OpenAI writes an assistant turn that only called tools.
            if message.content.isEmpty { writer.null() } else { writeContent(message.content, to: &writer) }
        }
        if !message.toolCalls.isEmpty {
            writer.key("tool_calls")
            writer.beginArray()
            for call in message.toolCalls {
                writer.beginObject()
                writer.key("id")
                writer.string(call.id)
                writer.key("type")
                writer.string("function")
                writer.key("function")
                writer.beginObject()
                writer.key("name")
                writer.string(call.name)
                writer.key("arguments")
                writer.string(call.arguments)
                writer.endObject()
                writer.endObject()
            }
            writer.endArray()
        }
        if let callID = message.toolCallID {
            writer.key("tool_call_id")
            writer.string(callID)
        }
        if let name = message.name {
            writer.key("name")
            writer.string(name)
        }
        writer.endObject()
    }

    /// A user turn's parts as Chat Completions takes them: files only as data (it has no file URLs).
    static func userContent(_ parts: [ContentPart], warnings: inout [String]) -> [ContentPart] {
        let kept = parts.filter { part in
            if case .file(let url, _) = part { return url.hasPrefix("data:") }
            return true
        }
        if kept.count < parts.count {
            warnings.append("files by URL are not supported by the Chat Completions format (only file_data); dropped")
        }
        return kept
    }

    /// A lone text part as a plain string; anything else as an array of parts.
    static func writeContent(_ parts: [ContentPart], to writer: inout JSONWriter) {
        if parts.count == 1, case .text(let text) = parts[0] {
            writer.string(text)
            return
        }
        writer.beginArray()
        for part in parts {
            writer.beginObject()
            switch part {
            case .text(let text):
                writer.key("type")
                writer.string("text")
                writer.key("text")
                writer.string(text)
            case .image(let url, let detail):
                writer.key("type")
                writer.string("image_url")
                writer.key("image_url")
                writer.beginObject()
                writer.key("url")
                writer.string(url)
                if let detail {
                    writer.key("detail")
                    writer.string(detail.rawValue)
                }
                writer.endObject()
            case .file(let url, let filename):
                writer.key("type")
                writer.string("file")
                writer.key("file")
                writer.beginObject()
                if let filename {
                    writer.key("filename")
                    writer.string(filename)
                }
                writer.key("file_data")
                writer.string(url)
                writer.endObject()
            }
            writer.endObject()
        }
        writer.endArray()
    }

    static func writeTool(_ tool: ToolDefinition, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("type")
        writer.string("function")
        writer.key("function")
        writer.beginObject()
        writer.key("name")
        writer.string(tool.name)
        if let description = tool.description {
            writer.key("description")
            writer.string(description)
        }
        writer.key("parameters")
        writer.value(tool.parameters)
        if let strict = tool.strict {
            writer.key("strict")
            writer.bool(strict)
        }
        writer.endObject()
        writer.endObject()
    }

    static func writeToolChoice(_ choice: ToolChoice, to writer: inout JSONWriter) {
        switch choice {
        case .auto: writer.string("auto")
        case .none: writer.string("none")
        case .required: writer.string("required")
        case .tool(let name):
            writer.beginObject()
            writer.key("type")
            writer.string("function")
            writer.key("function")
            writer.beginObject()
            writer.key("name")
            writer.string(name)
            writer.endObject()
            writer.endObject()
        }
    }

    static func writeResponseFormat(_ format: ResponseFormat, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("type")
        switch format {
        case .text:
            writer.string("text")
        case .jsonObject:
            writer.string("json_object")
        case .jsonSchema(let name, let schema, let strict):
            writer.string("json_schema")
            writer.key("json_schema")
            writer.beginObject()
            writer.key("name")
            writer.string(name)
            // Written in the caller's member order: the model generates fields in this order.
            writer.key("schema")
            writer.value(schema)
            if let strict {
                writer.key("strict")
                writer.bool(strict)
            }
            writer.endObject()
        }
        writer.endObject()
    }
}
