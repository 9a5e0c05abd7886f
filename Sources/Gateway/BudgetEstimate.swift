import Catalog
import ChatModel
import Foundation

/// The most a call can cost, reserved against its budgets before it is sent (issue 23): an upper
/// bound of its input tokens plus its output bound (`max_tokens`, then sent explicitly), at the
/// model's list prices. Never a guess that can come in low: when a price or the output bound is
/// unknown there is no amount, and a governed call is refused `price_unknown`.
struct BudgetEstimate: Sendable, Equatable {
    /// Input tokens the call cannot exceed.
    var inputTokenBound: Int
    /// The `max_tokens` the call is sent with.
    var maxOutputTokens: Int
    /// USD, exact; nil when the model has no input or output price.
    var maxCost: Decimal?

    /// Tokens added per message for role and framing (the providers' chat templates use 3 to 5).
    static let tokensPerMessage = 8
    /// The reply priming and the request's framing.
    static let tokensPerRequest = 64
    /// An image by URL is a few bytes of JSON but up to this many tokens (OpenAI's high-detail
    /// 2048×2048 is 1,105 on gpt-4o and up to 1,536 on the mini models' patches; Anthropic's cap
    /// is about 1,600).
    static let tokensPerImage = 3_000
    /// Tools make the providers add a system prompt of their own (Anthropic documents 300-500).
    static let tokensForTools = 1_000

    /// - Parameter requestBytes: the UTF-8 size of the job's stored request. Every token of a
    ///   byte-level BPE tokenizer (GPT, Claude) covers at least one byte of text, so the bytes of
    ///   the JSON (which holds every text, tool schema and argument, plus quotes and keys) bound
    ///   the text's tokens from above; the constants add what is not text.
    static func make(request: ChatRequest, requestBytes: Int, model: LLMModel) -> BudgetEstimate? {
        var images = 0
        for message in request.messages {
            for part in message.content { if case .image = part { images += 1 } }
        }
        var bound = requestBytes + request.messages.count * tokensPerMessage + tokensPerRequest + images * tokensPerImage
        if !request.tools.isEmpty { bound += tokensForTools }
        if let window = model.contextWindow, window > 0 { bound = min(bound, window) }

        let output = request.maxTokens ?? model.maxOutputTokens
        guard let output, output > 0 else { return nil }

        var cost: Decimal?
        if let inputPrice = model.inputCostPer1K, let outputPrice = model.outputCostPer1K {
            // Every input token could be a cache write where writes cost more than reads (Anthropic).
            let input = max(inputPrice, model.cacheCreationInputCostPer1K ?? inputPrice)
            cost = (Decimal(bound) * input + Decimal(output) * outputPrice) / 1000
        }
        return BudgetEstimate(inputTokenBound: bound, maxOutputTokens: output, maxCost: cost)
    }
}
