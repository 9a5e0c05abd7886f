import CurlHTTP
import Foundation
@testable import Providers
import Testing

@Suite("Per-call helpers without Foundation")
struct FastPathTests {
    @Test("host of a base URL", arguments: [
        ("https://api.openai.com", "api.openai.com"),
        ("https://API.OpenAI.com:443/v1/", "api.openai.com"),
        ("  http://user:pw@127.0.0.1:8090/x?y#z ", "127.0.0.1"),
        ("http://[::1]:8080/v1", "[::1]"),
        ("api.openai.com/v1", "api.openai.com"),
    ])
    func host(url: String, expected: String) {
        #expect(ChatAdapters.host(of: url) == expected)
    }

    @Test("whitespace trimming and ASCII case-insensitive header names")
    func text() {
        #expect("  sk-x \n".trimmedWhitespace == "sk-x")
        #expect(" \t ".trimmedWhitespace == "")
        #expect("sk".trimmedWhitespace == "sk")
        #expect("X-Request-ID".equalsIgnoringASCIICase("x-request-id"))
        #expect(!"x-request-i".equalsIgnoringASCIICase("x-request-id"))
        let response = CurlHTTPResponse(status: 200, headers: [("Request-Id", "req_1"), ("X-Request-ID", "req_2")], body: Data())
        #expect(response.headerValue("request-id") == "req_1")
        #expect(response.providerRequestID == "req_2")
    }

    @Test("stored requests that are not valid say which field is wrong", arguments: [
        (#"{"messages":[{"role":"robot","content":"x"}]}"#, "messages[0].role"),
        (#"{"messages":[{"role":"user","content":[{"type":"audio"}]}]}"#, "messages[0].content[0].type"),
        (#"{"messages":[],"tools":[{"type":"function","function":{}}]}"#, "tools[0].function.name"),
        (#"{"messages":[],"max_tokens":"many"}"#, "max_tokens"),
        (#"{"tools":[]}"#, "messages"),
    ])
    func invalidStoredRequest(text: String, path: String) {
        do {
            _ = try ChatRequest(jsonBytes: Array(text.utf8))
            Issue.record("accepted \(text)")
        } catch let error as ChatRequestJSONError {
            #expect(error.path == path)
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("a syntax error in a stored request says where it is")
    func syntaxError() {
        #expect(throws: JSONParser.SyntaxError(line: 1, column: 16, reason: "expected ',' or '}' after an object member")) {
            _ = try ChatRequest(jsonBytes: Array(#"{"messages":[] "x":1}"#.utf8))
        }
    }
}
