import Foundation
import JSON

/// A JSON Schema (the subset OpenAPI 3.1 documents use here), written once per request and response
/// shape. The same value is emitted into `/openapi.json` and checks incoming bodies, so the
/// documentation cannot drift from what the server accepts: a field the schema does not list is an
/// unknown field and is rejected.
struct JSONSchema: Sendable {
    indirect enum Kind: Sendable {
        case string(format: String?, allowed: [String]?)
        case integer
        case number
        /// Money: a JSON number or a decimal string ("0.0025"), kept exact either way.
        case decimal
        case boolean
        case array(JSONSchema)
        /// `additional`: the schema of members not in `properties` (a map), or nil to reject them.
        case object(properties: [(name: String, schema: JSONSchema)], required: [String], additional: JSONSchema?)
        /// A named schema in `components/schemas`.
        case reference(String)
        /// Anything (free-form JSON).
        case any
    }

    var kind: Kind
    var nullable = false
    var description: String?
    /// Bounds, documented and enforced: strings (characters), arrays (items), numbers (inclusive).
    var maxLength: Int?
    var maxItems: Int?
    var minimum: Decimal?
    var maximum: Decimal?

    /// Defaults so that no string or array is unbounded; request fields set tighter ones.
    static let defaultMaxLength = 1024
    static let defaultMaxItems = 1000

    // MARK: - Builders

    static func string(format: String? = nil, _ description: String? = nil, maxLength: Int = defaultMaxLength) -> JSONSchema {
        var schema = JSONSchema(kind: .string(format: format, allowed: nil), description: description)
        schema.maxLength = maxLength
        return schema
    }
    static func integer(_ description: String? = nil, minimum: Decimal? = nil, maximum: Decimal? = nil) -> JSONSchema {
        var schema = JSONSchema(kind: .integer, description: description)
        schema.minimum = minimum
        schema.maximum = maximum
        return schema
    }
    static func number(_ description: String? = nil, minimum: Decimal? = nil, maximum: Decimal? = nil) -> JSONSchema {
        var schema = JSONSchema(kind: .number, description: description)
        schema.minimum = minimum
        schema.maximum = maximum
        return schema
    }
    static func decimal(_ description: String? = nil, minimum: Decimal? = nil, maximum: Decimal? = nil) -> JSONSchema {
        var schema = JSONSchema(kind: .decimal, description: description)
        schema.minimum = minimum
        schema.maximum = maximum
        return schema
    }
    static func enumeration(_ allowed: [String], _ description: String? = nil) -> JSONSchema {
        JSONSchema(kind: .string(format: nil, allowed: allowed), description: description)
    }
    static func boolean(_ description: String? = nil) -> JSONSchema { JSONSchema(kind: .boolean, description: description) }
    static func array(_ items: JSONSchema, _ description: String? = nil, maxItems: Int = defaultMaxItems) -> JSONSchema {
        var schema = JSONSchema(kind: .array(items), description: description)
        schema.maxItems = maxItems
        return schema
    }
    static func ref(_ name: String) -> JSONSchema { JSONSchema(kind: .reference(name)) }
    static var anyValue: JSONSchema { JSONSchema(kind: .any) }
    static func map(_ values: JSONSchema, _ description: String? = nil) -> JSONSchema {
        JSONSchema(kind: .object(properties: [], required: [], additional: values), description: description)
    }
    /// A closed object: members not listed are rejected.
    static func object(
        _ properties: KeyValuePairs<String, JSONSchema>, required: [String] = [], _ description: String? = nil
    ) -> JSONSchema {
        JSONSchema(
            kind: .object(properties: properties.map { ($0.key, $0.value) }, required: required, additional: nil),
            description: description)
    }

    /// The same schema, also accepting `null`.
    var orNull: JSONSchema {
        var copy = self
        copy.nullable = true
        return copy
    }

    func described(_ text: String) -> JSONSchema {
        var copy = self
        copy.description = text
        return copy
    }

    /// Property names of an object schema (after resolving a reference).
    func propertyNames(in components: [String: JSONSchema]) -> [String] {
        switch kind {
        case .object(let properties, _, _): return properties.map(\.name)
        case .reference(let name): return components[name]?.propertyNames(in: components) ?? []
        default: return []
        }
    }
}

// MARK: - Rendering into the OpenAPI document

extension JSONSchema {
    var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = []
        func type(_ name: String) -> JSONValue {
            nullable ? .array([.string(name), .string("null")]) : .string(name)
        }
        switch kind {
        case .string(let format, let allowed):
            members.append(("type", type("string")))
            if let format { members.append(("format", .string(format))) }
            if let allowed {
                members.append(("enum", .array(allowed.map(JSONValue.string) + (nullable ? [.null] : []))))
            }
            if let maxLength, allowed == nil { members.append(("maxLength", .number(String(maxLength)))) }
        case .integer: members.append(("type", type("integer")))
        case .number: members.append(("type", type("number")))
        case .decimal:
            // Generated clients read a bare number as a binary double; a string with this format
            // they keep as text (or map to their decimal type), so prices stay exact.
            members.append(("type", .array([.string("string"), .string("number")] + (nullable ? [.string("null")] : []))))
            members.append(("format", .string("decimal")))
            members.append(("pattern", .string(ExactDecimal.pattern)))
        case .boolean: members.append(("type", type("boolean")))
        case .array(let items):
            members.append(("type", type("array")))
            members.append(("items", items.json))
            if let maxItems { members.append(("maxItems", .number(String(maxItems)))) }
        case .object(let properties, let required, let additional):
            members.append(("type", type("object")))
            if !properties.isEmpty {
                members.append(("properties", .object(properties.map { ($0.name, $0.schema.json) })))
            }
            if !required.isEmpty { members.append(("required", .array(required.map(JSONValue.string)))) }
            members.append(("additionalProperties", additional?.json ?? .bool(false)))
        case .reference(let name):
            let reference: JSONValue = .object([("$ref", .string("#/components/schemas/\(name)"))])
            if nullable {
                members.append(("oneOf", .array([reference, .object([("type", .string("null"))])])))
            } else {
                members = [("$ref", .string("#/components/schemas/\(name)"))]
            }
        case .any:
            break
        }
        if let minimum { members.append(("minimum", .number("\(minimum)"))) }
        if let maximum { members.append(("maximum", .number("\(maximum)"))) }
        if let description { members.append(("description", .string(description))) }
        return .object(members)
    }
}

// MARK: - Checking a document against the schema

/// One problem found in a request body: which field (a path such as `fallback_model_ids[1]`) and
/// what is wrong with it.
struct SchemaViolation: Sendable, Equatable {
    var field: String
    var message: String
}

extension JSONSchema {
    /// Every place where `value` does not have the documented shape: unknown members, missing
    /// required members, wrong JSON types, values outside an enumeration. Ranges and cross-field
    /// rules are the domain validators' business.
    func violations(of value: JSONValue, at path: String = "", components: [String: JSONSchema]) -> [SchemaViolation] {
        if case .null = value { return nullViolations(at: path, components: components) }
        switch kind {
        case .any:
            return []
        case .reference(let name):
            guard let target = components[name] else { return [] }
            return target.violations(of: value, at: path, components: components)
        case .string(_, let allowed):
            return stringViolations(value, allowed: allowed, at: path)
        case .integer:
            guard case .number(let text) = value, JSONValue.isInteger(text) else {
                return [mismatch("an integer", value, path)]
            }
            guard Int(text) != nil, let exact = ExactDecimal.parse(text) else {
                return [outOfRange(path)]
            }
            return bounds(exact, path)
        case .number:
            guard case .number(let text) = value else { return [mismatch("a number", value, path)] }
            // Exact or refused: a number Decimal cannot hold, or a Double cannot (1e400), is an
            // error naming the field, never a silent 0 or infinity further down.
            guard let exact = ExactDecimal.parse(text), let double = Double(text), double.isFinite else {
                return [outOfRange(path)]
            }
            return bounds(exact, path)
        case .decimal:
            return decimalViolations(value, at: path)
        case .boolean:
            guard case .bool = value else { return [mismatch("true or false", value, path)] }
            return []
        case .array(let items):
            return arrayViolations(value, items: items, at: path, components: components)
        case .object(let properties, let required, let additional):
            return objectViolations(
                value, properties: properties, required: required, additional: additional, at: path, components: components)
        }
    }

    /// `null` is allowed by a nullable schema, by `any`, and by a reference to a nullable schema.
    private func nullViolations(at path: String, components: [String: JSONSchema]) -> [SchemaViolation] {
        if nullable { return [] }
        switch kind {
        case .any:
            return []
        case .reference(let name):
            if let target = components[name], target.nullable { return [] }
        default:
            break
        }
        return [SchemaViolation(field: Self.fieldName(path), message: "must not be null")]
    }

    private func stringViolations(_ value: JSONValue, allowed: [String]?, at path: String) -> [SchemaViolation] {
        guard case .string(let text) = value else { return [mismatch("a string", value, path)] }
        if let allowed, !allowed.contains(text) {
            return [SchemaViolation(
                field: Self.fieldName(path),
                message: "must be one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")), not \"\(text.prefix(64))\"")]
        }
        if let maxLength, text.count > maxLength {
            return [SchemaViolation(field: Self.fieldName(path), message: "must be at most \(maxLength) characters long (got \(text.count))")]
        }
        return []
    }

    /// A price: a JSON number, or a string holding one (exact digits, as the API returns prices).
    private func decimalViolations(_ value: JSONValue, at path: String) -> [SchemaViolation] {
        let text: String
        switch value {
        case .number(let number): text = number
        case .string(let string) where ExactDecimal.matchesPattern(string): text = string
        case .string: return [SchemaViolation(field: Self.fieldName(path), message: "must be a decimal number, e.g. 0.0025 or \"0.0025\"")]
        default: return [mismatch("a decimal number or decimal string", value, path)]
        }
        guard let exact = ExactDecimal.parse(text) else { return [outOfRange(path)] }
        return bounds(exact, path)
    }

    private func arrayViolations(
        _ value: JSONValue, items: JSONSchema, at path: String, components: [String: JSONSchema]
    ) -> [SchemaViolation] {
        guard case .array(let elements) = value else { return [mismatch("an array", value, path)] }
        if let maxItems, elements.count > maxItems {
            // Said before any element is looked at (or looked up).
            return [SchemaViolation(field: Self.fieldName(path), message: "must have at most \(maxItems) items (got \(elements.count))")]
        }
        return elements.enumerated().flatMap { index, element in
            items.violations(of: element, at: "\(path)[\(index)]", components: components)
        }
    }

    /// Missing required members first, then each member in the document's order.
    private func objectViolations(
        _ value: JSONValue, properties: [(name: String, schema: JSONSchema)], required: [String], additional: JSONSchema?,
        at path: String, components: [String: JSONSchema]
    ) -> [SchemaViolation] {
        guard case .object(let members) = value else { return [mismatch("an object", value, path)] }
        var found: [SchemaViolation] = []
        for name in required where !members.contains(where: { $0.key == name }) {
            found.append(SchemaViolation(field: Self.join(path, name), message: "is required"))
        }
        for member in members {
            let memberPath = Self.join(path, member.key)
            if let schema = properties.first(where: { $0.name == member.key })?.schema {
                found += schema.violations(of: member.value, at: memberPath, components: components)
            } else if let additional {
                found += additional.violations(of: member.value, at: memberPath, components: components)
            } else {
                let known = properties.map(\.name).joined(separator: ", ")
                found.append(SchemaViolation(field: memberPath, message: "unknown field (allowed: \(known))"))
            }
        }
        return found
    }

    private func outOfRange(_ path: String) -> SchemaViolation {
        SchemaViolation(field: Self.fieldName(path), message: "is out of range: \(rangeText ?? "not representable exactly (at most 38 significant digits, exponent within ±100)")")
    }

    private var rangeText: String? {
        switch (minimum, maximum) {
        case let (low?, high?): return "must be between \(low) and \(high)"
        case let (low?, nil): return "must be at least \(low)"
        case let (nil, high?): return "must be at most \(high)"
        case (nil, nil): return nil
        }
    }

    private func bounds(_ value: Decimal, _ path: String) -> [SchemaViolation] {
        if let minimum, value < minimum { return [outOfRange(path)] }
        if let maximum, value > maximum { return [outOfRange(path)] }
        return []
    }

    private func mismatch(_ expected: String, _ value: JSONValue, _ path: String) -> SchemaViolation {
        let allowed = nullable ? "\(expected) or null" : expected
        return SchemaViolation(field: Self.fieldName(path), message: "must be \(allowed), not \(value.typeName)")
    }

    private static func join(_ path: String, _ name: String) -> String {
        path.isEmpty ? name : "\(path).\(name)"
    }

    private static func fieldName(_ path: String) -> String { path.isEmpty ? "body" : path }
}
