import Catalog
import Foundation
import Hummingbird
import Postgres
import Storage

/// `/api/providers`: where each provider lives and which environment variable holds its key.
/// Only the variable's NAME is ever stored or returned; error messages never echo a submitted
/// `api_key_env` value, in case someone pasted a key into it.
struct ProviderRoutes: Sendable {
    let providers: ProviderRepository
    /// Which base URLs and key variables a provider write may name.
    let policy: ProviderPolicy
    /// Model answers embed provider state: a provider write invalidates them.
    let catalogCache: CatalogCache

    static let nameParameter = APIParameter.path("name", "Provider name, e.g. openai.")

    var routes: [APIRoute] {
        [
            APIRoute(
                method: .get, path: "/api/providers", operationID: "listProviders", tag: "providers",
                summary: "Every provider with its endpoint, credentials variable name, timeouts and model count.",
                access: .role(.viewer),
                responses: [.init(200, "The providers.", .ref("ProviderList"))],
                handler: list),
            APIRoute(
                method: .post, path: "/api/providers", operationID: "createProvider", tag: "providers",
                summary: "Register a provider (e.g. an OpenAI-compatible server).",
                access: .role(.admin),
                requestBody: .ref("ProviderCreate"),
                responses: [.init(201, "The provider.", .ref("Provider"))], errors: [409],
                handler: create),
            APIRoute(
                method: .get, path: "/api/providers/{name}", operationID: "getProvider", tag: "providers",
                summary: "One provider.",
                access: .role(.viewer),
                parameters: [Self.nameParameter],
                responses: [.init(200, "The provider.", .ref("Provider"))], errors: [404],
                handler: get),
            APIRoute(
                method: .patch, path: "/api/providers/{name}", operationID: "updateProvider", tag: "providers",
                summary: "Change base_url, enabled, api_key_env (a variable name, never a key) or timeouts.",
                access: .role(.admin),
                parameters: [Self.nameParameter],
                requestBody: .ref("ProviderUpdate"),
                responses: [.init(200, "The updated provider.", .ref("Provider"))], errors: [404],
                handler: update),
        ]
    }

    struct ProviderBody: Encodable, Sendable {
        var provider: Provider
        var modelCount: Int

        typealias CodingKeys = ProviderField

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(provider.name, forKey: .name)
            try c.encode(provider.apiStyle.rawValue, forKey: .apiStyle)
            try c.encode(provider.baseURL, forKey: .baseURL)
            try c.encode(provider.apiKeyEnv, forKey: .apiKeyEnv)
            try c.encode(provider.enabled, forKey: .enabled)
            try c.encode(provider.connectTimeoutSeconds, forKey: .connectTimeoutSeconds)
            try c.encode(provider.requestTimeoutSeconds, forKey: .requestTimeoutSeconds)
            try c.encode(modelCount, forKey: .modelCount)
        }
    }

    struct ProviderListBody: Encodable, Sendable {
        var providers: [ProviderBody]
    }

    /// Create and update bodies: every setting optional here; required ones are enforced by the schema.
    struct ProviderInput: Decodable, Sendable {
        var name: String?
        var apiStyle: APIStyle?
        var baseURL: String?
        var apiKeyEnv: String??
        var enabled: Bool?
        var connectTimeoutSeconds: Double?
        var requestTimeoutSeconds: Double?

        typealias CodingKeys = ProviderField

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            name = try c.decodeIfPresent(String.self, forKey: .name)
            apiStyle = try c.decodeIfPresent(APIStyle.self, forKey: .apiStyle)
            baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
            // Present-and-null (clear it) differs from absent (leave it).
            apiKeyEnv = c.contains(.apiKeyEnv) ? .some(try c.decodeIfPresent(String.self, forKey: .apiKeyEnv)) : nil
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled)
            connectTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .connectTimeoutSeconds)
            requestTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .requestTimeoutSeconds)
        }

        func apply(to provider: inout Provider) {
            if let apiStyle { provider.apiStyle = apiStyle }
            if let baseURL { provider.baseURL = baseURL }
            if let apiKeyEnv { provider.apiKeyEnv = apiKeyEnv }
            if let enabled { provider.enabled = enabled }
            if let connectTimeoutSeconds { provider.connectTimeoutSeconds = connectTimeoutSeconds }
            if let requestTimeoutSeconds { provider.requestTimeoutSeconds = requestTimeoutSeconds }
        }
    }

    func list(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ProviderListBody> {
        let counts = try await providers.modelCounts()
        let providers = try await self.providers.all()
        return JSONResponse(ProviderListBody(providers: providers.map { ProviderBody(provider: $0, modelCount: counts[$0.name] ?? 0) }))
    }

    func get(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ProviderBody> {
        let name = try context.pathParameter("name")
        guard let provider = try await providers.find(name) else { throw APIError.notFound("provider '\(name)' does not exist") }
        let counts = try await providers.modelCounts()
        return JSONResponse(ProviderBody(provider: provider, modelCount: counts[name] ?? 0))
    }

    func create(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ProviderBody> {
        let input = try await request.decodeJSON(ProviderInput.self, schema: .ref("ProviderCreate"), context: context)
        var provider = Provider(name: input.name ?? "", apiStyle: input.apiStyle ?? .openai, baseURL: input.baseURL ?? "", apiKeyEnv: nil)
        input.apply(to: &provider)
        var issues = Self.issues(provider, policy: policy, checkEndpoint: true)
        if !Self.isName(provider.name) {
            issues.insert(.init(field: "name", message: "name must be lowercase letters, digits, '_', '.' or '-', starting with a letter or digit"), at: 0)
        }
        if !issues.isEmpty { throw APIError.validation(issues, message: "the provider is invalid") }
        do {
            let created = try await providers.create(provider, actor: context.actor)
            catalogCache.invalidate()
            context.logger.notice("registry.provider.created", metadata: [
                "llm.provider": "\(created.name)", "provider.base_url": "\(created.baseURL)",
                "provider.api_key_env": "\(created.apiKeyEnv ?? "")",
            ])
            return JSONResponse(ProviderBody(provider: created, modelCount: 0), status: .created)
        } catch let error as PostgresError where error.isUniqueViolation {
            throw APIError.conflict("provider '\(provider.name)' already exists", details: [.init(field: "name", message: "is taken")])
        }
    }

    func update(_ request: Request, _ context: RegistryContext) async throws -> JSONResponse<ProviderBody> {
        let name = try context.pathParameter("name")
        let input = try await request.decodeJSON(ProviderInput.self, schema: .ref("ProviderUpdate"), context: context)
        // Where the key goes is checked when it changes; disabling or retiming a provider is always allowed.
        let checkEndpoint = input.baseURL != nil || input.apiKeyEnv != nil
        let policy = self.policy
        let result = try await providers.update(name, actor: context.actor) { current in
            var provider = current
            input.apply(to: &provider)
            let issues = Self.issues(provider, policy: policy, checkEndpoint: checkEndpoint)
            if !issues.isEmpty { throw APIError.validation(issues, message: "the provider settings are invalid") }
            return provider
        }
        guard let (before, updated) = result else { throw APIError.notFound("provider '\(name)' does not exist") }
        catalogCache.invalidate()
        if before.baseURL != updated.baseURL || before.apiKeyEnv != updated.apiKeyEnv {
            // Where a key is sent is security-relevant: say so at notice level, with both ends.
            context.logger.notice("registry.provider.endpoint_changed", metadata: [
                "llm.provider": "\(name)",
                "provider.base_url.before": "\(before.baseURL)", "provider.base_url.after": "\(updated.baseURL)",
                "provider.api_key_env.before": "\(before.apiKeyEnv ?? "")", "provider.api_key_env.after": "\(updated.apiKeyEnv ?? "")",
                "auth.token_kind": "\(context.actor.tokenKind)", "auth.key_id": "\(context.principal?.keyID?.jsonString ?? "")",
            ])
        }
        context.logger.info("registry.provider.updated", metadata: ["llm.provider": "\(name)", "provider.enabled": "\(updated.enabled)"])
        let counts = try await providers.modelCounts()
        return JSONResponse(ProviderBody(provider: updated, modelCount: counts[name] ?? 0))
    }

    /// An hour: longer than any model call, and far from the limits of integer milliseconds.
    static let maxTimeoutSeconds = 3600.0

    /// The CHECK constraints of migrations/0003 and the key-safety rules, as field messages.
    /// `checkEndpoint`: also check where the key would be sent and which variable holds it.
    static func issues(_ provider: Provider, policy: ProviderPolicy, checkEndpoint: Bool) -> [FieldIssue] {
        var issues: [FieldIssue] = []
        if checkEndpoint {
            for problem in provider.baseURLProblems(allowedHTTPHosts: policy.allowedHTTPHosts) {
                issues.append(.init(field: "base_url", message: problem.description))
            }
        }
        // Which host the key variable is bound to is asked of a usable base URL only.
        let baseURLUsable = issues.isEmpty
        if let variable = provider.apiKeyEnv, !isVariableName(variable) {
            // The value itself is not repeated: it may be a pasted secret.
            issues.append(.init(
                field: "api_key_env",
                message: "api_key_env must be the NAME of an environment variable (letters, digits, _; e.g. OPENAI_API_KEY), never the key itself"))
        } else if let variable = provider.apiKeyEnv, Provider.isReservedKeyVariable(variable) {
            issues.append(.init(field: "api_key_env", message: Provider.KeyVariableProblem.reserved(variable: variable).description))
        } else if checkEndpoint, baseURLUsable, let variable = provider.apiKeyEnv,
            let problem = Provider.keyVariableProblem(
                variable, baseURL: provider.baseURL, bindings: policy.keyHosts, operatorAllowed: policy.allowedKeyVariables)
        {
            issues.append(.init(field: "api_key_env", message: problem.description))
        }
        if !(provider.connectTimeoutSeconds > 0 && provider.connectTimeoutSeconds <= maxTimeoutSeconds) {
            issues.append(.init(field: "connect_timeout_seconds", message: "must be a number of seconds greater than 0 and at most \(Int(maxTimeoutSeconds))"))
        }
        if !(provider.requestTimeoutSeconds > 0 && provider.requestTimeoutSeconds <= maxTimeoutSeconds) {
            issues.append(.init(field: "request_timeout_seconds", message: "must be a number of seconds greater than 0 and at most \(Int(maxTimeoutSeconds))"))
        }
        return issues
    }

    static func isVariableName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, first == "_" || (first.isASCII && first.properties.isAlphabetic) else { return false }
        return text.unicodeScalars.allSatisfy { $0 == "_" || ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) }
    }

    static func isName(_ text: String) -> Bool {
        guard let first = text.unicodeScalars.first, ("a"..."z").contains(first) || ("0"..."9").contains(first) else { return false }
        return text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0) }
    }
}

/// The JSON names of a provider's fields, shared by what the API answers and what it accepts.
enum ProviderField: String, CodingKey {
    case name
    case apiStyle = "api_style"
    case baseURL = "base_url"
    case apiKeyEnv = "api_key_env"
    case enabled
    case connectTimeoutSeconds = "connect_timeout_seconds"
    case requestTimeoutSeconds = "request_timeout_seconds"
    /// Answered only: how many catalog models the provider serves.
    case modelCount = "model_count"
}
