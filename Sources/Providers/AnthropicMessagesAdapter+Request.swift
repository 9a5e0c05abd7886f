// Neutral request → Messages body, written straight to bytes.
//
// The neutral (OpenAI-shaped) conversation differs from Messages in ways that need rewriting:
// system turns become the top-level `system`; a `tool` turn becomes a user turn holding a
// `tool_result` block; assistant tool calls become `tool_use` blocks whose `input` is an object
// rather than JSON text; and turns of the same role that end up adjacent are merged, since
// Messages alternates user and assistant. On top of that, requests OpenAI accepts but Messages
// rejects are repaired here, each with a warning: blank stop sequences, temperature together with
// top_p, empty turns, a first turn from the assistant, an email as user id, tool ids outside
// `^[a-zA-Z0-9_-]+$` or repeated, tool arguments that are not a JSON object, and a max_tokens that
// would overflow the context window.

extension AnthropicMessagesAdapter {
    /// The body in Messages' member order: model, system, messages, sampling, tools, metadata,
    /// max_tokens. Each part appends its warnings in that order too, so the list reads like the body.
    public func makeBody(for request: ChatRequest, model: String, options: ChatCallOptions) throws(ProviderError) -> TranslatedBody {
        var warnings: [String] = []
        if let temperature = request.temperature, !(0...1).contains(temperature) {
            throw ProviderError(
                .unsupportedParameter,
                message: "temperature \(temperature) is outside Anthropic's range 0–1",
                detectedLocally: true)
        }
        let system = Self.systemPrompt(request.messages, warnings: &warnings)
        if request.messages.contains(where: { $0.name != nil }) {
            warnings.append("message name is not supported by Anthropic; dropped")
        }
        let turns = try Self.conversation(request.messages, warnings: &warnings)
        let jsonSchema = Self.emulatedJSONSchema(request.responseFormat)
        // The output cap decides the thinking budget, so it is worked out first; its warnings
        // still come last, where max_tokens is written.
        var maxTokensWarnings: [String] = []
        let maxTokens = Self.maxTokens(request: request, options: options, warnings: &maxTokensWarnings)
        let thinkingBudget = Self.thinkingBudget(
            request, model: model, options: options, maxTokens: maxTokens, forcedTool: jsonSchema != nil && request.tools.isEmpty,
            warnings: &warnings)

        var writer = JSONWriter(capacity: 256 + request.messages.count * 128)
        writer.beginObject()
        writer.key("model")
        writer.string(model)
        if let system {
            writer.key("system")
            Self.writeSystem(system, to: &writer)
        }
        writer.key("messages")
        writer.beginArray()
        for turn in turns { Self.write(turn, to: &writer) }
        writer.endArray()
        Self.writeSampling(request, thinking: thinkingBudget != nil, to: &writer, warnings: &warnings)
        if let thinkingBudget {
            writer.key("thinking")
            writer.beginObject()
            writer.key("type")
            writer.string("enabled")
            writer.key("budget_tokens")
            writer.int(thinkingBudget)
            writer.endObject()
        }
        if !request.tools.isEmpty {
            Self.writeTools(request.tools, choice: request.toolChoice, parallel: request.parallelToolCalls, to: &writer)
        } else if let jsonSchema {
            Self.writeJSONResponseTool(schema: jsonSchema, to: &writer)
        }
        Self.writeMetadata(user: request.user, to: &writer, warnings: &warnings)
        warnings += maxTokensWarnings
        writer.key("max_tokens")
        writer.int(maxTokens)
        writer.endObject()

        warnings += Self.droppedParameterWarnings(request)
        warnings += Self.jsonModeWarnings(request, emulatedSchema: jsonSchema)
        return TranslatedBody(bytes: writer.bytes, warnings: warnings, minimumTimeout: Self.timeoutFor(outputTokens: maxTokens))
    }

    // MARK: - Body parts

    /// System turns become the top-level `system` text (Messages has no system role); nil when
    /// there is no system text.
    static func systemPrompt(_ messages: [ChatMessage], warnings: inout [String]) -> SystemPrompt? {
        let system = messages.filter { $0.role == .system && !$0.text.isEmpty }
        if messages.contains(where: { $0.role == .system && $0.content.contains(where: \.isAttachment) }) {
            warnings.append("images and files in system messages are not supported by Anthropic; dropped")
        }
        guard !system.isEmpty else { return nil }
        // Without cache breakpoints one string; with them, one text block per system message, so
        // each marker sits after its own message's text.
        guard system.contains(where: { $0.cacheControl != nil }) else {
            return .text(system.map(\.text).joined(separator: "\n\n"))
        }
        return .blocks(system.map { ($0.text, $0.cacheControl) })
    }

    enum SystemPrompt {
        case text(String)
        case blocks([(text: String, cacheControl: CacheControl?)])
    }

    static func writeSystem(_ system: SystemPrompt, to writer: inout JSONWriter) {
        switch system {
        case .text(let text):
            writer.string(text)
        case .blocks(let blocks):
            writer.beginArray()
            for block in blocks {
                writer.beginObject()
                writer.key("type")
                writer.string("text")
                writer.key("text")
                writer.string(block.text)
                if let marker = block.cacheControl { writeCacheControl(marker, to: &writer) }
                writer.endObject()
            }
            writer.endArray()
        }
    }

    static func writeCacheControl(_ marker: CacheControl, to writer: inout JSONWriter) {
        writer.key("cache_control")
        writer.beginObject()
        writer.key("type")
        writer.string("ephemeral")
        if let ttl = marker.ttl {
            writer.key("ttl")
            writer.string(ttl)
        }
        writer.endObject()
    }

    /// Models with extended thinking: Claude 3.7 Sonnet and the Claude 4 generations.
    static func thinks(_ model: String) -> Bool {
        let name = model.lowercased()
        if name.contains("claude-3-7") { return true }
        for family in ["opus", "sonnet", "haiku"] {
            guard let range = name.firstRange(of: "claude-\(family)-"), let next = name[range.upperBound...].first else { continue }
            if let generation = next.wholeNumberValue, generation >= 4 { return true }
        }
        return false
    }

    /// The neutral reasoning control as `thinking.budget_tokens`: the budget asked for, or the
    /// effort's; at least 1,024 and below `max_tokens`, as Messages requires. nil (and a warning)
    /// where it cannot be sent.
    static func thinkingBudget(
        _ request: ChatRequest, model: String, options: ChatCallOptions, maxTokens: Int, forcedTool: Bool, warnings: inout [String]
    ) -> Int? {
        guard let reasoning = request.reasoning, let asked = reasoning.budgetTokens ?? reasoning.effort?.budgetTokens else { return nil }
        guard options.supportsReasoning ?? thinks(model) else {
            warnings.append("reasoning is not supported by \(model) (no extended thinking in the catalog); dropped")
            return nil
        }
        let forcesTool: Bool
        switch request.toolChoice {
        case .required?, .tool?: forcesTool = !request.tools.isEmpty
        default: forcesTool = forcedTool
        }
        if forcesTool {
            warnings.append("thinking cannot be combined with a forced tool choice (or emulated JSON output) for Anthropic; reasoning dropped")
            return nil
        }
        guard maxTokens > minimumThinkingBudget else {
            warnings.append("thinking needs max_tokens above \(minimumThinkingBudget) for Anthropic; reasoning dropped")
            return nil
        }
        let budget = min(max(asked, minimumThinkingBudget), maxTokens - 1)
        if budget != asked { warnings.append("thinking budget_tokens \(asked) sent as \(budget) (Anthropic: at least \(minimumThinkingBudget), below max_tokens)") }
        return budget
    }

    static let minimumThinkingBudget = 1024

    /// `stop_sequences` and temperature or top_p, and top_k; with thinking on, Messages takes no
    /// temperature, top_p below 0.95 or top_k.
    static func writeSampling(_ request: ChatRequest, thinking: Bool, to writer: inout JSONWriter, warnings: inout [String]) {
        let stops = request.stop.filter { $0.contains { !$0.isWhitespace } }
        if stops.count < request.stop.count {
            warnings.append("stop sequences that are empty or only whitespace are not accepted by Anthropic; dropped")
        }
        if !stops.isEmpty {
            writer.key("stop_sequences")
            writer.beginArray()
            for stop in stops { writer.string(stop) }
            writer.endArray()
        }
        if thinking {
            if request.temperature != nil || request.topP != nil || request.topK != nil {
                warnings.append("temperature, top_p and top_k cannot be sent with thinking to Anthropic; dropped")
            }
            return
        }
        if let topK = request.topK {
            writer.key("top_k")
            writer.int(topK)
        }
        if let temperature = request.temperature {
            writer.key("temperature")
            writer.double(temperature)
            if request.topP != nil {
                // Claude Sonnet 4.5, Haiku 4.5 and later refuse both; temperature wins.
                warnings.append("temperature and top_p cannot both be sent to Anthropic; top_p dropped")
            }
        } else if let topP = request.topP {
            writer.key("top_p")
            writer.double(topP)
        }
    }

    /// The caller's own tools and its tool choice.
    static func writeTools(_ tools: [ToolDefinition], choice: ToolChoice?, parallel: Bool?, to writer: inout JSONWriter) {
        writer.key("tools")
        writer.beginArray()
        for tool in tools {
            writer.beginObject()
            writer.key("name")
            writer.string(tool.name)
            if let description = tool.description {
                writer.key("description")
                writer.string(description)
            }
            writer.key("input_schema")
            writer.value(tool.parameters)
            if let marker = tool.cacheControl { writeCacheControl(marker, to: &writer) }
            writer.endObject()
        }
        writer.endArray()
        writeToolChoice(choice, parallel: parallel, to: &writer)
    }

    /// `metadata.user_id`, unless the user id is one Anthropic refuses.
    static func writeMetadata(user: String?, to writer: inout JSONWriter, warnings: inout [String]) {
        guard let user else { return }
        if looksLikeContactDetails(user) {
            warnings.append("user looks like an email address or phone number, which Anthropic refuses as metadata.user_id; dropped")
            return
        }
        writer.key("metadata")
        writer.beginObject()
        writer.key("user_id")
        writer.string(user)
        writer.endObject()
    }

    /// Parameters Messages has no equivalent for.
    static func droppedParameterWarnings(_ request: ChatRequest) -> [String] {
        var warnings: [String] = []
        if request.frequencyPenalty != nil {
            warnings.append("frequency_penalty is not supported by Anthropic; dropped")
        }
        if request.presencePenalty != nil {
            warnings.append("presence_penalty is not supported by Anthropic; dropped")
        }
        if request.seed != nil {
            warnings.append("seed is not supported by Anthropic; dropped")
        }
        if request.tools.contains(where: { $0.strict != nil }) {
            warnings.append("strict tool schemas are not enforced by Anthropic Messages; strict dropped")
        }
        if request.verbosity != nil {
            warnings.append("verbosity is not supported by Anthropic; dropped")
        }
        if request.promptCacheKey != nil {
            warnings.append("prompt_cache_key is not supported by Anthropic (it caches by cache_control markers); dropped")
        }
        return warnings
    }

    // MARK: - JSON output

    /// The tool that carries a JSON reply; the response parser recognises it by this name.
    static let jsonResponseToolName = "switchboard_json_response"

    /// JSON output has no parameter in Messages: with no tools of the caller's own, it is asked
    /// for with one forced tool whose input schema is the requested schema; the response parser
    /// turns that tool's input back into the reply text.
    static func writeJSONResponseTool(schema: JSONValue, to writer: inout JSONWriter) {
        writer.key("tools")
        writer.beginArray()
        writer.beginObject()
        writer.key("name")
        writer.string(jsonResponseToolName)
        writer.key("description")
        writer.string("Give the answer as this JSON object.")
        writer.key("input_schema")
        writer.value(schema)
        writer.endObject()
        writer.endArray()
        writeToolChoice(.tool(name: jsonResponseToolName), parallel: nil, to: &writer)
    }

    /// What became of `response_format`: emulated, impossible beside the caller's tools, or
    /// a schema whose root a tool input cannot be.
    static func jsonModeWarnings(_ request: ChatRequest, emulatedSchema: JSONValue?) -> [String] {
        var warnings: [String] = []
        if case .jsonSchema? = request.responseFormat, emulatedSchema == nil {
            warnings.append("response_format json_schema whose root is not an object cannot be emulated for Anthropic; dropped")
        }
        if emulatedSchema != nil {
            warnings.append(request.tools.isEmpty
                ? "response_format is emulated for Anthropic with a forced tool; the reply text is that tool's JSON input"
                : "response_format cannot be combined with tools for Anthropic Messages; dropped (ask for JSON in the prompt)")
        }
        return warnings
    }

    /// The input schema for JSON output: the requested schema when it describes an object (tool
    /// inputs must be objects, as OpenAI's structured outputs require too), any object for
    /// `json_object`; `nil` for text or a schema of another type.
    static func emulatedJSONSchema(_ format: ResponseFormat?) -> JSONValue? {
        switch format {
        case .jsonSchema(_, let schema, _)?:
            return schema["type"] == "object" ? schema : nil
        case .jsonObject?:
            return ["type": "object", "additionalProperties": true]
        case .text?, nil:
            return nil
        }
    }

    // MARK: - max_tokens and timeout

    /// The request's `max_tokens`, else the default budget; either way no more than fits the
    /// context window after the (estimated) input, since Anthropic refuses "input length and
    /// `max_tokens` exceed context limit".
    static func maxTokens(request: ChatRequest, options: ChatCallOptions, warnings: inout [String]) -> Int {
        let input = estimatedInputTokens(request)
        guard let requested = request.maxTokens else {
            if options.defaultMaxTokens == nil, options.maxOutputTokens == nil, options.contextWindow == nil {
                return fallbackMaxTokens
            }
            return options.defaultOutputBudget(estimatedInputTokens: input)
        }
        if let window = options.contextWindow, requested + input > window, window - input >= 1 {
            warnings.append("max_tokens \(requested) plus about \(input) input tokens exceeds the \(window)-token context window; sent \(window - input)")
            return window - input
        }
        return requested
    }

    /// A generous upper estimate of the prompt's tokens without a tokenizer: three UTF-8 bytes per
    /// token (real text averages about four), plus a fixed cost per image and per message.
    static func estimatedInputTokens(_ request: ChatRequest) -> Int {
        var bytes = 0
        var images = 0
        for message in request.messages {
            bytes += 12
            for part in message.content {
                switch part {
                case .text(let text): bytes += text.utf8.count
                case .image: images += 1
                // A PDF counts its text and an image per page: its base64 size bounds both well.
                case .file(let url, _): bytes += url.utf8.count
                }
            }
            for call in message.toolCalls { bytes += call.name.utf8.count + call.arguments.utf8.count + 24 }
        }
        for tool in request.tools {
            bytes += tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + tool.parameters.encodedBytes().count
        }
        return bytes / 3 + images * 1600
    }

    /// How long a non-streaming answer of `outputTokens` may take: Anthropic's SDKs assume up to an
    /// hour per 128k output tokens and refuse non-streaming calls expected to take over ten
    /// minutes; so the budget is that share of an hour plus a minute, capped at ten minutes.
    /// Anthropic refuses `metadata.user_id` values that look like an email address or a phone number.
    static func looksLikeContactDetails(_ text: String) -> Bool {
        if let at = text.firstIndex(of: "@"), text[text.index(after: at)...].contains(".") { return true }
        let digits = text.filter(\.isNumber).count
        let phoneCharacters = text.allSatisfy { $0.isNumber || " +-().".contains($0) }
        return phoneCharacters && digits >= 7
    }

    // MARK: - Turns

    /// One content block of a turn, before it is written.
    enum Block {
        case text(String)
        case image(ImageSource)
        case document(ImageSource, title: String?)
        case toolUse(id: String, name: String, input: JSONValue)
        case toolResult(id: String, text: String, blocks: [Block]?)
        /// A block with a prompt-cache breakpoint after it.
        indirect case cached(Block, CacheControl)

        var isToolResult: Bool {
            switch self {
            case .toolResult: return true
            case .cached(let block, _): return block.isToolResult
            default: return false
            }
        }
    }

    enum ImageSource {
        case base64(mediaType: String, data: String)
        case url(String)
    }

    struct Turn {
        var role: String
        var blocks: [Block]
    }

    /// Non-system messages as alternating user/assistant turns of content blocks that Messages accepts.
    static func conversation(_ messages: [ChatMessage], warnings: inout [String]) throws(ProviderError) -> [Turn] {
        var ids = ToolIDMap()
        var turns: [Turn] = []
        var droppedEmpty = false
        for message in messages where message.role != .system {
            var turn: Turn
            switch message.role {
            case .system:
                continue
            case .user:
                turn = Turn(role: "user", blocks: try contentBlocks(message.content))
            case .assistant:
                var blocks = try contentBlocks(message.content)
                for call in message.toolCalls {
                    blocks.append(toolUseBlock(call, id: ids.assign(call.id), warnings: &warnings))
                }
                turn = Turn(role: "assistant", blocks: blocks)
            case .tool:
                turn = Turn(role: "user", blocks: [try toolResultBlock(message, ids: ids)])
            }
            if let marker = message.cacheControl, let last = turn.blocks.indices.last {
                turn.blocks[last] = .cached(turn.blocks[last], marker)
            }
            guard !turn.blocks.isEmpty else {
                // Messages refuses empty turns ("all messages must have non-empty content").
                droppedEmpty = true
                continue
            }
            if let last = turns.last, last.role == turn.role {
                turns[turns.count - 1].blocks += turn.blocks
            } else {
                turns.append(turn)
            }
        }
        if droppedEmpty { warnings.append("empty messages are not accepted by Anthropic; dropped") }
        if ids.renamed { warnings.append("tool call ids were rewritten to Anthropic's pattern ^[a-zA-Z0-9_-]+$ and made unique") }
        // Messages requires tool results to open their user turn.
        for index in turns.indices where turns[index].role == "user" {
            if turns[index].blocks.contains(where: \.isToolResult) {
                turns[index].blocks = turns[index].blocks.filter(\.isToolResult) + turns[index].blocks.filter { !$0.isToolResult }
            }
        }
        // The conversation must open with a user turn (and cannot be empty).
        if turns.first?.role != "user" {
            warnings.append("Anthropic needs the conversation to start with a user message; a placeholder \"(continue)\" was added")
            turns.insert(Turn(role: "user", blocks: [.text("(continue)")]), at: 0)
        }
        // A final assistant turn (a prefill) may not end in whitespace.
        if let last = turns.indices.last, turns[last].role == "assistant",
            case .text(let text)? = turns[last].blocks.last, text.last?.isWhitespace == true
        {
            let trimmed = String(text.reversed().drop(while: \.isWhitespace).reversed())
            turns[last].blocks[turns[last].blocks.count - 1] = .text(trimmed)
            if trimmed.isEmpty { turns[last].blocks.removeLast() }
            if turns[last].blocks.isEmpty { turns.removeLast() }
        }
        return turns
    }

    static func contentBlocks(_ parts: [ContentPart]) throws(ProviderError) -> [Block] {
        var blocks: [Block] = []
        for part in parts {
            switch part {
            case .text(let text):
                // Messages rejects empty and whitespace-only text blocks.
                if text.contains(where: { !$0.isWhitespace }) { blocks.append(.text(text)) }
            case .image(let url, _):
                blocks.append(.image(try imageSource(url)))
            case .file(let url, let filename):
                blocks.append(.document(try documentSource(url), title: filename))
            }
        }
        return blocks
    }

    /// A PDF `data:` URL becomes a base64 document source (the one type Messages takes as
    /// data), a web URL a url source.
    static func documentSource(_ url: String) throws(ProviderError) -> ImageSource {
        guard url.hasPrefix("data:") else { return .url(url) }
        let rest = url.dropFirst("data:".count)
        guard let comma = rest.firstIndex(of: ","), rest[..<comma].hasSuffix(";base64"),
            rest[..<comma].split(separator: ";").first?.lowercased() == "application/pdf"
        else {
            throw ProviderError(
                .unsupportedParameter, message: "documents must be PDFs as base64 data URLs (data:application/pdf;base64,…) for Anthropic",
                detectedLocally: true)
        }
        return .base64(mediaType: "application/pdf", data: String(rest[rest.index(after: comma)...]))
    }

    /// `data:` URLs become base64 sources (jpeg, png, gif or webp, the types Messages takes), web
    /// URLs become url sources.
    static func imageSource(_ url: String) throws(ProviderError) -> ImageSource {
        guard url.hasPrefix("data:") else { return .url(url) }
        let rest = url.dropFirst("data:".count)
        guard let comma = rest.firstIndex(of: ","), rest[..<comma].hasSuffix(";base64") else {
            throw ProviderError(
                .unsupportedParameter, message: "image data URLs must be base64-encoded (data:<type>;base64,…)",
                detectedLocally: true)
        }
        // `data:image/png;name=x;base64,` → image/png
        let mediaType = rest[..<comma].split(separator: ";").first.map { String($0).lowercased() } ?? ""
        guard ["image/jpeg", "image/png", "image/gif", "image/webp"].contains(mediaType) else {
            throw ProviderError(
                .unsupportedParameter, message: "image type \(mediaType) is not supported by Anthropic (jpeg, png, gif, webp)",
                detectedLocally: true)
        }
        return .base64(mediaType: mediaType, data: String(rest[rest.index(after: comma)...]))
    }

    /// `arguments` JSON text → `input` object. Stored history may hold arguments a model cut off or
    /// got wrong; rather than making the conversation unsendable forever, they are kept as text
    /// under `_raw` (and an empty or `null` text becomes `{}`), with a warning.
    static func toolUseBlock(_ call: ToolCall, id: String, warnings: inout [String]) -> Block {
        let input: JSONValue
        let parsed = JSONValue.parse(call.arguments)
        switch parsed {
        case .object?:
            input = parsed ?? [:]
        case .null?:
            input = [:]
        case nil where call.arguments.allSatisfy(\.isWhitespace):
            input = [:]
        default:
            warnings.append("arguments of tool call \(call.id) (\(call.name)) are not a JSON object; sent as {\"_raw\": text}")
            input = ["_raw": .string(call.arguments)]
        }
        return .toolUse(id: id, name: call.name, input: input)
    }

    static func toolResultBlock(_ message: ChatMessage, ids: ToolIDMap) throws(ProviderError) -> Block {
        guard let callID = message.toolCallID else {
            throw ProviderError(.invalidRequest, message: "a tool message has no tool_call_id", detectedLocally: true)
        }
        let id = ids.resultID(for: callID)
        if message.content.contains(where: \.isAttachment) {
            return .toolResult(id: id, text: "", blocks: try contentBlocks(message.content))
        }
        return .toolResult(id: id, text: message.text, blocks: nil)
    }

    // MARK: - Writing

    static func write(_ turn: Turn, to writer: inout JSONWriter) {
        writer.beginObject()
        writer.key("role")
        writer.string(turn.role)
        writer.key("content")
        if turn.blocks.count == 1, case .text(let text) = turn.blocks[0] {
            writer.string(text)
        } else {
            write(turn.blocks, to: &writer)
        }
        writer.endObject()
    }

    static func write(_ blocks: [Block], to writer: inout JSONWriter) {
        writer.beginArray()
        for block in blocks {
            writer.beginObject()
            writeMembers(of: block, to: &writer)
            writer.endObject()
        }
        writer.endArray()
    }

    static func writeSource(_ source: ImageSource, to writer: inout JSONWriter) {
        writer.key("source")
        writer.beginObject()
        switch source {
        case .base64(let mediaType, let data):
            writer.key("type")
            writer.string("base64")
            writer.key("media_type")
            writer.string(mediaType)
            writer.key("data")
            writer.string(data)
        case .url(let url):
            writer.key("type")
            writer.string("url")
            writer.key("url")
            writer.string(url)
        }
        writer.endObject()
    }

    static func writeMembers(of block: Block, to writer: inout JSONWriter) {
            switch block {
            case .text(let text):
                writer.key("type")
                writer.string("text")
                writer.key("text")
                writer.string(text)
            case .image(let source):
                writer.key("type")
                writer.string("image")
                writeSource(source, to: &writer)
            case .document(let source, let title):
                writer.key("type")
                writer.string("document")
                writeSource(source, to: &writer)
                if let title {
                    writer.key("title")
                    writer.string(title)
                }
            case .cached(let inner, let marker):
                writeMembers(of: inner, to: &writer)
                writeCacheControl(marker, to: &writer)
            case .toolUse(let id, let name, let input):
                writer.key("type")
                writer.string("tool_use")
                writer.key("id")
                writer.string(id)
                writer.key("name")
                writer.string(name)
                writer.key("input")
                writer.value(input)
            case .toolResult(let id, let text, let blocks):
                writer.key("type")
                writer.string("tool_result")
                writer.key("tool_use_id")
                writer.string(id)
                writer.key("content")
                if let blocks { write(blocks, to: &writer) } else { writer.string(text) }
            }
    }

    /// `required` is Anthropic's `any`; `parallel: false` is its `disable_parallel_tool_use`.
    static func writeToolChoice(_ choice: ToolChoice?, parallel: Bool?, to writer: inout JSONWriter) {
        let type: String
        var name: String?
        switch choice {
        case nil:
            guard parallel == false else { return }
            type = "auto"
        case .auto?: type = "auto"
        case .none?:
            // `none` takes no parallelism flag.
            writer.key("tool_choice")
            writer.beginObject()
            writer.key("type")
            writer.string("none")
            writer.endObject()
            return
        case .required?: type = "any"
        case .tool(let toolName)?:
            type = "tool"
            name = toolName
        }
        writer.key("tool_choice")
        writer.beginObject()
        writer.key("type")
        writer.string(type)
        if let name {
            writer.key("name")
            writer.string(name)
        }
        if parallel == false {
            writer.key("disable_parallel_tool_use")
            writer.bool(true)
        }
        writer.endObject()
    }
}

extension ContentPart {
    var isImage: Bool {
        if case .image = self { return true }
        return false
    }

    /// An image or a file: what text-only places (system and tool messages) cannot hold.
    var isAttachment: Bool {
        switch self {
        case .text: return false
        case .image, .file: return true
        }
    }
}
