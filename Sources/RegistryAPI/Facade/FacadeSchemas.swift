import Catalog
import Foundation
import JSON

/// `/openapi.json` schemas of the `/v1` endpoints: the subset of OpenAI's and Anthropic's request
/// and response shapes this facade accepts and answers.
enum FacadeSchemas {
    static let long = APISchemas.providerTextMaxLength
    /// Lists of every active agent and catalog model: far beyond the default array bound.
    static let listMaxItems = 10_000_000

    static let errorStatuses: [(Int, String)] = [
        (400, "Invalid request (invalid JSON, an unsupported parameter, a value out of range, an ambiguous agent name); also a failed job whose error was the request's (invalid_request, context_length_exceeded, content_filter)."),
        (401, "Missing or wrong key (Authorization: Bearer <token> or x-api-key: <token>)."),
        (403, "The read-only token may only list models."),
        (404, "model names no active agent and no usable catalog model (OpenAI code model_not_found; Anthropic not_found_error)."),
        (405, "The path exists but not with this method."),
        (409, "The Idempotency-Key names a job with different content, or the job was cancelled."),
        (413, "Request body over 8 MiB."),
        (415, "POST needs Content-Type: application/json."),
        (429, "The job failed because every provider rate-limited it."),
        (500, "Unexpected server error (details in the server log)."),
        (502, "The job failed at the providers (server errors, provider auth or quota, unknown model at the provider)."),
        (503, "No model could be called (no_usable_model, cooling down, max attempts), or the database is not reachable."),
        (504, "The job did not finish within 540 s (it is cancelled), or the last provider error was a timeout."),
    ]

    static func responses(success schema: String, stream: Bool, description: String = "The list.") -> [APIResponseSpec] {
        var success = APIResponseSpec(
            200, stream ? "The answer (application/json), or with stream: true the whole answer as server-sent events (text/event-stream)." : description,
            .ref(schema))
        if stream {
            success.alternateContent = [("text/event-stream", JSONSchema.string("Server-sent events.", maxLength: long))]
        }
        return [success] + errorStatuses.map { APIResponseSpec($0.0, $0.1, .ref("V1Error")) }
    }

    static func listedModel(id: String, displayName: String, ownedBy: String, created: Date) -> JSONValue {
        .object([
            ("id", .string(id)), ("object", "model"), ("created", .int(Int(created.timeIntervalSince1970))),
            ("owned_by", .string(ownedBy)), ("type", "model"), ("display_name", .string(displayName)),
            ("created_at", .string(Timestamp.string(from: created, milliseconds: false))),
        ])
    }

    static let messagesRequestFields: [(name: String, schema: JSONSchema)] = [
            ("model", JSONSchema.string("agent:<name>, agent:<uuid> or a catalog model id.", maxLength: FacadeParsing.maximumModelLength)),
            ("messages", .array(APISchemas.closedObject([
                ("role", .enumeration(["user", "assistant"])),
                ("content", JSONSchema(kind: .any, description: "A string, or blocks: text, image (base64 or url source), tool_use (assistant), tool_result (user).")),
            ], required: ["role", "content"]))),
            ("max_tokens", .integer("At least 1; capped by the agent's max_tokens.")),
            ("system", JSONSchema(kind: .any, description: "A string or text blocks.")),
            ("temperature", JSONSchema.number().orNull),
            ("top_p", JSONSchema.number().orNull),
            ("stop_sequences", JSONSchema.array(.string()).orNull),
            ("tools", JSONSchema.array(.anyValue, "Custom tools: {name, description, input_schema}.").orNull),
            ("tool_choice", JSONSchema(kind: .any, description: "{type: auto | any | tool | none, name, disable_parallel_tool_use}.")),
            ("metadata", JSONSchema.map(.anyValue, "user_id is passed on as the end-user id.").orNull),
            ("stream", JSONSchema.boolean("Deliver the answer as Anthropic's event stream (sent once the job is done).").orNull),
            ("service_tier", JSONSchema.string("Ignored.").orNull),
            ("thinking", JSONSchema(kind: .any, description: "{type: enabled, budget_tokens} (the neutral reasoning control) or {type: disabled}.")),
            ("top_k", JSONSchema.integer("Passed to Anthropic; dropped with a warning for OpenAI.").orNull),
    ]

    static let components: [String: JSONSchema] = [
        "V1Error": APISchemas.openObject([
            ("type", .enumeration(["error"], "Anthropic's shape only.")),
            ("error", APISchemas.openObject([
                ("message", .string(maxLength: long)),
                ("type", .string("invalid_request_error, authentication_error, permission_error, not_found_error, request_too_large, rate_limit_error, api_error, overloaded_error, timeout_error; OpenAI's shape also server_error.")),
                ("param", JSONSchema.string("OpenAI's shape: the offending field.").orNull),
                ("code", JSONSchema.string("OpenAI's shape: model_not_found, invalid_api_key, unsupported_parameter, idempotency_conflict, or the job's error class.").orNull),
            ], required: ["message", "type"])),
        ], required: ["error"], "OpenAI {\"error\": {message, type, param, code}} on /v1/chat/completions (and /v1/models without anthropic-version); Anthropic {\"type\": \"error\", \"error\": {type, message}} on /v1/messages."),

        "V1ChatCompletionRequest": APISchemas.closedObject(
            [("model", JSONSchema.string("agent:<name>, agent:<uuid> or a catalog model id.", maxLength: FacadeParsing.maximumModelLength))]
                + APISchemas.chatRequestFields + [
                    ("stream", JSONSchema.boolean("Deliver the answer as SSE chunks (sent once the job is done).").orNull),
                    ("stream_options", JSONSchema.object(["include_usage": .boolean()]).orNull),
                    ("n", JSONSchema.integer("Only 1.", minimum: 1, maximum: 1).orNull),
                    ("logprobs", JSONSchema.boolean("Only false.").orNull),
                    ("store", JSONSchema.boolean("Ignored.").orNull),
                    ("metadata", JSONSchema.map(.anyValue, "Ignored.").orNull),
                    ("service_tier", JSONSchema.string("Ignored.").orNull),
                ],
            required: ["model", "messages"], "OpenAI Chat Completions request."),

        "V1MessagesRequest": APISchemas.closedObject(messagesRequestFields, required: ["model", "messages", "max_tokens"], "Anthropic Messages request."),
        "V1CountTokensRequest": APISchemas.closedObject(
            messagesRequestFields.filter { $0.name != "stream" }, required: ["model", "messages"], "A Messages request; max_tokens optional."),

        "V1ChatCompletion": APISchemas.openObject([
            ("id", .string("chatcmpl-sb<job id>")), ("object", .enumeration(["chat.completion"])), ("created", .integer()),
            ("model", .string("The model that answered.")),
            ("choices", .array(APISchemas.openObject([
                ("index", .integer()),
                ("message", APISchemas.openObject([
                    ("role", .enumeration(["assistant"])),
                    ("content", JSONSchema.string(maxLength: long).orNull),
                    ("refusal", JSONSchema.string(maxLength: long).orNull),
                    ("tool_calls", .array(APISchemas.openObject([
                        ("id", .string()), ("type", .enumeration(["function"])),
                        ("function", APISchemas.openObject([("name", .string()), ("arguments", .string(maxLength: long))], required: ["name", "arguments"])),
                    ], required: ["id", "type", "function"]))),
                ], required: ["role", "content"])),
                ("finish_reason", .enumeration(["stop", "length", "tool_calls", "content_filter"])),
            ], required: ["index", "message", "finish_reason"]))),
            ("usage", JSONSchema.ref("V1Usage")),
        ], required: ["id", "object", "created", "model", "choices"]),
        "V1Usage": APISchemas.openObject([
            ("prompt_tokens", .integer()), ("completion_tokens", .integer()), ("total_tokens", .integer()),
        ], required: ["prompt_tokens", "completion_tokens", "total_tokens"]),

        "V1Message": APISchemas.openObject([
            ("id", .string("msg_sb<job id>")), ("type", .enumeration(["message"])), ("role", .enumeration(["assistant"])),
            ("model", .string("The model that answered.")),
            ("content", .array(APISchemas.openObject([
                ("type", .enumeration(["text", "tool_use"])), ("text", .string(maxLength: long)), ("id", .string()), ("name", .string()),
                ("input", JSONSchema.map(.anyValue)),
            ], required: ["type"]))),
            ("stop_reason", .enumeration(["end_turn", "max_tokens", "stop_sequence", "tool_use", "refusal"])),
            ("stop_sequence", JSONSchema.string().orNull),
            ("usage", APISchemas.openObject([
                ("input_tokens", .integer("Without cache reads and writes, as Anthropic counts.")), ("output_tokens", .integer()),
                ("cache_creation_input_tokens", .integer()), ("cache_read_input_tokens", .integer()),
            ], required: ["input_tokens", "output_tokens"])),
        ], required: ["id", "type", "role", "model", "content", "stop_reason", "usage"]),

        "V1Model": APISchemas.openObject([
            ("id", .string("agent:<name>, agent:<uuid> or a catalog model id.")), ("object", .enumeration(["model"])),
            ("created", .integer()), ("owned_by", .string("switchboard for agents, else the model's provider.")),
            ("type", .enumeration(["model"])), ("display_name", .string()), ("created_at", .string(format: "date-time")),
        ], required: ["id", "object", "created", "owned_by", "type", "display_name", "created_at"], "OpenAI's model object with Anthropic's fields."),
        "V1ResponsesRequest": APISchemas.openObject([
            ("model", JSONSchema.string("agent:<name>, agent:<uuid> or a catalog model id.", maxLength: FacadeParsing.maximumModelLength)),
            ("input", JSONSchema(kind: .any, description: "A string, or items: messages (input_text, input_image, input_file parts), function_call, function_call_output.")),
            ("instructions", JSONSchema.string(maxLength: long).orNull),
            ("tools", JSONSchema.array(.anyValue, "Function tools {type: function, name, description, parameters, strict}.").orNull),
            ("previous_response_id", JSONSchema.string("resp_sb<job id> of an earlier response: its conversation is continued.").orNull),
            ("max_output_tokens", JSONSchema.integer().orNull),
        ], required: ["model", "input"], "OpenAI Responses request (the members /v1/responses takes are listed in docs/v1-compatibility.md)."),
        "V1Response": APISchemas.openObject([
            ("id", .string("resp_sb<job id>")), ("object", .enumeration(["response"])), ("created_at", .integer()),
            ("status", .enumeration(["completed", "incomplete"])), ("model", .string("The model that answered.")),
            ("output", .array(APISchemas.openObject([("type", .enumeration(["message", "function_call"]))], required: ["type"]))),
        ], required: ["id", "object", "created_at", "status", "model", "output"]),
        "V1TokenCount": APISchemas.openObject([("input_tokens", .integer("The estimate."))], required: ["input_tokens"]),
        "V1ModelList": APISchemas.openObject([
            ("object", .enumeration(["list"])),
            ("data", .array(.ref("V1Model"), maxItems: listMaxItems)),
            ("has_more", .boolean()),
            ("first_id", JSONSchema.string().orNull), ("last_id", JSONSchema.string().orNull),
        ], required: ["object", "data", "has_more", "first_id", "last_id"], "OpenAI's model list with Anthropic's fields, so both SDKs read it."),
    ]
}
