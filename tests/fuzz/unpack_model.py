"""Write model files with their compressed payloads inflated: the seed form
of fuzz_model_payloads, which compresses them again and repairs checksums.

    unpack_model.py OUT_DIR MODEL...
"""
import struct
import sys
import zlib
from pathlib import Path

ZLIB_FLAG = 1 << 1


def unpack(data):
    out = bytearray(data[:24])
    pos = 24
    while len(data) - pos >= 32:
        header = bytearray(data[pos:pos + 32])
        flags, stored = struct.unpack_from("<IQ", header, 4)
        payload = data[pos + 32:pos + 32 + stored]
        if flags & ZLIB_FLAG:
            payload = zlib.decompress(payload)
        struct.pack_into("<QQ", header, 8, len(payload), len(payload))
        out += header + payload
        pos += 32 + stored
    return bytes(out)


out_dir = Path(sys.argv[1])
for name in sys.argv[2:]:
    path = Path(name)
    (out_dir / path.name).write_bytes(unpack(path.read_bytes()))
