"""The shared library exports exactly the ABI listed in lib/libanoma.map.

Every dynamic symbol libanoma.so defines must start with anoma_ and be
listed in the version script; every listed symbol must be defined and be
declared in a public header. Prints one 'ok'/'FAIL' line per check.
"""
import re
import subprocess
import sys
from pathlib import Path

library, map_file, include_dir = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])

listed = set(re.findall(r"^\s*(anoma_\w+);", map_file.read_text(), re.M))
out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True, text=True,
                     check=True).stdout
exported = {line.split()[-1].split("@")[0] for line in out.splitlines() if line.split()}
exported.discard("ANOMA_0.1")
exported = {s for s in exported if not re.fullmatch(r"ANOMA_[0-9.]+", s)}
headers = "\n".join(p.read_text() for p in include_dir.glob("*.h"))
declared = set(re.findall(r"ANOMA_API\s[^;(]*?\b(anoma_\w+)\s*\(", headers))

checks = {
    "exports_have_prefix": sorted(s for s in exported if not s.startswith("anoma_")),
    "exports_are_listed": sorted(exported - listed),
    "listed_are_exported": sorted(listed - exported),
    "listed_are_declared": sorted(listed - declared),
    "declared_are_listed": sorted(declared - listed),
}
failed = 0
for name, problems in checks.items():
    if problems:
        failed += 1
        print(f"FAIL {name}: {' '.join(problems)}")
    else:
        print(f"ok {name}")
sys.exit(1 if failed else 0)
