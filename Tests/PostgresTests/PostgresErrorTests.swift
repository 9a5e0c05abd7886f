import Foundation
import Postgres
import Testing
import TestSupport

@Suite struct PostgresErrorTests {
    @Test func uniqueViolationCarriesSQLState() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            try await connection.query("CREATE TABLE models (model_id text PRIMARY KEY)")
            try await connection.execute("INSERT INTO models VALUES (\("gpt-4o"))")
            let error = await #expect(throws: PostgresError.self) {
                try await connection.execute("INSERT INTO models VALUES (\("gpt-4o"))")
            }
            #expect(error?.sqlState == "23505")
            #expect(error?.isUniqueViolation == true)
            #expect(error?.isSerializationFailure == false)
            #expect(error?.constraint == "models_pkey")
            #expect(error?.detail?.contains("gpt-4o") == true)
            // The connection is still usable after a statement error.
            #expect(try await connection.query("SELECT 1 AS one").rows.count == 1)
        }
    }

    @Test func syntaxErrorNamesTheProblem() async throws {
        try await TestDatabase.withFreshDatabase { configuration in
            let connection = try await PostgresConnection.connect(configuration)
            let error = await #expect(throws: PostgresError.self) { try await connection.query("SELEC 1") }
            #expect(error?.sqlState == "42601")
            #expect(error?.message.contains("syntax error") == true)
        }
    }

    @Test func refusedConnectionNamesHostAndPortButNeverThePassword() async throws {
        let configuration = PostgresConfiguration(
            connectionString: "postgresql://alice:s3cret-pa55@127.0.0.1:1/db", connectTimeoutSeconds: 2)
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(configuration) }
        let message = error?.description ?? ""
        #expect(error?.kind == .connection)
        #expect(message.contains("127.0.0.1:1"))
        // libpq's own reason, not merely our "could not connect" prefix.
        #expect(message.contains("Connection refused"))
        #expect(!message.contains("s3cret-pa55"))
        #expect(!configuration.description.contains("s3cret-pa55"))
    }

    @Test func malformedURLIsAClearError() async throws {
        let configuration = PostgresConfiguration(connectionString: "postgresql://bob:hunter2@127.0.0.1:notaport/db")
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(configuration) }
        #expect(error?.kind == .connection)
        #expect(error?.description.contains("hunter2") == false)
        #expect(error?.description.contains("notaport") == true)
    }

    @Test func unknownDatabaseIsReported() async throws {
        let server = try TestDatabase.serverConfiguration()
        let configuration = PostgresConfiguration(connectionString: connectionString(server.connectionString, database: "no_such_db_here"))
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(configuration) }
        #expect(error?.description.contains("no_such_db_here") == true)
    }

    @Test func unencodedAtSignInThePasswordNeverShowsAnyOfIt() async throws {
        // `s3cret@pw` with its `@` not percent-encoded: libpq reads host `pw@127.0.0.1`.
        let configuration = PostgresConfiguration(connectionString: "postgresql://app:s3cret@pw@127.0.0.1:1/db", connectTimeoutSeconds: 2)
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(configuration) }
        let message = error?.description ?? ""
        #expect(error?.kind == .connection)
        #expect(!message.contains("s3cret"))
        #expect(!message.contains("pw@"))
        #expect(message.contains("127.0.0.1"))
        #expect(!configuration.description.contains("pw@"))
        #expect(!configuration.description.contains("s3cret"))
    }

    @Test func conninfoPasswordWithASpaceNeverShows() async throws {
        let configuration = PostgresConfiguration(connectionString: "host=127.0.0.1 port=1 user=app password=open sesame", connectTimeoutSeconds: 2)
        let error = await #expect(throws: PostgresError.self) { try await PostgresConnection.connect(configuration) }
        let message = error?.description ?? ""
        #expect(error?.kind == .connection)
        #expect(message.contains("does not parse"))
        #expect(!message.contains("sesame"))
        #expect(!message.contains("open"))
        #expect(!configuration.description.contains("sesame"))
    }
}
