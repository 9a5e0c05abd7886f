import Catalog
import Foundation

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
