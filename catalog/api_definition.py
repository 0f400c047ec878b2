"""Make an API entity's definition readable: OpenAPI as a list of operations, others highlighted.

Plain Python (no Django). Definitions are untrusted text: parsed with the safe YAML loader under
a size cap, and everything shown is either plain data (escaped by the template) or Pygments
output (which escapes its input).
"""

from __future__ import annotations

from typing import Any

import yaml
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

MAX_DEFINITION_BYTES = 2 * 1024 * 1024
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
LEXERS = {"openapi": "yaml", "asyncapi": "yaml", "graphql": "graphql", "grpc": "protobuf", "trpc": "typescript"}


def highlighted(text: str, language: str) -> str:
    try:
        lexer = get_lexer_by_name(language)
    except ClassNotFound:
        lexer = get_lexer_by_name("text")
    return highlight(text, lexer, HtmlFormatter(cssclass="highlight", nowrap=False))


def _schema_summary(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    kind = schema.get("type", "")
    if kind == "array":
        return f"array of {_schema_summary(schema.get('items')) or 'items'}"
    return str(kind or ("object" if "properties" in schema else ""))


def _parameters(raw: Any) -> list[dict[str, Any]]:
    result = []
    for param in raw if isinstance(raw, list) else []:
        if not isinstance(param, dict):
            continue
        if "$ref" in param:
            result.append({"name": str(param["$ref"]).rsplit("/", 1)[-1], "in": "ref", "required": False,
                           "type": "", "description": ""})
            continue
        result.append({
            "name": str(param.get("name", "")),
            "in": str(param.get("in", "")),
            "required": bool(param.get("required")),
            "type": _schema_summary(param.get("schema")),
            "description": str(param.get("description", "")),
        })
    return result


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    operations = []
    paths = document.get("paths") if isinstance(document.get("paths"), dict) else {}
    for path, item in paths.items():
        if not isinstance(item, dict):
            continue
        shared = _parameters(item.get("parameters"))
        for method in HTTP_METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            body = op.get("requestBody") if isinstance(op.get("requestBody"), dict) else {}
            content = body.get("content") if isinstance(body.get("content"), dict) else {}
            responses = op.get("responses") if isinstance(op.get("responses"), dict) else {}
            operations.append({
                "method": method.upper(),
                "path": str(path),
                "summary": str(op.get("summary") or op.get("operationId") or ""),
                "description": str(op.get("description") or ""),
                "tags": [str(t) for t in op.get("tags") or [] if isinstance(t, str | int)],
                "parameters": shared + _parameters(op.get("parameters")),
                "request_types": [
                    {"media_type": str(media), "schema": _schema_summary((spec or {}).get("schema"))}
                    for media, spec in content.items()
                    if isinstance(spec, dict | type(None))
                ],
                "responses": [
                    {"code": str(code), "description": str((resp or {}).get("description", ""))
                     if isinstance(resp, dict | type(None)) else ""}
                    for code, resp in responses.items()
                ],
                "deprecated": bool(op.get("deprecated")),
            })
    return operations


def describe_definition(api_type: str, definition: Any) -> dict[str, Any]:
    """Return {"format", "text", "html", "info", "servers", "operations", "error"} for the template."""
    api_type = str(api_type or "").lower()
    if isinstance(definition, dict | list):
        text = yaml.safe_dump(definition, sort_keys=False)
    else:
        text = "" if definition is None else str(definition)
    result: dict[str, Any] = {
        "format": api_type or "unknown", "text": text, "html": "", "info": {}, "servers": [], "operations": [],
        "error": "",
    }
    if not text.strip():
        result["error"] = "This API has no definition."
        return result
    if len(text.encode("utf-8", "replace")) > MAX_DEFINITION_BYTES:
        result["error"] = f"The definition is larger than {MAX_DEFINITION_BYTES // 1024 // 1024} MB; showing nothing."
        result["text"] = ""
        return result
    result["html"] = highlighted(text, LEXERS.get(api_type, "text"))
    if api_type not in {"openapi", "asyncapi"}:
        return result
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        result["error"] = f"The definition is not valid YAML or JSON: {exc}".splitlines()[0]
        return result
    if not isinstance(document, dict):
        result["error"] = "The definition is not an object."
        return result
    info = document.get("info") if isinstance(document.get("info"), dict) else {}
    result["info"] = {
        "title": str(info.get("title", "")),
        "version": str(info.get("version", "")),
        "description": str(info.get("description", "")),
        "spec_version": str(document.get("openapi") or document.get("asyncapi") or document.get("swagger") or ""),
    }
    servers = document.get("servers")
    if isinstance(servers, list):
        result["servers"] = [str(s.get("url", "")) for s in servers if isinstance(s, dict)]
    elif isinstance(servers, dict):  # AsyncAPI names its servers
        result["servers"] = [f"{name}: {s.get('url', '')}" for name, s in servers.items() if isinstance(s, dict)]
    if api_type == "openapi":
        result["operations"] = _operations(document)
    else:
        channels = document.get("channels") if isinstance(document.get("channels"), dict) else {}
        result["operations"] = [
            {"method": ", ".join(k.upper() for k in ("publish", "subscribe", "send", "receive")
                                 if isinstance(spec, dict) and k in spec) or "CHANNEL",
             "path": str(name), "summary": str((spec or {}).get("description", "")) if isinstance(spec, dict) else "",
             "description": "", "tags": [], "parameters": [], "request_types": [], "responses": [],
             "deprecated": False}
            for name, spec in channels.items()
        ]
    return result


def pygments_css() -> str:
    light = HtmlFormatter(style="friendly").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{dark}\n}}\n"
