#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# dergraft.py FROM INTO OUT - move the unsigned attributes (the RFC 3161
# token) of the last SignerInfo of CMS FROM onto the last SignerInfo of
# CMS INTO, re-encoding the lengths (DER), and write OUT. The path is
# ContentInfo / [0] / SignedData / signerInfos / SignerInfo / [1].
# dergraft.py -raw HEX INTO OUT - the same with the unsigned attributes
# given as the hex of their whole [1] TLV (for malformed tokens).
import sys


def tlv(b, i):
    """(header length, content length) of the TLV at b[i]."""
    n = b[i + 1]
    if n < 0x80:
        return 2, n
    k = n & 0x7F
    return 2 + k, int.from_bytes(b[i + 2:i + 2 + k], "big")


def enc_len(n):
    if n < 0x80:
        return bytes([n])
    s = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(s)]) + s


def last_child(b):
    """b is one TLV: (header, [children as bytes])."""
    h, n = tlv(b, 0)
    kids, i = [], h
    while i < h + n:
        hh, nn = tlv(b, i)
        kids.append(b[i:i + hh + nn])
        i += hh + nn
    return b[:1], kids


def path(b, depth):
    tag, kids = last_child(b)
    if depth == 0:
        return kids[-1]
    return path(kids[-1], depth - 1)


def graft(b, depth, new):
    tag, kids = last_child(b)
    kids[-1] = new if depth == 0 else graft(kids[-1], depth - 1, new)
    body = b"".join(kids)
    return tag + enc_len(len(body)) + body


def der(path):
    b = open(path, "rb").read()
    h, n = tlv(b, 0)
    return b[:h + n]  # without manifest.sig's zero padding


if sys.argv[1] == "-raw":
    attrs, dst, out = bytes.fromhex(sys.argv[2]), der(sys.argv[3]), sys.argv[4]
else:
    attrs, dst, out = path(der(sys.argv[1]), 4), der(sys.argv[2]), sys.argv[3]
if attrs[0] != 0xA1:
    sys.exit("FROM's last SignerInfo has no unsigned attributes")
tail = path(dst, 4)
new = graft(dst, 4, attrs) if tail[0] == 0xA1 else None
if new is None:  # INTO has none yet: append them to its SignerInfo
    def add(b, depth):
        tag, kids = last_child(b)
        if depth == 0:
            kids.append(attrs)
        else:
            kids[-1] = add(kids[-1], depth - 1)
        body = b"".join(kids)
        return tag + enc_len(len(body)) + body
    new = add(dst, 4)
open(out, "wb").write(new)
