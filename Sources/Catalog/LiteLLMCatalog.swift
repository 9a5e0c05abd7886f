import Foundation

/// Reads LiteLLM's cost map (`model_prices_and_context_window.json`: one object per model key, prices
/// in USD per token) into catalog import candidates. Pure: the Storage importer upserts `candidates`
/// and reports `skipped`.
///
/// What becomes a candidate: a `mode: "chat"` entry whose `litellm_provider` we can call (openai,
/// anthropic, huggingface), that is a token-priced model (not a tool pseudo-entry) and not a
/// fine-tuning price template. Everything else is skipped with a `SkipReason`.
///
/// Keys with a provider prefix ("openai/gpt-x", "huggingface/org/model"): the prefix is stripped when it
/// names the entry's own provider, because the model id sent on the wire has no prefix. If the
/// unprefixed key is also in the map, the prefixed entry is skipped as a duplicate (the plain entry is
/// the one LiteLLM keys by the wire name).
///
/// Prices: read from the JSON number text as `Decimal` (no `Double` on the way), × 1000 → per 1K tokens,
/// so 2.5e-06 becomes exactly 0.0025.
public enum LiteLLMCatalog {
    /// `litellm_provider` values whose models the gateway can call, and the `llm_providers.name` each maps to.
    public static let callableProviders: Set<String> = ["openai", "anthropic", "huggingface"]

    /// The `source` column value of imported rows.
    public static let sourceName = "litellm"

    /// The outcome of parsing a cost map.
    public struct Parsed: Sendable, Equatable {
        /// Import candidates, sorted by model id, each with `source = "litellm"`, `id`/timestamps nil.
        public var candidates: [LLMModel]
        /// Entries not imported, sorted by key.
        public var skipped: [SkippedEntry]

        public init(candidates: [LLMModel], skipped: [SkippedEntry]) {
            self.candidates = candidates
            self.skipped = skipped
        }

        /// How many entries each category of reason skipped (for an import report).
        public var skippedCountsByCategory: [SkipCategory: Int] {
            skipped.reduce(into: [:]) { $0[$1.reason.category, default: 0] += 1 }
        }

        /// How many entries each distinct reason skipped, e.g. "provider 'groq' is not callable": 57.
        public var skippedCountsByReason: [String: Int] {
            skipped.reduce(into: [:]) { $0[$1.reason.message, default: 0] += 1 }
        }
    }

    /// A map entry that did not become a candidate.
    public struct SkippedEntry: Sendable, Equatable, Hashable {
        /// The key in the LiteLLM map.
        public var key: String
        public var reason: SkipReason

        public init(key: String, reason: SkipReason) {
            self.key = key
            self.reason = reason
        }
    }

    /// Broad groups of skip reasons, with stable raw values for reports and JSON.
    public enum SkipCategory: String, Sendable, Hashable, CaseIterable, Codable {
        /// LiteLLM's `sample_spec` documentation entry.
        case specification = "sample_spec"
        /// Not a JSON object, or without a usable `litellm_provider` / `mode`.
        case malformed = "malformed_entry"
        /// A provider we have no adapter/credentials for.
        case providerNotCallable = "provider_not_callable"
        /// Not a chat model (embedding, image_generation, responses, …).
        case notChat = "not_chat"
        /// Fine-tuning price template ("ft:gpt-4o-…"), not a callable model id.
        case fineTuneTemplate = "fine_tune_template"
        /// A tool or session-priced pseudo-entry with no token prices or limits.
        case notTokenPriced = "not_token_priced"
        /// Same model as another entry (provider-prefixed copy of an unprefixed key).
        case duplicate = "duplicate"
        /// The model id would not be a valid `llm_models.model_id` (empty, whitespace).
        case invalidModelID = "invalid_model_id"
    }

    /// Why one entry was skipped; `message` reads as a sentence fragment, `category` aggregates.
    public enum SkipReason: Sendable, Hashable {
        case specification
        case notAnObject
        case missingProvider
        case providerNotCallable(String)
        case notChat(mode: String?)
        case fineTuneTemplate
        case notTokenPriced
        case duplicate(of: String)
        case invalidModelID(String)

        public var category: SkipCategory {
            switch self {
            case .specification: return .specification
            case .notAnObject, .missingProvider: return .malformed
            case .providerNotCallable: return .providerNotCallable
            case .notChat: return .notChat
            case .fineTuneTemplate: return .fineTuneTemplate
            case .notTokenPriced: return .notTokenPriced
            case .duplicate: return .duplicate
            case .invalidModelID: return .invalidModelID
            }
        }

        public var message: String {
            switch self {
            case .specification: return "LiteLLM's sample_spec documentation entry, not a model"
            case .notAnObject: return "entry is not a JSON object"
            case .missingProvider: return "entry has no litellm_provider"
            case .providerNotCallable(let provider): return "provider '\(provider)' is not callable"
            case .notChat(let mode?): return "mode '\(mode)' is not chat"
            case .notChat(nil): return "entry has no mode, so it is not known to be a chat model"
            case .fineTuneTemplate: return "fine-tuning price template, not a callable model id"
            case .notTokenPriced: return "no token prices or limits (a tool or session-priced entry, not a chat model)"
            case .duplicate(let other): return "duplicate of '\(other)'"
            case .invalidModelID(let id): return "model id '\(id)' is not valid (empty or contains whitespace)"
            }
        }
    }

    /// The cost map could not be read at all (individual bad entries are skipped, not thrown).
    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        /// Not JSON, or the top level is not an object of entries.
        case notACostMap(String)

        public var description: String {
            switch self {
            case .notACostMap(let detail): return "not a LiteLLM cost map: \(detail)"
            }
        }
    }

    /// Parses a cost map. The result does not depend on the day it runs: LiteLLM says nothing about a
    /// model's lifecycle beyond `deprecation_date`, so every candidate's stored status is `active`
    /// and "deprecated once the date has passed" is derived when read (`LLMModel.effectiveStatus(on:)`).
    public static func parse(_ data: Data) throws(ParseError) -> Parsed {
        let entries: [String: LiteLLMEntry]
        do {
            entries = try JSONDecoder().decode([String: LiteLLMEntry].self, from: data)
        } catch {
            throw .notACostMap(String(describing: error))
        }
        return build(entries)
    }
}
