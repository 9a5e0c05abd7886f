import Foundation

extension APISchemas {
    static let roles = JSONSchema.enumeration(["admin", "operator", "inference", "viewer"])

    static let access: [String: JSONSchema] = [
        "Tenant": .object([
            "id": .string(format: "uuid"), "name": .string(maxLength: 63),
            "created_at": .string(format: "date-time", maxLength: 40),
            "max_queued_jobs": JSONSchema.integer("At most this many queued jobs (null: no cap).", minimum: 1).orNull,
        ], required: ["id", "name", "created_at"]),
        "TenantList": .object(["tenants": .array(.ref("Tenant"), maxItems: 100_000)], required: ["tenants"]),
        "TenantCreate": .object([
            "name": .string("Lower-case letters, digits, '.', '_' and '-'; 1–63 characters.", maxLength: 63),
        ], required: ["name"]),
        "APIKey": .object([
            "id": .string(format: "uuid"), "tenant_id": .string(format: "uuid"), "role": roles,
            "name": .string(maxLength: 200),
            "prefix": .string("The key's first characters, to tell keys apart.", maxLength: 16),
            "read_bodies": .boolean("A viewer key that may read prompts and answers."),
            "allowed_agents": JSONSchema.array(.string(format: "uuid"), maxItems: 1000).orNull,
            "allowed_models": JSONSchema.array(modelID, maxItems: 1000).orNull,
            "expires_at": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
            "created_at": .string(format: "date-time", maxLength: 40),
            "last_used_at": JSONSchema.string(format: "date-time", "Updated at most once a minute.", maxLength: 40).orNull,
            "revoked_at": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
        ], required: [
            "id", "tenant_id", "role", "name", "prefix", "read_bodies", "allowed_agents", "allowed_models", "expires_at",
            "created_at", "last_used_at", "revoked_at",
        ]),
        "APIKeyCreated": .object([
            "key": .string("The key itself: shown this once, never again (only its hash is stored).", maxLength: 64),
            "id": .string(format: "uuid"), "tenant_id": .string(format: "uuid"), "role": roles,
            "name": .string(maxLength: 200), "prefix": .string(maxLength: 16), "read_bodies": .boolean(),
            "allowed_agents": JSONSchema.array(.string(format: "uuid"), maxItems: 1000).orNull,
            "allowed_models": JSONSchema.array(modelID, maxItems: 1000).orNull,
            "expires_at": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
            "created_at": .string(format: "date-time", maxLength: 40),
            "last_used_at": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
            "revoked_at": JSONSchema.string(format: "date-time", maxLength: 40).orNull,
        ], required: ["key", "id", "tenant_id", "role", "prefix"]),
        "APIKeyList": .object(["keys": .array(.ref("APIKey"), maxItems: 100_000)], required: ["keys"]),
        "APIKeyCreate": .object([
            "tenant_id": .string(format: "uuid", "The key's tenant (default: the caller's)."),
            "tenant": .string("The key's tenant by name (instead of tenant_id).", maxLength: 63),
            "role": roles.described("admin (admins only), operator (admins only), inference or viewer: below the caller's own role unless the caller is an admin."),
            "name": .string(maxLength: 200),
            "read_bodies": .boolean("viewer keys: may read prompts and answers too."),
            "allowed_agents": JSONSchema.array(.string(format: "uuid"), "Only these agents of the tenant (default: all).", maxItems: 1000).orNull,
            "allowed_models": JSONSchema.array(modelID, "Only these catalog models in direct /v1 calls (default: all).", maxItems: 1000).orNull,
            "expires_at": JSONSchema.string(format: "date-time", "When the key stops working (default: never).", maxLength: 40).orNull,
        ], required: ["role"]),
    ]
}
