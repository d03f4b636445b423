"""Count test cases across meson test logs and print 'N passed, N failed'.

A C test binary prints one 'ok NAME' or 'FAIL NAME' line per case and pytest
prints its own summary; a test whose output has neither counts as one case.
"""
import json
import re
import sys


def count(path):
    passed = failed = 0
    try:
        lines = open(path).read().splitlines()
    except OSError:
        return 0, 1
    for line in lines:
        t = json.loads(line)
        out = t.get("stdout", "") or ""
        ok_result = t.get("result") == "OK"
        summary = [l for l in out.splitlines() if re.search(r"\b(passed|failed)\b.* in [\d.]+s", l)]
        py_passed = py_failed = None
        if summary:
            last = summary[-1]
            m = re.search(r"(\d+) passed", last)
            py_passed = int(m.group(1)) if m else 0
            m = re.search(r"(\d+) failed", last)
            py_failed = int(m.group(1)) if m else 0
        ok_lines = len(re.findall(r"^ok ", out, re.M))
        fail_lines = len(re.findall(r"^FAIL ", out, re.M))
        if ok_lines or fail_lines:
            passed += ok_lines
            failed += fail_lines
            if not ok_result and not fail_lines:
                failed += 1  # crashed after its last case
        elif py_passed is not None:
            passed += py_passed
            failed += py_failed
            if not ok_result and not py_failed:
                failed += 1
        else:
            passed += ok_result
            failed += not ok_result
    return passed, failed


def main():
    args = sys.argv[1:]
    extra = 0
    if "--extra-failed" in args:
        i = args.index("--extra-failed")
        extra = int(args[i + 1])
        del args[i:i + 2]
    passed = failed = 0
    for path in args:
        p, f = count(path)
        passed += p
        failed += f
    failed = max(failed, extra)
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


main()
