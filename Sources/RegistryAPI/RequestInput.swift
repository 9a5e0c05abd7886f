import JSON
import Foundation
import Hummingbird
import NIOCore

/// Reading what a client sent: path and query parameters, and JSON bodies checked against the
/// route's schema before decoding.
extension Request {
    /// Reads the body (at most 1 MiB, else 413), parses it (400 `invalid_json` saying where),
    /// checks it against `schema` (400 `validation_failed` with one entry per unknown field,
    /// missing field or wrong type) and decodes it.
    func decodeJSON<T: Decodable>(_ type: T.Type, schema: JSONSchema, context: RegistryContext) async throws -> T {
        let (_, bytes) = try await readJSON(schema: schema, context: context)
        return try Self.decode(T.self, from: bytes)
    }

    /// The checked document and its bytes, for handlers that look at which members were sent
    /// (partial updates).
    func readJSON(schema: JSONSchema, context: RegistryContext) async throws -> (value: JSONValue, bytes: [UInt8]) {
        var request = self
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        let bytes = Array(buffer.readableBytesView)
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            throw APIError.invalidJSON("the request body is empty; send a JSON object")
        }
        let document: JSONValue
        do {
            document = try JSONParser.parse(bytes)
        } catch {
            throw APIError.invalidJSON(error.description)
        }
        let violations = schema.violations(of: document, components: APISchemas.components)
        if !violations.isEmpty {
            throw APIError.validation(violations.map { APIError.Detail(field: $0.field, message: $0.message) })
        }
        return (document, bytes)
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONCoding.decoder.decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw APIError.validation([detail(for: error)])
        }
    }

    /// A decoding failure the schema let through (e.g. an integer too large for Int).
    private static func detail(for error: DecodingError) -> APIError.Detail {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue { text += "[\(index)]" } else { text += text.isEmpty ? key.stringValue : ".\(key.stringValue)" }
            }
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return .init(field: path(context.codingPath), message: context.debugDescription)
        case .keyNotFound(let key, let context):
            return .init(field: path(context.codingPath + [key]), message: "is required")
        @unknown default:
            return .init(field: "body", message: "\(error)")
        }
    }

    /// A query parameter's value (percent-decoded), nil when absent or empty.
    func query(_ name: String) -> String? {
        guard let value = uri.queryParameters[Substring(name)], !value.isEmpty else { return nil }
        return String(value)
    }

    func queryBool(_ name: String) throws -> Bool? {
        guard let text = query(name) else { return nil }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw APIError.badParameter(name, "must be true or false, not \"\(text)\"")
        }
    }

    func queryInt(_ name: String, range: ClosedRange<Int>? = nil) throws -> Int? {
        guard let text = query(name) else { return nil }
        guard let value = Int(text) else { throw APIError.badParameter(name, "must be an integer, not \"\(text)\"") }
        if let range, !range.contains(value) {
            throw APIError.badParameter(name, "must be between \(range.lowerBound) and \(range.upperBound)")
        }
        return value
    }
}

extension RegistryContext {
    /// A one-segment path parameter.
    func pathParameter(_ name: String) throws -> String {
        guard let raw = parameters.get(name) else { throw APIError.notFound("missing path parameter \(name)") }
        return raw.removingPercentEncoding ?? raw
    }

    /// The catch-all path parameter: every segment it spans, joined with `/` and percent-decoded,
    /// so `meta-llama/Llama-3.1-8B-Instruct` and `meta-llama%2FLlama-3.1-8B-Instruct` name the same model.
    func catchAllParameter() -> String {
        let raw = parameters.getCatchAll().joined(separator: "/")
        return raw.removingPercentEncoding ?? raw
    }
}
