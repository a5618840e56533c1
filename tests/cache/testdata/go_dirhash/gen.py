#!/usr/bin/env python3
"""Builds the Python-made zips for go_dirhash_test.cpp; run via gen.sh.

stored.zip        method 0, a directory entry, an archive comment holding a
                  decoy end-of-central-directory signature (which fools
                  Python's own reader, not Go's)
descriptor.zip    deflate written to a non-seekable stream: data descriptors
zip64.zip         deflate zip rewritten to ZIP64 form: sentinel sizes and
                  offsets in the central directory with a zip64 extra field
                  (after an unrelated extra field), zip64 end record + locator
empty.zip         no entries
*.mod             go.mod contents for goModH1
"""
import io
import struct
import zipfile

DATE = (2020, 1, 2, 3, 4, 6)


def info(name, method):
    zi = zipfile.ZipInfo(name, DATE)
    zi.compress_type = method
    zi.external_attr = 0o644 << 16
    return zi


def stored():
    with zipfile.ZipFile("stored.zip", "w", zipfile.ZIP_STORED) as z:
        z.writestr(info("example.com/py@v1.0.0/", zipfile.ZIP_STORED), b"")
        z.writestr(info("example.com/py@v1.0.0/go.mod", zipfile.ZIP_STORED),
                   b"module example.com/py\n")
        z.writestr(info("example.com/py@v1.0.0/README", zipfile.ZIP_STORED),
                   b"stored, not deflated\n" * 20)
        z.writestr(info("example.com/py@v1.0.0/dir/x.txt", zipfile.ZIP_STORED), b"x")
        # A decoy signature whose comment length cannot fit: readers must keep
        # searching backwards for the real record.
        z.comment = b"comment PK\x05\x06" + b"\0" * 16 + b"\xff\xff tail"


class NoSeek(io.RawIOBase):
    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


def descriptor():
    sink = NoSeek()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in [("m.example/dd@v0.0.1/go.mod", b"module m.example/dd\n"),
                           ("m.example/dd@v0.0.1/main.go", b"package main\n\nfunc main() {}\n" * 30),
                           ("m.example/dd@v0.0.1/empty", b"")]:
            with z.open(info(name, zipfile.ZIP_DEFLATED), "w") as f:
                f.write(data)
    with open("descriptor.zip", "wb") as f:
        f.write(bytes(sink.buf))


def to_zip64(data):
    """Rewrites a plain zip so every size/offset comes from ZIP64 records."""
    eocd = data.rindex(b"PK\x05\x06")
    (_, _, _, _, count, cd_size, cd_off, _) = struct.unpack("<IHHHHIIH", data[eocd:eocd + 22])
    out_cd = bytearray()
    p = cd_off
    for _ in range(count):
        hdr = list(struct.unpack("<IHHHHHHIIIHHHHHII", data[p:p + 46]))
        nlen, xlen, clen = hdr[10], hdr[11], hdr[12]
        name = data[p + 46:p + 46 + nlen]
        extra = data[p + 46 + nlen:p + 46 + nlen + xlen]
        comment = data[p + 46 + nlen + xlen:p + 46 + nlen + xlen + clen]
        csize, usize, off = hdr[8], hdr[9], hdr[16]
        extra += struct.pack("<HH4s", 0xCAFE, 4, b"junk")
        extra += struct.pack("<HHQQQ", 1, 24, usize, csize, off)
        hdr[8] = hdr[9] = hdr[16] = 0xFFFFFFFF
        hdr[11] = len(extra)
        out_cd += struct.pack("<IHHHHHHIIIHHHHHII", *hdr) + name + extra + comment
        p += 46 + nlen + xlen + clen
    body = data[:cd_off]
    z64_off = len(body) + len(out_cd)
    z64 = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count,
                      len(out_cd), cd_off)
    loc = struct.pack("<IIQI", 0x07064B50, 0, z64_off, 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return body + bytes(out_cd) + z64 + loc + end


def zip64():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(info("example.com/big@v2.0.0/go.mod", zipfile.ZIP_DEFLATED),
                   b"module example.com/big\n")
        z.writestr(info("example.com/big@v2.0.0/data.txt", zipfile.ZIP_DEFLATED),
                   b"".join(b"line %d\n" % i for i in range(1000)))
    with open("zip64.zip", "wb") as f:
        f.write(to_zip64(buf.getvalue()))


def empty():
    with zipfile.ZipFile("empty.zip", "w") as z:
        pass


def gomods():
    for name, data in [("hello.mod", b"module example.com/hello\n\ngo 1.19\n\nrequire golang.org/x/text v0.3.7\n"),
                       ("empty.mod", b""),
                       ("crlf.mod", b"module example.com/crlf\r\n\r\ngo 1.21")]:
        with open(name, "wb") as f:
            f.write(data)


gomods()
stored()
descriptor()
zip64()
empty()
