import CCurl
import Foundation
import Support
import Synchronization

/// One request in flight: owns its easy handle (until the loop hands it back to the pool), header
/// list, request body copy and error buffer, so nothing curl points at can disappear mid-transfer.
final class CurlTransfer: @unchecked Sendable {
    // Only the event-loop thread touches the mutable state below, after `enqueue`.
    private(set) var easy: UnsafeMutableRawPointer?
    /// The parsed URL the easy handle reads (CURLOPT_CURLU); freed with the transfer.
    private let url: OpaquePointer
    private let pool: EasyHandlePool
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var bodyBuffer: UnsafeMutableRawBufferPointer?
    private let errorBuffer: UnsafeMutablePointer<CChar>
    /// Read by the opensocket callback on the loop thread; says which address it refused.
    private let addressGuard: UnsafeMutablePointer<sb_address_guard>
    let host: String
    let maxResponseBytes: Int
    var exceededResponseLimit = false

    var status = 0
    var responseHeaders: [(name: String, value: String)] = []
    var responseBody = Data()
    var continuation: CheckedContinuation<CurlHTTPResponse, any Error>?
    /// A streaming download: body bytes go to the sink as they arrive instead of `responseBody`.
    var streamSink: CurlStreamSink?
    /// A streaming upload: the request body is read from here while the transfer runs.
    let uploadSource: CurlUploadSource?

    /// Set from any thread when the awaiting task is cancelled.
    let cancelled = Atomic<Bool>(false)

    init(
        request: CurlHTTPRequest, pool: EasyHandlePool, defaultCABundlePath: String?, uploadSource: CurlUploadSource? = nil
    ) throws {
        self.uploadSource = uploadSource
        // curl's own URL parser, whose result the transfer then uses (CURLOPT_CURLU): what we
        // check is exactly what curl connects to.
        guard let url = curl_url() else { throw CurlHTTPError.transfer(code: -1, message: "curl_url failed") }
        var ownsURL = true
        defer { if ownsURL { curl_url_cleanup(url) } }
        guard curl_url_set(url, CURLUPART_URL, request.url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK,
              let scheme = Self.part(url, CURLUPART_SCHEME)?.lowercased()
        else {
            throw CurlHTTPError.invalidURL(Self.redacted(request.url))
        }
        guard scheme == "http" || scheme == "https" else { throw CurlHTTPError.unsupportedScheme(scheme) }
        guard let host = Self.part(url, CURLUPART_HOST), !host.isEmpty else { throw CurlHTTPError.invalidURL(Self.redacted(request.url)) }
        for header in request.headers {
            // A CR or LF would let a value start a header (or a request) of its own.
            guard Self.isToken(header.name), Self.isFieldValue(header.value) else {
                throw CurlHTTPError.invalidHeader(name: String(header.name.prefix(64)))
            }
        }
        let handle = try pool.take()
        self.easy = handle.pointer
        self.url = url
        ownsURL = false
        self.pool = pool
        self.host = host
        self.maxResponseBytes = request.maxResponseBytes
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        self.addressGuard = .allocate(capacity: 1)
        addressGuard.initialize(to: sb_address_guard())
        addressGuard.pointee.allow_non_public = request.publicAddressesOnly ? 0 : 1
        configure(request, easy: handle.pointer, isHTTPS: scheme == "https", caBundlePath: request.caBundlePath ?? defaultCABundlePath)
    }

    deinit {
        // Only a transfer that never reached the loop still owns its handle here.
        if let easy { curl_easy_cleanup(easy) }
        curl_url_cleanup(url)
        if let headerList { curl_slist_free_all(headerList) }
        bodyBuffer?.deallocate()
        errorBuffer.deallocate()
        addressGuard.deallocate()
    }

    /// Gives up the easy handle (the loop recycles it once curl is done with it).
    func detachHandle() -> EasyHandle? {
        defer { easy = nil }
        return easy.map(EasyHandle.init)
    }

    private static func part(_ url: OpaquePointer, _ which: CURLUPart) -> String? {
        var value: UnsafeMutablePointer<CChar>?
        guard curl_url_get(url, which, &value, 0) == CURLUE_OK, let value else { return nil }
        defer { curl_free(value) }
        return String(cString: value)
    }

    /// RFC 9110 token: the characters a header name may use.
    private static func isToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                return true
            default:
                return "!#$%&'*+-.^_`|~".utf8.contains(byte)
            }
        }
    }

    /// No CR, LF or NUL (nor other control characters but tab).
    private static func isFieldValue(_ value: String) -> Bool {
        value.utf8.allSatisfy { $0 >= 0x20 && $0 != 0x7f || $0 == 0x09 }
    }

    /// The URL without userinfo or query, for error messages (they may carry credentials).
    private static func redacted(_ url: String) -> String {
        var text = url
        if let query = text.firstIndex(where: { $0 == "?" || $0 == "#" }) { text = String(text[..<query]) }
        if let schemeEnd = text.range(of: "://"), let at = text[schemeEnd.upperBound...].firstIndex(of: "@") {
            text = String(text[..<schemeEnd.upperBound]) + "***@" + text[text.index(after: at)...]
        }
        return text
    }

    private func configure(_ request: CurlHTTPRequest, easy: UnsafeMutableRawPointer, isHTTPS: Bool, caBundlePath: String?) {
        sb_curl_easy_setopt_pointer(easy, CURLOPT_CURLU, UnsafeMutableRawPointer(url))
        // Refuse anything but http(s), including on redirects (which we do not follow anyway).
        sb_curl_easy_setopt_string(easy, CURLOPT_PROTOCOLS_STR, "http,https")
        sb_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        sb_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, request.timeout.timeoutMilliseconds)
        if let connectTimeout = request.connectTimeout {
            sb_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, connectTimeout.timeoutMilliseconds)
        }
        sb_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, errorBuffer)
        // Every transfer opens its sockets through the guard (a reset handle forgets the callback).
        sb_curl_easy_set_address_guard(easy, addressGuard)
        sb_curl_easy_setopt_string(easy, CURLOPT_ACCEPT_ENCODING, "")
        if isHTTPS {
            // Wait for a connection that may multiplex (HTTP/2 over ALPN) rather than open one
            // connection per request of a burst.
            sb_curl_easy_setopt_long(easy, CURLOPT_PIPEWAIT, 1)
            if let caBundlePath { sb_curl_easy_setopt_string(easy, CURLOPT_CAINFO, caBundlePath) }
        }
        let method = request.method.uppercased()
        if method == "HEAD" {
            // No body is sent or expected, even if one was given (curl would wait for it).
            sb_curl_easy_setopt_long(easy, CURLOPT_NOBODY, 1)
        } else if uploadSource != nil {
            // A body produced while the transfer runs: chunked, read through curlReadBody, which
            // pauses the transfer while the producer has nothing new.
            sb_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
            sb_curl_easy_setopt_pointer(easy, CURLOPT_READDATA, Unmanaged.passUnretained(self).toOpaque())
            sb_curl_easy_setopt_read_function(easy, curlReadBody)
        } else if let body = request.body {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(body.count, 1), alignment: 1)
            _ = body.copyBytes(to: buffer.bindMemory(to: UInt8.self))
            bodyBuffer = buffer
            sb_curl_easy_setopt_off_t(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
            sb_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, buffer.baseAddress)
            if method != "POST" { sb_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method) }
        } else if method != "GET" {
            sb_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, method)
        }

        var list: UnsafeMutablePointer<curl_slist>?
        for header in request.headers {
            list = curl_slist_append(list, "\(header.name): \(header.value)")
        }
        // No "Expect: 100-continue" round trip before sending a body.
        list = curl_slist_append(list, "Expect:")
        if uploadSource != nil { list = curl_slist_append(list, "Transfer-Encoding: chunked") }
        headerList = list
        sb_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)

        let context = Unmanaged.passUnretained(self).toOpaque()
        sb_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, context)
        sb_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, context)
        sb_curl_easy_setopt_write_function(easy, curlWriteBody)
        sb_curl_easy_setopt_header_function(easy, curlWriteHeader)
    }

    /// Called on the event-loop thread once curl reports the transfer done.
    func finish(code: CURLcode) {
        uploadSource?.close()
        if let sink = streamSink, let easy {
            streamSink = nil
            if code == CURLE_OK {
                sink.deliverHead(status: responseStatus(easy), headers: responseHeaders, httpVersion: httpVersion(easy))
                sink.finish(throwing: nil)
            } else {
                sink.finish(throwing: error(for: code))
            }
            return
        }
        guard let continuation, let easy else { return }
        self.continuation = nil
        if code == CURLE_OK {
            var status = 0
            sb_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
            var version = 0
            sb_curl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
            continuation.resume(returning: CurlHTTPResponse(
                status: status, headers: responseHeaders, body: responseBody,
                httpVersion: version == CURL_HTTP_VERSION_2_0 ? 2 : 1))
        } else {
            continuation.resume(throwing: error(for: code))
        }
    }

    /// The status of the response being received (on the loop thread, from a callback or `finish`).
    func responseStatus(_ easy: UnsafeMutableRawPointer) -> Int {
        var status = 0
        sb_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return status
    }

    func httpVersion(_ easy: UnsafeMutableRawPointer) -> Int {
        var version = 0
        sb_curl_easy_getinfo_long(easy, CURLINFO_HTTP_VERSION, &version)
        return version == CURL_HTTP_VERSION_2_0 ? 2 : 1
    }

    func fail(_ error: any Error) {
        if let sink = streamSink {
            streamSink = nil
            sink.finish(throwing: error)
        }
        uploadSource?.close()
        continuation?.resume(throwing: error)
        continuation = nil
    }

    private func error(for code: CURLcode) -> CurlHTTPError {
        let detail = String(cString: errorBuffer)
        let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
        if exceededResponseLimit { return .responseTooLarge(limit: maxResponseBytes) }
        if addressGuard.pointee.refused != 0 {
            let address = withUnsafeBytes(of: addressGuard.pointee.refused_address) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            return .addressNotAllowed(host: host, address: address)
        }
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            // Any request bytes on the wire mean the server has (or will have) the request.
            var requestBytes = 0
            if let easy { sb_curl_easy_getinfo_long(easy, CURLINFO_REQUEST_SIZE, &requestBytes) }
            return requestBytes > 0 ? .timeoutAfterSend : .timeout
        case CURLE_COULDNT_RESOLVE_HOST:
            return .nameResolution(host: host)
        case CURLE_COULDNT_CONNECT:
            var osErrno = 0
            if let easy { sb_curl_easy_getinfo_long(easy, CURLINFO_OS_ERRNO, &osErrno) }
            return osErrno == Int(ECONNREFUSED) ? .connectionRefused : .connection(message)
        case CURLE_UNSUPPORTED_PROTOCOL:
            return .unsupportedScheme(message)
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_CIPHER, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ENGINE_NOTFOUND,
             CURLE_SSL_ENGINE_SETFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_SSL_CRL_BADFILE,
             CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS,
             CURLE_SSL_CLIENTCERT, CURLE_USE_SSL_FAILED:
            return .tls(message)
        case CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_PARTIAL_FILE,
             CURLE_HTTP2, CURLE_HTTP2_STREAM:
            return .connection(message)
        default:
            return .transfer(code: Int(code.rawValue), message: message)
        }
    }
}

private let curlWriteBody: sb_curl_data_callback = { pointer, size, count, context in
    let length = size * count
    guard let pointer, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    if let sink = transfer.streamSink {
        sink.received += length
        if sink.received > transfer.maxResponseBytes {
            transfer.exceededResponseLimit = true
            return 0
        }
        if !sink.headDelivered, let easy = transfer.easy {
            // The first body byte: every header has arrived.
            sink.deliverHead(status: transfer.responseStatus(easy), headers: transfer.responseHeaders, httpVersion: transfer.httpVersion(easy))
        }
        sink.yield(Data(bytes: pointer, count: length))
        return length
    }
    if transfer.responseBody.count + length > transfer.maxResponseBytes {
        // Returning less than was offered makes curl abort the transfer (CURLE_WRITE_ERROR).
        transfer.exceededResponseLimit = true
        return 0
    }
    transfer.responseBody.append(UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self), count: length)
    return length
}

private let curlReadBody: sb_curl_read_callback = { buffer, size, count, context in
    guard let buffer, let context else { return 0 }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    guard let source = transfer.uploadSource else { return 0 }
    return source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: size * count))
}

private let curlWriteHeader: sb_curl_data_callback = { pointer, size, count, context in
    let length = size * count
    guard let pointer, let context else { return length }
    let transfer = Unmanaged<CurlTransfer>.fromOpaque(context).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: pointer, count: length).bindMemory(to: UInt8.self)
    func isSpace(_ byte: UInt8) -> Bool { byte == 0x20 || byte == 0x09 || byte == 0x0d || byte == 0x0a }
    if bytes.starts(with: "HTTP/".utf8) {
        // A new status line (after 100 Continue or an informational response) starts a new header set.
        transfer.responseHeaders.removeAll()
    } else if let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
        var nameEnd = colon
        while nameEnd > 0, isSpace(bytes[nameEnd - 1]) { nameEnd -= 1 }
        var valueStart = colon + 1
        var valueEnd = bytes.count
        while valueStart < valueEnd, isSpace(bytes[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, isSpace(bytes[valueEnd - 1]) { valueEnd -= 1 }
        let name = String(decoding: UnsafeBufferPointer(rebasing: bytes[..<nameEnd]), as: UTF8.self)
        let value = String(decoding: UnsafeBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self)
        // Room for the whole body at once (never beyond the limit, which a lying server could
        // otherwise use to make us allocate).
        if name.utf8.count == 14, name.lowercased() == "content-length", let length = Int(value), length > 0 {
            transfer.responseBody.reserveCapacity(min(length, transfer.maxResponseBytes))
        }
        transfer.responseHeaders.append((name: name, value: value))
    }
    return length
}
