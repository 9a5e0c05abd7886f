// The neutral types carry JSON values (tool schemas, response formats); users of `ChatModel`
// (and of `Providers`, which re-exports it) get the JSON module with it.
@_exported import JSON
