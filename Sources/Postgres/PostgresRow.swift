/// The rows of one statement's result, plus its affected-row count.
public struct PostgresQueryResult: Sendable {
    public let columns: [String]
    public let rows: [PostgresRow]
    /// Rows inserted, updated, deleted or selected, as the command tag reports.
    public let affectedRows: Int

    init(columns: [String], values: [[String?]], affectedRows: Int) {
        let index = PostgresRow.ColumnIndex(columns)
        self.columns = columns
        self.rows = values.map { PostgresRow(index: index, values: $0) }
        self.affectedRows = affectedRows
    }
}

/// One row, its values kept in PostgreSQL's text format until decoded.
public struct PostgresRow: Sendable {
    final class ColumnIndex: Sendable {
        let positions: [String: Int]
        let names: [String]
        init(_ names: [String]) {
            self.names = names
            var positions: [String: Int] = [:]
            for (position, name) in names.enumerated() where positions[name] == nil { positions[name] = position }
            self.positions = positions
        }
    }

    let index: ColumnIndex
    public let values: [String?]

    /// Decodes the named column. NULL decodes only into optionals.
    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let position = index.positions[column] else {
            throw PostgresError(kind: .decoding, message: "no column '\(column)' in result (columns: \(index.names.joined(separator: ", ")))")
        }
        return try decode(at: position, as: type)
    }

    /// Decodes the column at a position (0-based).
    public func decode<T: PostgresDecodable>(at position: Int, as type: T.Type = T.self) throws -> T {
        guard values.indices.contains(position) else {
            throw PostgresError(kind: .decoding, message: "no column at position \(position)")
        }
        do {
            guard let text = values[position] else { return try T.decodeNull() }
            return try T(postgresText: text)
        } catch var error as PostgresError {
            error.message = "column '\(index.names[position])': \(error.message)"
            throw error
        }
    }

    /// Decodes a `jsonb` or `json` column into a `Codable` value.
    public func decodeJSON<T: Codable & Sendable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try decode(column, as: PostgresJSON<T>.self).value
    }

    public func isNull(_ column: String) -> Bool {
        guard let position = index.positions[column] else { return true }
        return values[position] == nil
    }
}
