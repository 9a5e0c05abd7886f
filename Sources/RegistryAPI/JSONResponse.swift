import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

// What the registry's handlers return. Hummingbird's `ResponseGenerator` turns the value into a
// response after the handler, so a handler says what it answers (`JSONResponse<AgentBody>`, a
// 204 status) and the encoding lives here, once, with the API's JSON conventions.

/// A body encoded with `JSONCoding.encoder`, and its status (200 unless said otherwise).
struct JSONResponse<Body: Encodable & Sendable>: ResponseGenerator {
    var body: Body
    var status: HTTPResponse.Status

    init(_ body: Body, status: HTTPResponse.Status = .ok) {
        self.body = body
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        EncodedJSONResponse(ByteBuffer(bytes: try JSONCoding.encoder.encode(body)), status: status).response
    }
}

/// A JSON body encoded earlier: the catalog cache keeps its answers as bytes, so a hit costs no
/// encoding at all.
struct EncodedJSONResponse: ResponseGenerator {
    var body: ByteBuffer
    var status: HTTPResponse.Status

    init(_ body: ByteBuffer, status: HTTPResponse.Status = .ok) {
        self.body = body
        self.status = status
    }

    func response(from request: Request, context: some RequestContext) -> Response { response }

    /// Every JSON answer's headers, errors' included (`APIError` adds its own to these).
    var response: Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: body))
    }
}
