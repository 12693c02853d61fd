#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""jsoncheck.py MANPAGE COMMAND STATUS FILE - check one --json document
against the keys, types and check ids documented in otabundle-json(5).

The tables of the man page (".It Ic KEY Ta TYPE Ta IN" rows, under .Sh TOP
LEVEL and one .Ss per object kind) and its CHECK IDS list are the
specification; this reads them from the mdoc source, so the page and the
program cannot drift apart without this failing."""
import json
import sys


# signers[].revocation.status, as otabundle-json(5) lists them
REVOCATION_STATUS = {"not-checked", "good", "revoked", "no-current-crl"}


def load_spec(path):
    spec, ids, details, sect = {}, set(), set(), None
    for line in open(path, encoding="utf-8"):
        line = line.rstrip("\n")
        if line.startswith(".Sh "):
            sect = line[4:].strip()
            sect = "" if sect == "TOP LEVEL" else sect
        elif line.startswith(".Ss "):
            sect = line[4:].strip()
        elif line.startswith(".It Ic ") and " Ta " in line and sect is not None:
            key, typ, where = [f.strip() for f in line[7:].split(" Ta ")]
            spec.setdefault(sect, {})[key] = (typ, [w.strip() for w in where.split(",")])
        elif line.startswith(".It Li ") and sect == "CHECK IDS":
            ids.add(line[7:].strip())
        elif line.startswith(".It Li ") and sect == "DETAILS":
            details.add(line[7:].strip())
    return spec, ids, details


def type_ok(value, typ):
    for alt in typ.split(" or "):
        if alt == "null" and value is None:
            return True
        if alt == "integer" and isinstance(value, int) and not isinstance(value, bool):
            return True
        if alt == "string" and isinstance(value, str):
            return True
        if alt == "boolean" and isinstance(value, bool):
            return True
        if alt == "object" and isinstance(value, dict):
            return True
        if alt == "array of objects" and isinstance(value, list) and all(isinstance(v, dict) for v in value):
            return True
        if alt == "array of strings" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return True
    return False


def check_obj(obj, sect, spec, ids, where, errors, command=None, success=False):
    table = spec.get(sect)
    if table is None:
        return
    for key, value in obj.items():
        if key not in table:
            errors.append("%s: key '%s' is not documented" % (where, key))
            continue
        typ, ins = table[key]
        if not type_ok(value, typ):
            errors.append("%s: key '%s' is %r, documented as %s" % (where, key, value, typ))
        if command and "all" not in ins and command not in ins:
            errors.append("%s: key '%s' is not documented for %s" % (where, key, command))
        if key in spec and isinstance(value, dict):
            check_obj(value, key, spec, ids, where + "." + key, errors)
        if key in spec and isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, dict):
                    check_obj(v, key, spec, ids, "%s.%s[%d]" % (where, key, i), errors)
        if sect == "checks" and key == "id" and value not in ids:
            errors.append("%s: check id '%s' is not in CHECK IDS" % (where, value))
        if sect == "revocation" and key == "status" and value not in REVOCATION_STATUS:
            errors.append("%s: revocation status '%s' is not one of %s" % (where, value,
                                                                     sorted(REVOCATION_STATUS)))
    for key, (typ, ins) in table.items():
        need = "always" in ins or "all" in ins or (success and command in ins)
        if need and key not in obj:
            errors.append("%s: documented key '%s' is missing" % (where, key))


def main():
    man, command, status, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    spec, ids, details = load_spec(man)
    raw = open(path, "rb").read()
    errors = []
    if not spec.get("") or not ids or not details:
        sys.exit("jsoncheck: no key tables or check ids found in " + man)
    if any(b >= 0x80 for b in raw):
        errors.append("output is not plain ASCII")
    try:
        doc = json.loads(raw.decode("ascii", "replace"))
    except ValueError as e:
        sys.exit("not one JSON document (%s): %r" % (e, raw[:200]))
    if not isinstance(doc, dict):
        sys.exit("not a JSON object")
    check_obj(doc, "", spec, ids, command, errors, command, status == 0)
    if doc.get("command") != command:
        errors.append("command is %r" % doc.get("command"))
    if doc.get("exit-status") != status:
        errors.append("exit-status is %r, the process exited %d" % (doc.get("exit-status"), status))
    if doc.get("ok") is not (status == 0):
        errors.append("ok is %r with exit status %d" % (doc.get("ok"), status))
    if (doc.get("error") is None) != (status == 0):
        errors.append("error is %r with exit status %d" % (doc.get("error"), status))
    e = doc.get("error")
    if isinstance(e, dict) and e.get("detail") is not None and e["detail"] not in details:
        errors.append("error.detail '%s' is not in DETAILS" % e["detail"])
    if doc.get("verified") and status != 0:
        errors.append("verified is true but the command failed")
    if errors:
        sys.exit("\n".join(errors))


main()
