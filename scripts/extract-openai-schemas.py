#!/usr/bin/env python3
"""Extracts the response schemas the /v1 tests validate against from OpenAI's official OpenAPI
document (github.com/openai/openai-openapi, openapi.json) into tests/integration/data, so the
tests never download anything. Usage: scripts/extract-openai-schemas.py <openapi.json> <source label>"""

import json
import sys

ROOTS = ["CreateChatCompletionResponse", "CreateChatCompletionStreamResponse", "Response", "Model",
         "ListModelsResponse", "ErrorResponse", "ResponseStreamEvent"]


def closure(schemas: dict, roots: list[str]) -> dict:
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)

        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "$ref" and isinstance(value, str) and value.startswith("#/components/schemas/"):
                        pending.append(value.rsplit("/", 1)[1])
                    else:
                        walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(schemas[name])
    return {name: schemas[name] for name in sorted(seen)}


def main() -> None:
    document = json.load(open(sys.argv[1]))
    out = {"source": sys.argv[2], "roots": ROOTS, "components": {"schemas": closure(document["components"]["schemas"], ROOTS)}}
    with open("tests/integration/data/openai-response-schemas.json", "w") as file:
        json.dump(out, file, indent=1, sort_keys=True)
        file.write("\n")


if __name__ == "__main__":
    main()
