import Foundation

/// The fields of an error response body, read from whichever shape the server used.
///
/// Shapes seen in the wild:
/// - OpenAI: `{"error":{"message","type","param","code"}}` (code a string or null)
/// - Anthropic: `{"type":"error","error":{"type","message","details":{"error_code"}},"request_id"}`
/// - vLLM: `{"object":"error","message","type","param","code":400}`
/// - TGI, Ollama's native API, HuggingFace's router: `{"error":"text","error_type":"validation"}`
/// - FastAPI-based servers: `{"detail":"text"}` or `{"detail":[{"msg": …}]}`
/// - proxies: HTML or plain text.
struct ProviderErrorBody: Equatable {
    var type: String?
    var code: String?
    var message: String?
    /// Anthropic's `error.details.error_code` (e.g. `enforced_spend_limit_reached`).
    var detailCode: String?
    var requestID: String?

    /// Longest provider message kept; a proxy's HTML page should not fill an error column.
    static let maximumMessageLength = 500

    init(type: String? = nil, code: String? = nil, message: String? = nil, detailCode: String? = nil, requestID: String? = nil) {
        self.type = type
        self.code = code
        self.message = message
        self.detailCode = detailCode
        self.requestID = requestID
    }

    init(parsing body: Data) {
        guard let json = JSONValue.parse(body), json.objectValue != nil else {
            let text = String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            self.init(message: text.isEmpty ? nil : text)
            return
        }
        self.init(json: json)
    }

    init(json: JSONValue) {
        self.init()
        requestID = json["request_id"]?.stringValue
        if let error = json["error"], error.objectValue != nil {
            type = error["type"]?.stringValue
            code = error["code"]?.scalarText
            message = error["message"]?.stringValue
            detailCode = error["details"]?["error_code"]?.stringValue
        } else if let text = json["error"]?.stringValue {
            message = text
            type = json["error_type"]?.stringValue ?? json["type"]?.stringValue
            code = json["code"]?.scalarText
        } else if json["message"] != nil {
            message = json["message"]?.stringValue
            type = json["type"]?.stringValue
            code = json["code"]?.scalarText
        } else if let detail = json["detail"] {
            message = detail.stringValue ?? detail.arrayValue?.first?["msg"]?.stringValue
        }
    }

    /// Applied after the key is redacted: truncating first could cut a key in two and leave its
    /// start unredacted.
    static func truncated(_ text: String) -> String {
        text.count > maximumMessageLength ? String(text.prefix(maximumMessageLength)) + "…" : text
    }
}
