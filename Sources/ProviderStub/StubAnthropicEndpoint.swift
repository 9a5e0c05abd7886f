import Foundation
import JSON

/// `POST /v1/messages`: reading an Anthropic request and writing its reply.
enum StubAnthropicEndpoint {
    /// The request's conversation, or the 400 Anthropic would send for it. Checked in Anthropic's
    /// order: required fields, messages, tools, then the context window.
    static func conversation(from body: StubJSON) -> Result<StubConversation, StubValidationError> {
        guard body["max_tokens"]?.int != nil else {
            return .failure(.init("max_tokens: Field required"))
        }
        guard let messages = body["messages"]?.array, !messages.isEmpty else {
            return .failure(.init("messages: at least one message is required"))
        }
        if let temperature = body["temperature"]?.double, !(0...1).contains(temperature) {
            return .failure(.init("temperature: Input should be less than or equal to 1"))
        }
        if let violation = StubAnthropicRules.check(body) {
            return .failure(violation)
        }
        var conversation = StubConversation()
        // Everything the prompt-token estimate counts: system, texts, tool uses and results, tools.
        var promptParts: [String] = []
        switch body["system"] {
        case .string(let system)?: promptParts.append(system)
        case .array(let blocks)?: promptParts += blocks.compactMap { $0["text"]?.string }
        default: break
        }
        do {
            try readMessages(messages, into: &conversation, promptParts: &promptParts)
            try readTools(body, into: &conversation, promptParts: &promptParts)
        } catch {
            return .failure(error)
        }
        conversation.cachePrefix = cachePrefix(body)
        conversation.stopSequences = body["stop_sequences"]?.array?.compactMap(\.string) ?? []
        conversation.maxTokens = body["max_tokens"]?.int
        conversation.promptText = promptParts.joined(separator: "\n")
        if let violation = StubAnthropicRules.checkContext(conversation) {
            return .failure(violation)
        }
        return .success(conversation)
    }

    /// The text of the prompt up to its last `cache_control` marker, in Messages' cache order:
    /// tools, then system, then messages (text the token estimate counts, so a prefix's tokens
    /// never exceed the prompt's).
    static func cachePrefix(_ body: StubJSON) -> String? {
        var parts: [String] = []
        var prefixLength: Int?
        func add(_ text: String, marked: Bool) {
            parts.append(text)
            if marked { prefixLength = parts.count }
        }
        for tool in body["tools"]?.array ?? [] {
            add((tool["name"]?.string ?? "") + (tool["description"]?.string ?? "") + (tool["input_schema"]?.encodedString() ?? ""),
                marked: tool["cache_control"] != nil)
        }
        switch body["system"] {
        case .string(let system)?: add(system, marked: false)
        case .array(let blocks)?: for block in blocks { add(block["text"]?.string ?? "", marked: block["cache_control"] != nil) }
        default: break
        }
        for message in body["messages"]?.array ?? [] {
            guard case .array(let blocks)? = message["content"] else {
                add(message["content"]?.string ?? "", marked: false)
                continue
            }
            for block in blocks { add(block["text"]?.string ?? "", marked: block["cache_control"] != nil) }
        }
        return prefixLength.map { parts.prefix($0).joined(separator: "\n") }
    }

    private static func readMessages(
        _ messages: [StubJSON], into conversation: inout StubConversation, promptParts: inout [String]
    ) throws(StubValidationError) {
        conversation.messageCount = messages.count
        // A tool_result must answer a tool_use of the message just before it.
        var previousToolUseIDs: Set<String> = []
        var trailingToolResults: [String] = []
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.string ?? ""
            guard role == "user" || role == "assistant" else {
                throw .init("messages.\(index).role: Input should be 'user' or 'assistant'")
            }
            let blocks: [StubJSON]
            switch message["content"] {
            case .string(let text)?: blocks = [["type": "text", "text": .string(text)]]
            case .array(let array)?: blocks = array
            default: throw .init("messages.\(index).content: Field required")
            }
            let content = try readBlocks(
                blocks, role: role, messageIndex: index, previousToolUseIDs: previousToolUseIDs,
                conversation: &conversation, promptParts: &promptParts)
            promptParts += content.texts + content.results
            if role == "user" {
                if content.results.isEmpty || !content.texts.isEmpty {
                    conversation.lastUserText = content.texts.joined(separator: "\n")
                }
                trailingToolResults = content.texts.isEmpty ? content.results : []
            } else {
                trailingToolResults = []
            }
            previousToolUseIDs = content.toolUseIDs
        }
        conversation.trailingToolResults = trailingToolResults
    }

    /// What one message's content blocks hold.
    private struct MessageContent {
        var texts: [String] = []
        var results: [String] = []
        var toolUseIDs: Set<String> = []
    }

    private static func readBlocks(
        _ blocks: [StubJSON], role: String, messageIndex index: Int, previousToolUseIDs: Set<String>,
        conversation: inout StubConversation, promptParts: inout [String]
    ) throws(StubValidationError) -> MessageContent {
        var content = MessageContent()
        for (blockIndex, block) in blocks.enumerated() {
            switch block["type"]?.string {
            case "text":
                content.texts.append(block["text"]?.string ?? "")
            case "image":
                conversation.imageCount += 1
            case "document":
                // PDFs as base64 or by URL, or plain text, as Messages takes them.
                let source = block["source"]
                switch source?["type"]?.string {
                case "base64" where source?["media_type"]?.string == "application/pdf" && source?["data"]?.string != nil,
                    "url" where source?["url"]?.string != nil, "text" where source?["data"]?.string != nil:
                    conversation.imageCount += 1
                default:
                    throw .init("messages.\(index).content.\(blockIndex).document.source: Input should be a PDF (base64 or url) or text source")
                }
            case "tool_use":
                guard role == "assistant", let id = block["id"]?.string, block["input"]?.object != nil else {
                    throw .init("messages.\(index).content.\(blockIndex).tool_use.input: Input should be a valid dictionary")
                }
                content.toolUseIDs.insert(id)
                promptParts.append((block["name"]?.string ?? "") + (block["input"]?.encodedString() ?? ""))
            case "tool_result":
                let id = block["tool_use_id"]?.string ?? ""
                guard role == "user", previousToolUseIDs.contains(id) else {
                    throw .init(
                        "messages.\(index).content.\(blockIndex): unexpected `tool_use_id` found in `tool_result` blocks: \(id). Each `tool_result` block must have a corresponding `tool_use` block in the previous message.")
                }
                let (text, images) = resultText(block["content"])
                conversation.imageCount += images
                content.results.append(text)
            default:
                throw .init("messages.\(index).content.\(blockIndex).type: Input tag '\(block["type"]?.string ?? "")' found using 'type' does not match any of the expected tags")
            }
        }
        return content
    }

    /// `tools` and `tool_choice` (which carries the parallelism flag in Messages).
    private static func readTools(
        _ body: StubJSON, into conversation: inout StubConversation, promptParts: inout [String]
    ) throws(StubValidationError) {
        let tools = body["tools"]?.array ?? []
        for (index, tool) in tools.enumerated() {
            guard let name = tool["name"]?.string, let schema = tool["input_schema"], schema.object != nil else {
                throw .init("tools.\(index).custom.input_schema: Field required")
            }
            conversation.tools.append(.init(name: name, schema: schema))
            promptParts.append(name + (tool["description"]?.string ?? "") + schema.encodedString())
        }
        guard let choice = body["tool_choice"] else { return }
        switch choice["type"]?.string {
        case "auto": conversation.toolChoice = .auto
        case "none": conversation.toolChoice = .none
        case "any": conversation.toolChoice = .required
        case "tool":
            guard let name = choice["name"]?.string else { throw .init("tool_choice.tool.name: Field required") }
            conversation.toolChoice = .named(name)
        default:
            throw .init("tool_choice: Input tag found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'")
        }
        conversation.parallelToolCalls = choice["disable_parallel_tool_use"]?.bool != true
    }

    /// Text of a `tool_result` content (string or blocks) and its image count.
    static func resultText(_ content: StubJSON?) -> (String, Int) {
        switch content {
        case .string(let text)?:
            return (text, 0)
        case .array(let blocks)?:
            return (blocks.compactMap { $0["text"]?.string }.joined(separator: "\n"), blocks.filter { $0["type"] == "image" }.count)
        default:
            return ("", 0)
        }
    }

    /// The reply body, written straight to bytes (no value tree, no Codable).
    static func success(
        model: String, conversation: StubConversation, reply: StubReply, behavior: StubBehavior,
        cache: StubPromptCacheUse, requestID: String, idSuffix: String
    ) -> StubHTTPReply {
        let (stopReason, stopSequence) = stop(reply.finish)
        var writer = JSONWriter(capacity: 512 + (reply.text?.utf8.count ?? 0))
        writer.beginObject()
        writer.key("id")
        writer.string("msg_stub\(idSuffix)")
        writer.key("type")
        writer.raw(messageTypeAndRole)
        writer.key("model")
        writer.string(model)
        writer.key("content")
        writeContent(reply, idSuffix: idSuffix, to: &writer)
        writer.key("stop_reason")
        writer.string(stopReason)
        writer.key("stop_sequence")
        if let stopSequence { writer.string(stopSequence) } else { writer.null() }
        if !behavior.omitUsage {
            writeUsage(inputTokens: conversation.inputTokens, reply: reply, behavior: behavior, cache: cache, to: &writer)
        }
        writer.endObject()
        return StubHTTPReply(
            status: 200, headers: [("content-type", "application/json"), ("request-id", requestID)], body: Data(writer.bytes))
    }

    /// `stop_reason`, and the `stop_sequence` that ended the reply, if one did.
    static func stop(_ finish: StubReply.Finish) -> (reason: String, sequence: String?) {
        switch finish {
        case .endTurn: return ("end_turn", nil)
        case .maxTokens: return ("max_tokens", nil)
        case .stopSequence(let sequence): return ("stop_sequence", sequence)
        case .toolCalls: return ("tool_use", nil)
        case .refusal: return ("refusal", nil)
        }
    }

    /// The text block (if any), then one tool_use block per call.
    private static func writeContent(_ reply: StubReply, idSuffix: String, to writer: inout JSONWriter) {
        writer.beginArray()
        if let text = reply.text {
            writer.beginObject()
            writer.key("type")
            writer.string("text")
            writer.key("text")
            writer.string(text)
            writer.endObject()
        }
        for (index, call) in reply.toolCalls.enumerated() {
            writer.beginObject()
            writer.key("type")
            writer.string("tool_use")
            writer.key("id")
            writer.string("toolu_stub\(idSuffix)\(index)")
            writer.key("name")
            writer.string(call.name)
            writer.key("input")
            writer.value(call.arguments)
            writer.endObject()
        }
        writer.endArray()
    }

    private static func writeUsage(
        inputTokens input: Int, reply: StubReply, behavior: StubBehavior, cache: StubPromptCacheUse, to writer: inout JSONWriter
    ) {
        // Anthropic's input_tokens excludes what was read from the cache and written to it.
        let cacheRead = cache.read
        if let hostile = behavior.hostileTokenCount {
            writer.key("usage")
            writer.beginObject()
            for key in ["input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens"] {
                writer.key(key)
                writer.int(hostile)
            }
            writer.endObject()
            return
        }
        writer.key("usage")
        writer.beginObject()
        writer.key("input_tokens")
        writer.int(input - cacheRead - cache.written)
        writer.key("cache_creation_input_tokens")
        writer.int(cache.written)
        writer.key("cache_read_input_tokens")
        writer.int(cacheRead)
        writer.key("output_tokens")
        writer.int(reply.outputTokens)
        writer.key("service_tier")
        writer.string("standard")
        writer.endObject()
    }

    /// `"message","role":"assistant"` after `"type":`.
    private static let messageTypeAndRole = Array(#""message","role":"assistant""#.utf8)
}
