import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The API's JSON conventions in one place: snake_case keys come from each type's `CodingKeys`,
/// dates are `Timestamp`s (ISO 8601, UTC, milliseconds), `Decimal` money is written as an exact JSON number, `/` in model ids is not
/// escaped, keys are sorted (the same resource always reads the same, whatever order the encoder's
/// storage keeps them in).
enum JSONCoding {
    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        // Same form as LLMModel's own timestamps and the stored documents.
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(Timestamp.string(from: date))
        }
        return encoder
    }

    static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        // What the encoder writes reads back (`.iso8601` refuses fractional seconds).
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            let text = try container.decode(String.self)
            guard let date = Timestamp.date(from: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "must be an ISO 8601 date-time with a time zone")
            }
            return date
        }
        return decoder
    }
}

enum RegistryLimits {
    /// Request bodies above this answer 413 (every route but the catalog import).
    static let maximumBodyBytes = 1024 * 1024
    /// `POST /api/models/import` only: LiteLLM's full cost map is ~3.4 MB.
    static let maximumImportBytes = 16 * 1024 * 1024
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
        Self.response(body: ByteBuffer(bytes: try JSONCoding.encoder.encode(body)), status: status)
    }

    /// A JSON response around bytes encoded earlier (the catalog cache).
    static func response(body: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}
