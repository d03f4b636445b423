"""Write model files with their compressed payloads inflated: the seed form
of fuzz_model_payloads, which compresses them again and repairs checksums.

    unpack_model.py OUT_DIR MODEL...
"""
import struct
import sys
import zlib
from pathlib import Path

ZLIB_FLAG = 1 << 1


def sections(data):
    """(type, 32-byte header, inflated payload) of each section of a model file."""
    pos = 24
    while len(data) - pos >= 32:
        header = bytearray(data[pos:pos + 32])
        kind, flags, stored = struct.unpack_from("<IIQ", header, 0)
        payload = data[pos + 32:pos + 32 + stored]
        if flags & ZLIB_FLAG:
            payload = zlib.decompress(payload)
        yield kind, header, payload
        pos += 32 + stored


def unpack(data):
    out = bytearray(data[:24])
    for _, header, payload in sections(data):
        struct.pack_into("<QQ", header, 8, len(payload), len(payload))
        out += header + payload
    return bytes(out)


if __name__ == "__main__":
    out_dir = Path(sys.argv[1])
    for name in sys.argv[2:]:
        path = Path(name)
        (out_dir / path.name).write_bytes(unpack(path.read_bytes()))
