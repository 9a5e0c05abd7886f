// Adapters take and return the neutral chat types: users of `Providers` get `ChatModel` with it.
@_exported import ChatModel
