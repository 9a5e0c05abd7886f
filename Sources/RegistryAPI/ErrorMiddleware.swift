import Hummingbird
import Logging
import NIOCore
import Postgres

/// Turns every thrown error into the API's JSON error shape, so no route (nor the router's own
/// 404 and 413) answers with Hummingbird's default body. Unexpected errors are logged here, once,
/// and answered as a bare 500 that reveals nothing of the server's internals.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = RegistryContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            return Self.apiError(for: error, request: request, logger: context.logger).response()
        }
    }

    static func apiError(for error: any Error, request: Request, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case is NIOTooManyBytesError:
            return .bodyTooLarge
        case let error as PostgresError:
            return apiError(for: error, logger: logger)
        case let error as any HTTPResponseError:
            switch error.status {
            case .notFound:
                return APIError(.notFound, code: "not_found", message: "no route for \(request.method.rawValue) \(request.uri.path)")
            case .contentTooLarge:
                return .bodyTooLarge
            case .unauthorized:
                return .unauthorized
            default:
                let message = (error as? HTTPError)?.body ?? error.status.reasonPhrase
                return APIError(error.status, code: "http_\(error.status.code)", message: message)
            }
        default:
            logger.error("registry.request.failed", metadata: [
                "http.method": "\(request.method.rawValue)", "http.path": "\(request.uri.path)",
                "error.type": "\(type(of: error))", "error.message": "\(error)",
            ])
            return .internalError
        }
    }

    /// Constraint violations the API did not catch first are still the client's mistake.
    private static func apiError(for error: PostgresError, logger: Logger) -> APIError {
        switch error.kind {
        case .connection, .connectionLost, .shutdown, .poolTimeout:
            logger.error("registry.database.unavailable", metadata: ["error.message": "\(error.message)"])
            return .databaseUnavailable
        // Constraint and table names stay in the log: they describe the schema, not the request.
        case .server where error.isUniqueViolation:
            logger.notice("registry.database.unique_violation", metadata: ["postgres.constraint": "\(error.constraint ?? "")"])
            return .conflict("already exists")
        case .server where error.sqlState == SQLState.checkViolation:
            logger.notice("registry.database.check_violation", metadata: ["postgres.constraint": "\(error.constraint ?? "")"])
            return .validation([.init(field: "body", message: "a value is out of the allowed range")], message: "a value is out of range")
        case .server where error.sqlState == SQLState.untranslatableCharacter:
            // JSON may carry \u0000 but PostgreSQL's jsonb and text cannot: the client's input.
            logger.notice("registry.database.untranslatable_character")
            return .validation(
                [.init(field: "body", message: "a string contains the NUL character (\\u0000), which cannot be stored")],
                message: "a string contains the NUL character")
        case .invalidValue where error.sqlState == SQLState.characterNotInRepertoire:
            // A query parameter or field with a NUL byte (found by the API fuzzer): refused before sending.
            logger.notice("registry.database.nul_in_text")
            return .validation(
                [.init(field: "request", message: "a value contains the NUL character (U+0000), which cannot be stored or searched")],
                message: "a value contains the NUL character")
        case .server where error.sqlState == "SB429":
            // A job beyond a tenant's queued-jobs cap or a key's concurrent-jobs cap (0036, 0037).
            logger.notice("registry.rate_limit.cap_reached")
            return .capReached(error)
        case .server where error.isForeignKeyViolation:
            logger.notice("registry.database.foreign_key_violation", metadata: ["postgres.constraint": "\(error.constraint ?? "")"])
            return .conflict("refers to or is referred to by another row")
        default:
            logger.error("registry.database.failed", metadata: [
                "postgres.sqlstate": "\(error.sqlState ?? "")", "error.message": "\(error.message)",
            ])
            return .internalError
        }
    }
}
