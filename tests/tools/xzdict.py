# SPDX-License-Identifier: Apache-2.0
# xzdict.py MIB PROP OUT: OUT is a tar.xz whose one entry, "rootfs", holds
# MIB MiB of zero bytes, compressed with an 8 MiB dictionary but with the
# LZMA2 dictionary-size property of its block header set to PROP (and the
# header's CRC32 made right): a stream that decodes, and makes a decoder
# hold min(the content, the declared dictionary). Test input for the
# Mender audit's xz memory bound.
import io
import struct
import subprocess
import sys
import tarfile
import zlib

size, prop, out = int(sys.argv[1]) << 20, int(sys.argv[2]), sys.argv[3]


class Zeros(io.RawIOBase):
    def __init__(self):
        self.left = size

    def readable(self):
        return True

    def readinto(self, b):
        n = min(len(b), self.left)
        b[:n] = bytes(n)
        self.left -= n
        return n


buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w|", format=tarfile.USTAR_FORMAT) as t:
    ti = tarfile.TarInfo("rootfs")
    ti.size = size
    ti.mode = 0o644
    t.addfile(ti, io.BufferedReader(Zeros(), 1 << 20))
d = bytearray(subprocess.run(["xz", "-T1", "--format=xz", "--lzma2=preset=0,dict=8MiB"],
                             input=buf.getvalue(), capture_output=True, check=True).stdout)
hsize = (d[12] + 1) * 4          # the first block header, after the 12-byte stream header
h = d[12:12 + hsize]
i = 2


def varint(i):
    v = s = 0
    while True:
        b = h[i]
        v |= (b & 0x7F) << s
        i += 1
        s += 7
        if not b & 0x80:
            return v, i


if h[1] & 0x40:
    _, i = varint(i)
if h[1] & 0x80:
    _, i = varint(i)
fid, i = varint(i)
plen, i = varint(i)
assert fid == 0x21 and plen == 1, "not an LZMA2 block"
h[i] = prop
h[hsize - 4:hsize] = struct.pack("<I", zlib.crc32(bytes(h[:hsize - 4])) & 0xFFFFFFFF)
d[12:12 + hsize] = h
open(out, "wb").write(d)
