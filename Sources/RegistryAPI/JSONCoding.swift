import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The API's JSON conventions in one place: snake_case keys come from each type's `CodingKeys`,
/// dates are ISO 8601, `Decimal` money is written as an exact JSON number, `/` in model ids is not
/// escaped.
enum JSONCoding {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return decoder
    }
}

enum RegistryLimits {
    /// Request bodies above this answer 413. A catalog import of LiteLLM's full map (~1.4 MB) is
    /// larger: upload it with `model-registry import-catalog`, or send only the entries you need.
    static let maximumBodyBytes = 1024 * 1024
}

/// A JSON response with a status.
struct JSONResponse<Body: Encodable & Sendable>: ResponseGenerator {
    var status: HTTPResponse.Status = .ok
    var body: Body

    init(_ body: Body, status: HTTPResponse.Status = .ok) {
        self.body = body
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let data = try JSONCoding.encoder.encode(body)
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
