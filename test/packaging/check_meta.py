#!/usr/bin/python3
"""Checks META.json against the PGXN Meta Spec 1.0.0 (https://pgxn.org/spec/)
and against the tree: check_meta.py META.json extension/credsync.control

No validator of the spec is packaged in Debian (pgxnclient does not check
META files), so the spec's rules are written down here as a JSON Schema
(Draft 2020-12, checked with Debian's python3-jsonschema): the required keys,
semantic versions, the license strings the spec lists, the prereq phases and
relations, the meta-spec version. Then the tree: the extension's version is
credsync.control's default_version (as a semantic version), the distribution's
version is the same, and every file named exists.
"""
import json
import os
import re
import sys

import jsonschema

SEMVER = r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$"
# The spec's license strings (section "license").
LICENSES = [
    "agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd", "gfdl_1_2",
    "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit", "mozilla_1_0", "mozilla_1_1",
    "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay", "sun", "zlib", "open_source", "restricted",
    "unrestricted", "unknown",
]
VERSION_RANGE = {"oneOf": [{"type": "integer", "const": 0},
                           {"type": "string", "pattern": r"^((>=|<=|>|<|==|!=)\s*)?[0-9][0-9A-Za-z.\-]*"
                                                         r"(\s*,\s*((>=|<=|>|<|==|!=)\s*)?[0-9][0-9A-Za-z.\-]*)*$"}]}
RELATIONS = {"type": "object", "additionalProperties": VERSION_RANGE}
PHASE = {"type": "object", "additionalProperties": False,
         "properties": {k: RELATIONS for k in ("requires", "recommends", "suggests", "conflicts")}}
STRINGS = {"oneOf": [{"type": "string", "minLength": 1},
                     {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["name", "abstract", "version", "maintainer", "license", "provides", "meta-spec"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$"},
        "abstract": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "version": {"type": "string", "pattern": SEMVER},
        "maintainer": STRINGS,
        "license": {"oneOf": [{"enum": LICENSES}, {"type": "array", "items": {"enum": LICENSES}},
                              {"type": "object", "additionalProperties": {"type": "string"}}]},
        "provides": {"type": "object", "minProperties": 1, "additionalProperties": {
            "type": "object", "required": ["file", "version"],
            "properties": {"file": {"type": "string"}, "version": {"type": "string", "pattern": SEMVER},
                           "abstract": {"type": "string"}, "docfile": {"type": "string"}},
            "patternProperties": {"^[Xx]_": {}}, "additionalProperties": False}},
        "prereqs": {"type": "object", "additionalProperties": False,
                    "properties": {k: PHASE for k in ("configure", "build", "runtime", "test", "develop")}},
        "release_status": {"enum": ["stable", "testing", "unstable"]},
        "resources": {"type": "object"},
        "generated_by": {"type": "string"},
        "tags": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 255}},
        "no_index": {"type": "object", "properties": {"file": STRINGS, "directory": STRINGS}},
        "meta-spec": {"type": "object", "required": ["version"],
                      "properties": {"version": {"const": "1.0.0"}, "url": {"type": "string"}}},
    },
    "patternProperties": {"^[Xx]_": {}},
    "additionalProperties": False,
}


def main():
    meta_path, control_path = sys.argv[1], sys.argv[2]
    root = os.path.dirname(os.path.abspath(meta_path))
    meta = json.load(open(meta_path))
    problems = [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}"
                for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(meta)]
    control = open(control_path).read()
    m = re.search(r"^default_version\s*=\s*'([^']+)'", control, re.M)
    default = m.group(1) if m else None
    semver = default + ".0" if default and default.count(".") == 1 else default
    ext = meta.get("provides", {}).get("credsync", {})
    if ext.get("version") != semver:
        problems.append(f"provides.credsync.version {ext.get('version')!r} != default_version {default!r} as semver {semver!r}")
    if meta.get("version") != semver:
        problems.append(f"version {meta.get('version')!r} != the extension's {semver!r}")
    for key in ("file", "docfile"):
        if key in ext and not os.path.exists(os.path.join(root, ext[key])):
            problems.append(f"provides.credsync.{key}: {ext[key]} does not exist")
    for p in problems:
        print("# META.json: " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
