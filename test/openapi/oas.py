"""docs/openapi.yaml as the tests use it: the operations, their documented
responses, and the check of a real answer against them (status, media type,
required headers, body against the JSON Schema, Draft 2020-12 as OpenAPI 3.1
says, with Debian's python3-jsonschema). Standard library + PyYAML +
jsonschema only."""
import json
import re

import jsonschema
import yaml

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


class Document:
    def __init__(self, path):
        with open(path) as f:
            self.doc = yaml.safe_load(f)
        # Every "#/..." pointer resolves against the whole document.
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)

    # --- navigation -------------------------------------------------------
    def deref(self, obj, seen=None):
        """Follows $ref of OpenAPI objects (responses, parameters, headers)."""
        seen = seen or set()
        while isinstance(obj, dict) and "$ref" in obj and len(obj) == 1:
            ref = obj["$ref"]
            if not ref.startswith("#/") or ref in seen:
                raise ValueError(f"unresolvable or circular $ref {ref}")
            seen.add(ref)
            obj = self.pointer(ref)
        return obj

    def pointer(self, ref):
        node = self.doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            node = node[part]
        return node

    def operations(self):
        """(template, method in upper case, operation object) of every operation."""
        for template, item in self.doc.get("paths", {}).items():
            for m in METHODS:
                if m in item:
                    yield template, m.upper(), item[m]

    def methods(self, template):
        return {m.upper() for m in METHODS if m in self.doc["paths"].get(template, {})}

    def operation(self, template, method):
        return self.doc["paths"].get(template, {}).get(method.lower())

    def statuses(self, template, method):
        op = self.operation(template, method)
        return {int(s) for s in op.get("responses", {}) if s.isdigit()} if op else set()

    def needs_token(self, op):
        sec = op.get("security", self.doc.get("security", []))
        return bool(sec) and all(req for req in sec)

    def schema_problems(self, schema, instance):
        v = jsonschema.Draft202012Validator(schema, resolver=self.resolver)
        out = []
        for e in sorted(v.iter_errors(instance), key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in e.absolute_path) or "(body)"
            out.append(f"{where}: {e.message[:200]}")
        return out

    # --- checking an answer ---------------------------------------------
    def check_answer(self, response, status, headers, body):
        """Problems of a real answer against a documented response object."""
        problems = []
        response = self.deref(response)
        for name, h in (response.get("headers") or {}).items():
            h = self.deref(h)
            value = headers.get(name.lower())
            if value is None:
                if h.get("required"):
                    problems.append(f"header {name} missing")
                continue
            if "schema" in h:
                problems += [f"header {name}: {p}" for p in self.schema_problems(h["schema"], value)]
        content = response.get("content")
        ctype = (headers.get("content-type") or "").split(";")[0].strip().lower()
        if not content:
            if body:
                problems.append(f"a body ({len(body)} bytes) where the document describes none")
            return problems
        if ctype not in content:
            return problems + [f"Content-Type {ctype or '(none)'} is not one of {sorted(content)}"]
        schema = content[ctype].get("schema")
        if schema is None:
            return problems
        if ctype == "application/json":
            try:
                instance = json.loads(body)
            except ValueError:
                return problems + [f"the body is not JSON: {body[:120]!r}"]
        else:
            instance = body.decode("utf-8", "replace")
        return problems + self.schema_problems(schema, instance)

    # --- what the document says about errors -------------------------------
    def error_codes(self, schema, depth=0):
        """The `code` constants an error schema allows (following $ref, oneOf)."""
        if depth > 20 or not isinstance(schema, dict):
            return set()
        codes = set()
        if "$ref" in schema:
            codes |= self.error_codes(self.pointer(schema["$ref"]), depth + 1)
        for key in ("oneOf", "anyOf", "allOf"):
            for s in schema.get(key, []):
                codes |= self.error_codes(s, depth + 1)
        code = schema.get("properties", {}).get("error", {}).get("properties", {}).get("code", {})
        if "const" in code:
            codes.add(code["const"])
        return codes


def template_regex(template):
    """A regular expression matching the concrete paths of a template."""
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template)) + "$")
