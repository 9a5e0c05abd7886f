import Catalog
import Foundation
@testable import Providers
import Testing

/// The neutral reasoning control, prompt caching, strict tools, top_k, verbosity and documents:
/// sent where the provider takes them, dropped with a warning where it does not.
@Suite("Reasoning, caching and document translation")
struct ReasoningCachingTranslationTests {
    static let pdf = "data:application/pdf;base64,JVBERi0xLjQK"

    @Test("OpenAI: reasoning_effort for reasoning models, a budget becomes an effort, elsewhere a warning")
    func openAIReasoning() throws {
        let request = ChatRequest(messages: [.user("Think")], reasoning: ReasoningControl(effort: .low))
        let body = try openAI.makeBody(for: request, model: "o4-mini", options: .init())
        #expect(body.json["reasoning_effort"] == "low")
        #expect(body.warnings.isEmpty)
        let budget = try openAI.makeBody(
            for: ChatRequest(messages: [.user("Think")], reasoning: ReasoningControl(budgetTokens: 20000)), model: "gpt-5", options: .init())
        #expect(budget.json["reasoning_effort"] == "high")
        #expect(budget.warnings.contains { $0.contains("sent as reasoning_effort high") })
        let plain = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        #expect(plain.json["reasoning_effort"] == nil)
        #expect(plain.warnings.contains { $0.hasPrefix("reasoning is not supported by gpt-4o") })
        // The catalog can say a compatible server's model reasons (its `reasoning` capability).
        let served = try compatible.makeBody(for: request, model: "deepseek-r1", options: .init(supportsReasoning: true))
        #expect(served.json["reasoning_effort"] == "low")
    }

    @Test("OpenAI: strict tools, verbosity, prompt_cache_key and PDF file parts pass; top_k does not")
    func openAIPassThrough() throws {
        var tool = weatherTool
        tool.strict = true
        let request = ChatRequest(
            messages: [.user([.text("Summarise"), .file(url: Self.pdf, filename: "a.pdf")])], tools: [tool],
            verbosity: "low", promptCacheKey: "tenant-1", topK: 5)
        let body = try openAI.makeBody(for: request, model: "gpt-5", options: .init())
        #expect(body.json["tools"]?.arrayValue?.first?["function"]?["strict"] == true)
        #expect(body.json["verbosity"] == "low")
        #expect(body.json["prompt_cache_key"] == "tenant-1")
        #expect(body.json["top_k"] == nil)
        #expect(body.warnings == ["top_k is not supported by OpenAI; dropped"])
        let part = body.json["messages"]?.arrayValue?.first?["content"]?.arrayValue?.last
        #expect(part == ["type": "file", "file": ["filename": "a.pdf", "file_data": .string(Self.pdf)]])
        // A chat model takes no verbosity; a compatible server takes top_k but no prompt_cache_key.
        let chat = try openAI.makeBody(for: request, model: "gpt-4o", options: .init())
        #expect(chat.json["verbosity"] == nil && chat.warnings.contains("verbosity is not supported by gpt-4o; dropped"))
        let served = try compatible.makeBody(for: request, model: "meta-llama/Llama-3.1-8B-Instruct", options: .init())
        #expect(served.json["top_k"] == 5 && served.json["prompt_cache_key"] == nil)
        #expect(served.warnings.contains { $0.hasPrefix("prompt_cache_key is only understood by OpenAI") })
        // A document by URL has no Chat Completions form.
        let byURL = try openAI.makeBody(
            for: ChatRequest(messages: [.user([.text("Read"), .file(url: "https://example.com/a.pdf")])]), model: "gpt-4o", options: .init())
        #expect(byURL.json["messages"]?.arrayValue?.first?["content"] == "Read")
        #expect(byURL.warnings.contains { $0.hasPrefix("files by URL are not supported") })
    }

    @Test("Anthropic: reasoning becomes thinking with a budget below max_tokens, and sampling is left out")
    func anthropicThinking() throws {
        let request = ChatRequest(
            messages: [.user("Think")], temperature: 0.5, maxTokens: 8000, reasoning: ReasoningControl(effort: .medium), topK: 10)
        let body = try anthropic.makeBody(for: request, model: "claude-sonnet-4-5", options: .init())
        #expect(body.json["thinking"] == ["type": "enabled", "budget_tokens": 4096])
        #expect(body.json["temperature"] == nil && body.json["top_k"] == nil)
        #expect(body.warnings.contains("temperature, top_p and top_k cannot be sent with thinking to Anthropic; dropped"))
        var small = request
        small.reasoning = ReasoningControl(budgetTokens: 50000)
        let clamped = try anthropic.makeBody(for: small, model: "claude-opus-4-1", options: .init())
        #expect(clamped.json["thinking"]?["budget_tokens"] == 7999)
        // Models without extended thinking: dropped with a warning; top_k is sent.
        let old = try anthropic.makeBody(for: request, model: "claude-3-5-haiku-20241022", options: .init())
        #expect(old.json["thinking"] == nil && old.json["top_k"] == 10 && old.json["temperature"] == 0.5)
        #expect(old.warnings.contains { $0.hasPrefix("reasoning is not supported by claude-3-5-haiku") })
        // The catalog decides over the name.
        let listed = try anthropic.makeBody(for: request, model: "claude-3-5-haiku-20241022", options: .init(supportsReasoning: true))
        #expect(listed.json["thinking"] != nil)
    }

    @Test("Anthropic: cache breakpoints on system, messages and tools; documents; strict is dropped with a warning")
    func anthropicCachingAndDocuments() throws {
        var system = ChatMessage.system("You are a long, stable system prompt.")
        system.cacheControl = CacheControl(ttl: "1h")
        var user = ChatMessage.user([.file(url: Self.pdf, filename: "report.pdf"), .text("Summarise it")])
        user.cacheControl = CacheControl()
        var tool = weatherTool
        tool.cacheControl = CacheControl()
        tool.strict = true
        let request = ChatRequest(messages: [system, .system("Today is Monday."), user], tools: [tool], maxTokens: 100)
        let body = try anthropic.makeBody(for: request, model: "claude-haiku-4-5", options: .init())
        try expectJSON(#require(body.json["system"]), equals: """
            [{"type":"text","text":"You are a long, stable system prompt.","cache_control":{"type":"ephemeral","ttl":"1h"}},
             {"type":"text","text":"Today is Monday."}]
            """)
        try expectJSON(#require(body.json["messages"]), equals: """
            [{"role":"user","content":[
              {"type":"document","source":{"type":"base64","media_type":"application/pdf","data":"JVBERi0xLjQK"},"title":"report.pdf"},
              {"type":"text","text":"Summarise it","cache_control":{"type":"ephemeral"}}]}]
            """)
        #expect(body.json["tools"]?.arrayValue?.first?["cache_control"] == ["type": "ephemeral"])
        #expect(body.warnings.contains("strict tool schemas are not enforced by Anthropic Messages; strict dropped"))
        // Without markers the system prompt stays one string.
        let plain = try anthropic.makeBody(for: ChatRequest(messages: [.system("A"), .user("B")]), model: "claude-haiku-4-5", options: .init())
        #expect(plain.json["system"] == "A")
        // Only PDFs are documents as data.
        #expect(throws: ProviderError.self) {
            try anthropic.makeBody(
                for: ChatRequest(messages: [.user([.file(url: "data:text/csv;base64,YSxi")])]), model: "claude-haiku-4-5", options: .init())
        }
    }
}
