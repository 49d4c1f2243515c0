"""mkdocs hook: the HTTP API reference page, generated from the committed docs/openapi.json.

``docs/http-reference.md`` holds the marker ``<!-- openapi-reference -->``; this hook
replaces it with one section per operation (every parameter, the request body, every
response with its schema) and one per schema, in plain Markdown. No JavaScript and no
CDN: the reference works offline and is searchable like every other page. The document
itself is kept equal to the app by tests/docs/test_openapi.py (``nox -s openapi``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi-reference -->"
DOCUMENT = Path(__file__).resolve().parents[1] / "docs" / "openapi.json"
METHODS = ("get", "post", "put", "patch", "delete")


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A short, readable type: ``string``, ``integer | null``, ``[ProductOut](#...)``."""
    if "$ref" in schema:
        name = _ref_name(schema["$ref"])
        return f"[{name}](#schema-{name.lower()})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return " | ".join(dict.fromkeys(type_of(s) for s in schema[key]))
    if schema.get("type") == "array":
        return f"array of {type_of(schema.get('items', {}))}"
    if "enum" in schema:
        return " | ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{json.dumps(schema['const'])}`"
    kind = schema.get("type", "any")
    if schema.get("format"):
        kind = f"{kind} ({schema['format']})"
    return str(kind)


def constraints(schema: dict[str, Any]) -> str:
    parts = []
    for sub in [schema, *schema.get("anyOf", [])]:
        for key, label in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("minLength", "length >="),
            ("maxLength", "length <="),
            ("pattern", "matches"),
        ):
            if key in sub:
                parts.append(f"{label} `{sub[key]}`")
    if "default" in schema:
        parts.append(f"default `{json.dumps(schema['default'])}`")
    return ", ".join(dict.fromkeys(parts))


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def operation(path: str, method: str, op: dict[str, Any], document: dict[str, Any]) -> str:
    anchor = op["operationId"]
    lines = [f"### {method.upper()} `{path}` {{#{anchor}}}", ""]
    lines += [f"**{op.get('summary', '')}** (`operationId`: `{anchor}`)", ""]
    if op.get("description"):
        lines += [op["description"], ""]
    if op.get("security"):
        lines += ["Authentication: `Authorization: Bearer <access token>`.", ""]
    params = op.get("parameters", [])
    if params:
        lines += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
        for p in params:
            schema = p.get("schema", {})
            about = " ".join(x for x in (p.get("description", ""), constraints(schema)) if x)
            lines.append(
                f"| `{p['name']}` | {p['in']} | {cell(type_of(schema))} | "
                f"{'yes' if p.get('required') else 'no'} | {cell(about)} |"
            )
        lines.append("")
    body = op.get("requestBody")
    form = (body or {}).get("content", {}).get("multipart/form-data")
    if form:  # an upload: list the form's parts
        lines += ["Request body (`multipart/form-data`):", ""]
        lines += ["| part | type | required | description |", "|---|---|---|---|"]
        required = set(form["schema"].get("required", []))
        for part, sub in form["schema"].get("properties", {}).items():
            about = " ".join(x for x in (sub.get("description", ""), constraints(sub)) if x)
            lines.append(
                f"| `{part}` | {cell(type_of(sub))} | {'yes' if part in required else 'no'} | "
                f"{cell(about)} |"
            )
        lines.append("")
    elif body:
        schema = body["content"]["application/json"]["schema"]
        lines += [f"Request body (JSON): {type_of(schema)}", ""]
        if "$ref" in schema:
            target = document["components"]["schemas"][_ref_name(schema["$ref"])]
            if target.get("examples"):
                example = json.dumps(target["examples"][0], indent=2, ensure_ascii=False)
                lines += ["```json", example, "```", ""]
    lines += ["| status | meaning | body |", "|---|---|---|"]
    for status, response in op.get("responses", {}).items():
        content = response.get("content", {}).get("application/json")
        shape = type_of(content["schema"]) if content else "none"
        lines.append(f"| {status} | {cell(response.get('description', ''))} | {cell(shape)} |")
    return "\n".join([*lines, ""])


def schema_section(name: str, schema: dict[str, Any]) -> str:
    lines = [f"### {name} {{#schema-{name.lower()}}}", ""]
    if schema.get("description"):
        lines += [schema["description"], ""]
    properties = schema.get("properties", {})
    if properties:
        required = set(schema.get("required", []))
        lines += ["| field | type | required | notes |", "|---|---|---|---|"]
        for field, sub in properties.items():
            notes = " ".join(x for x in (sub.get("description", ""), constraints(sub)) if x)
            lines.append(
                f"| `{field}` | {cell(type_of(sub))} | {'yes' if field in required else 'no'} "
                f"| {cell(notes)} |"
            )
        lines.append("")
    if schema.get("additionalProperties") is False:
        lines += ["Unknown fields are refused (422).", ""]
    return "\n".join(lines)


def render(document: dict[str, Any]) -> str:
    out = [f"API version {document['info']['version']}, OpenAPI {document['openapi']}.", ""]
    by_tag: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                op = item[method]
                tag = (op.get("tags") or ["other"])[0]
                by_tag.setdefault(tag, []).append(operation(path, method, op, document))
    for tag, sections in by_tag.items():
        out += [f"## {tag.capitalize()}", "", *sections]
    out += ["## Schemas", ""]
    for name, schema in document["components"]["schemas"].items():
        out.append(schema_section(name, schema))
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if MARKER not in markdown:
        return markdown
    return markdown.replace(MARKER, render(json.loads(DOCUMENT.read_text())))
