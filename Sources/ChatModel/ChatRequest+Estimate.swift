// The prompt-size estimate made before any call (routing by context window, budgets) and
// answered by `POST /v1/messages/count_tokens`: one place, so they agree.

extension ChatRequest {
    /// A deliberately generous prompt-size estimate, without a tokenizer: 1 token per 4 UTF-8
    /// bytes of text (English averages ~4.2 characters per token for GPT/Claude tokenizers;
    /// bytes over-count non-ASCII text, which errs towards a larger model), plus 4 tokens per
    /// message for role and framing, 85 per image (a low-detail image tile), a document's data
    /// at the text rate (its base64 size stands for its text and page images), the tool
    /// definitions' JSON at the same rate, and 16 for the reply priming.
    public var estimatedPromptTokens: Int {
        var bytes = 0
        var tokens = 16
        for message in messages {
            tokens += 4
            for part in message.content {
                switch part {
                case .text(let text): bytes += text.utf8.count
                case .image: tokens += 85
                case .file(let url, _): bytes += url.utf8.count
                }
            }
            for call in message.toolCalls { bytes += call.name.utf8.count + call.arguments.utf8.count }
        }
        for tool in tools {
            bytes += tool.name.utf8.count + (tool.description?.utf8.count ?? 0) + tool.parameters.encodedBytes().count
        }
        return tokens + (bytes + 3) / 4
    }
}
