#!/usr/bin/env python3
"""Signed bodies for benches/web.lua: `bodies.py SECRET KIND OUT [FIRST]`.

KIND is `ignored` (one small push to a branch no trigger wants), `schedule` (200,000 small
pushes to `main`, commits FIRST, FIRST + 1, ..., so that each delivery schedules a new job) or
a path to a fixture file (signed byte for byte).
Records: "<X-Hub-Signature-256>\t<length>\n<body>\n".
"""
import hashlib
import hmac
import sys

secret, kind, out = sys.argv[1].encode(), sys.argv[2], sys.argv[3]
if kind == "ignored":
    bodies = [b'{"ref": "refs/heads/other", "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246"}']
elif kind == "schedule":
    first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
    bodies = [b'{"ref": "refs/heads/main", "after": "%040x"}' % i for i in range(first, first + 200_000)]
else:
    with open(kind, "rb") as f:
        bodies = [f.read()]
with open(out, "wb") as f:
    for body in bodies:
        sig = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
        f.write(b"%s\t%d\n%s\n" % (sig.encode(), len(body), body))
