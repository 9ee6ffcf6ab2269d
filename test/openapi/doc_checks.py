"""What swagger-parser does not check in an OpenAPI 3.1 document (it validates
3.x documents against the official schema and resolves $refs, but its
"spec" checks cover Swagger 2.0 only), and what this API promises on every
path. Each function returns a list of problems; run_all() all of them."""
import re

import jsonschema

from oas import Document

# PROTOCOL.md's status table plus the accounts' codes (docs/http.md).
CODES_FOR_STATUS = {
    400: {"bad_request"}, 401: {"unauthorized", "login_failed"}, 404: {"not_found"},
    405: {"method_not_allowed"}, 409: {"conflict", "name_taken"}, 410: {"cursor_invalid"},
    411: {"length_required"}, 413: {"too_large"}, 415: {"unsupported_encoding"},
    422: {"op_reused"}, 429: {"too_many_attempts"}, 500: {"internal"}, 503: {"unavailable"},
    507: {"quota_exceeded"},
}
# Refused by the proxy before routing, on every path (proxy/validate.cpp
# check_request_head): every operation must say so.
GATE_STATUSES = {400, 411, 413, 415}


def schemas_are_valid(d: Document):
    """Every schema object is a valid JSON Schema (Draft 2020-12)."""
    problems = []

    def walk(node, where):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "schema" and isinstance(v, dict):
                    check(v, f"{where}/{k}")
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    def check(schema, where):
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as e:
            problems.append(f"{where}: not a valid schema: {e.message[:200]}")

    for name, s in d.doc.get("components", {}).get("schemas", {}).items():
        check(s, f"components/schemas/{name}")
    walk(d.doc.get("paths", {}), "paths")
    return problems


def operation_ids_unique(d: Document):
    seen, problems = {}, []
    for template, method, op in d.operations():
        oid = op.get("operationId")
        if not oid:
            problems.append(f"{method} {template}: no operationId")
        elif oid in seen:
            problems.append(f"operationId {oid} of {method} {template} is also {seen[oid]}'s")
        else:
            seen[oid] = f"{method} {template}"
    return problems


def path_parameters_match(d: Document):
    """Each {name} of a template is declared as a path parameter, and back."""
    problems = []
    for template, method, op in d.operations():
        item = d.doc["paths"][template]
        declared = {}
        for p in item.get("parameters", []) + op.get("parameters", []):
            p = d.deref(p)
            if p.get("in") == "path":
                declared[p["name"]] = p
                if not p.get("required"):
                    problems.append(f"{method} {template}: path parameter {p['name']} is not required: true")
        named = set(re.findall(r"\{([^}]+)\}", template))
        for n in named - set(declared):
            problems.append(f"{method} {template}: {{{n}}} has no parameter")
        for n in set(declared) - named:
            problems.append(f"{method} {template}: parameter {n} is not in the path")
    return problems


def errors_have_their_codes(d: Document):
    """Every 4xx/5xx response is JSON whose code(s) belong to that status."""
    problems = []
    for template, method, op in d.operations():
        for status, resp in op.get("responses", {}).items():
            s = int(status)
            if s < 400:
                continue
            resp = d.deref(resp)
            schema = resp.get("content", {}).get("application/json", {}).get("schema")
            if schema is None:
                problems.append(f"{method} {template} {s}: no application/json error schema")
                continue
            codes = d.error_codes(schema)
            want = CODES_FOR_STATUS.get(s)
            if want is None:
                problems.append(f"{method} {template}: status {s} has no code in the status table")
            elif not codes or not codes <= want:
                problems.append(f"{method} {template} {s}: codes {sorted(codes)} not within {sorted(want)}")
    for name in ("NotFound", "MethodNotAllowed"):
        if name not in d.doc.get("components", {}).get("responses", {}):
            problems.append(f"components/responses/{name} (answered on any path) is missing")
    return problems


def every_operation_has_the_common_statuses(d: Document):
    problems = []
    for template, method, op in d.operations():
        statuses = {int(s) for s in op.get("responses", {})}
        for s in sorted(GATE_STATUSES - statuses):
            problems.append(f"{method} {template}: {s} (refused before routing, on every path) is not documented")
        if d.needs_token(op) and 401 not in statuses:
            problems.append(f"{method} {template}: needs a token but documents no 401")
        if template != "/metrics" and 503 not in statuses:
            problems.append(f"{method} {template}: talks to the database but documents no 503")
        if not any(200 <= s < 300 for s in statuses):
            problems.append(f"{method} {template}: no success response")
    return problems


def required_headers_declared(d: Document):
    """401 unauthorized carries WWW-Authenticate, 429 and 503 Retry-After."""
    problems = []
    for template, method, op in d.operations():
        for status, resp in op.get("responses", {}).items():
            r = d.deref(resp)
            headers = {k.lower(): d.deref(v) for k, v in (r.get("headers") or {}).items()}
            schema = r.get("content", {}).get("application/json", {}).get("schema", {})
            if status in ("429", "503") and not headers.get("retry-after", {}).get("required"):
                problems.append(f"{method} {template} {status}: Retry-After not declared as required")
            if status == "401" and d.error_codes(schema) == {"unauthorized"} and \
                    not headers.get("www-authenticate", {}).get("required"):
                problems.append(f"{method} {template} 401: WWW-Authenticate not declared as required")
    return problems


CHECKS = [schemas_are_valid, operation_ids_unique, path_parameters_match, errors_have_their_codes,
          every_operation_has_the_common_statuses, required_headers_declared]


def run_all(d: Document):
    return {c.__name__: c(d) for c in CHECKS}
