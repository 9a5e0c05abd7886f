// Request bodies, schemas and the OpenAPI document are `JSON.JSONValue`s: every file of the module
// sees the JSON target without importing it itself.
@_exported import JSON
