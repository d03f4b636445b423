"""Cut the DETECTOR sections of model files into the input form of
fuzz_import: name, NUL, parameters, NUL, the model's input width as two
bytes, the payload (docs/model-format.md).

    import_seeds.py OUT_DIR MODEL...
"""
import struct
import sys
from pathlib import Path

from unpack_model import sections

META, DETECTOR = 1, 4


def text(payload, pos):
    n, = struct.unpack_from("<I", payload, pos)
    return payload[pos + 4:pos + 4 + n], pos + 4 + n


def seeds(data):
    width = 0
    for kind, _, payload in sections(data):
        if kind == META:  # version, parameters, training rows, width
            _, pos = text(payload, 0)
            _, pos = text(payload, pos)
            width, = struct.unpack_from("<Q", payload, pos + 8)
        elif kind == DETECTOR:  # name, parameters, shift, scale, version, payload
            name, pos = text(payload, 0)
            params, pos = text(payload, pos)
            yield name + b"\0" + params + b"\0" + struct.pack("<H", width) + payload[pos + 20:]


out_dir = Path(sys.argv[1])
for model in sys.argv[2:]:
    for k, seed in enumerate(seeds(Path(model).read_bytes())):
        (out_dir / ("%s.%d" % (Path(model).stem, k))).write_bytes(seed)
