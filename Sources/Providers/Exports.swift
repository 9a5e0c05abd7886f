// The neutral types carry JSON values (tool schemas, response formats); users of `Providers`
// get the JSON module with it.
@_exported import JSON
