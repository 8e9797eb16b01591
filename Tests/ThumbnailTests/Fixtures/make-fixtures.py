#!/usr/bin/env python3
"""Writes the thumbnail test images (committed; rerun only to change them). Needs the vips CLI.

oriented.jpg  300x200 stored, left half red, right half blue, EXIF Orientation=6 (display
              rotated 90 degrees clockwise: 200x300, red on top) and a GPS position that
              must not survive into a thumbnail.
bomb.png      a valid PNG header claiming 40000x40000 pixels (1.6 gigapixels) with almost no data.
corrupt.jpg   a JPEG start followed by garbage.
"""
import os, struct, subprocess, tempfile, zlib

here = os.path.dirname(os.path.abspath(__file__))

def png(width, height, row):
    raw = b"".join(b"\x00" + row(y) for y in range(height))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))

def exif_app1():
    # Little-endian TIFF: IFD0 with Orientation=6 and a pointer to a GPS IFD with a latitude.
    entries0 = [(0x0112, 3, 1, 6), (0x8825, 4, 1, 0)]  # GPS offset patched below
    ifd0_offset = 8
    ifd0_size = 2 + 12 * len(entries0) + 4
    gps_offset = ifd0_offset + ifd0_size
    entries0[1] = (0x8825, 4, 1, gps_offset)
    gps_entries = [(0x0001, 2, 2, b"N\x00"), (0x0002, 5, 3, None)]
    gps_size = 2 + 12 * len(gps_entries) + 4
    rationals_offset = gps_offset + gps_size
    out = b"II*\x00" + struct.pack("<I", ifd0_offset)
    out += struct.pack("<H", len(entries0))
    for tag, typ, count, value in entries0:
        out += struct.pack("<HHI", tag, typ, count) + (struct.pack("<HH", value, 0) if typ == 3 else struct.pack("<I", value))
    out += struct.pack("<I", 0)
    out += struct.pack("<H", len(gps_entries))
    for tag, typ, count, value in gps_entries:
        if typ == 2:
            out += struct.pack("<HHI", tag, typ, count) + value.ljust(4, b"\x00")
        else:
            out += struct.pack("<HHII", tag, typ, count, rationals_offset)
    out += struct.pack("<I", 0)
    out += struct.pack("<IIIIII", 52, 1, 31, 1, 0, 1)  # 52° 31' 0"
    body = b"Exif\x00\x00" + out
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body

with tempfile.TemporaryDirectory() as tmp:
    source = os.path.join(tmp, "source.png")
    with open(source, "wb") as f:
        f.write(png(300, 200, lambda y: b"".join(b"\xff\x00\x00" if x < 150 else b"\x00\x00\xff" for x in range(300))))
    plain = os.path.join(tmp, "plain.jpg")
    subprocess.run(["vips", "copy", source, plain + "[Q=90,strip]"], check=True)
    jpeg = open(plain, "rb").read()
    assert jpeg[:2] == b"\xff\xd8"
    with open(os.path.join(here, "oriented.jpg"), "wb") as f:
        f.write(jpeg[:2] + exif_app1() + jpeg[2:])

with open(os.path.join(here, "bomb.png"), "wb") as f:
    data = png(1, 1, lambda y: b"\x00\x00\x00")
    ihdr = struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0)
    header = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    f.write(data[:8] + header + data[8 + 25:])

with open(os.path.join(here, "corrupt.jpg"), "wb") as f:
    f.write(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8)
