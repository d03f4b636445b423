#!/bin/sh
# Compare the built library's ABI with the baseline kept in tests/abi.
#   check_abi.sh LIBRARY             fail on an incompatible change
#   check_abi.sh LIBRARY --update    write a new baseline (commit it together
#                                    with the change, and bump the SONAME if
#                                    the change breaks existing callers)
# LIBRARY must carry debug information (scripts/dev abi builds one), so that
# changed structure layouts and parameter types are seen, not only symbols.
# abidiff's exit status is a bit field: 1 and 2 = it could not compare,
# 4 = a change that may break callers (a changed structure, enum or
# parameter type), 8 = a change that does (a removed symbol). Added
# symbols are filtered out (--no-added-syms): adding functions is how the
# ABI grows. Any other change fails until the baseline is rewritten in the
# same commit, so every such change is a decision someone made.
# Opaque structures (declared in include/anoma, defined in lib/) are
# suppressed by opaque.suppr: callers never see their layout.
set -u
cd "$(dirname "$0")/../.."
library=$1
baseline=tests/abi/libanoma.abi
headers=include/anoma

if [ "${2:-}" = "--update" ]; then
    abidw --headers-dir "$headers" --no-corpus-path --out-file "$baseline" "$library" || exit 1
    echo "wrote $baseline"
    exit 0
fi

report=$(abidiff --suppressions tests/abi/opaque.suppr --headers-dir2 "$headers" \
    --no-added-syms "$baseline" "$library")
status=$?
if [ $((status & 3)) -ne 0 ]; then
    echo "$report"
    echo "FAIL abi_compatible (abidiff could not compare, status $status)"
    exit 1
fi
if [ $((status & 12)) -ne 0 ]; then
    echo "$report"
    echo "FAIL abi_compatible: the ABI changed against $baseline."
    echo "If the change is intended, run scripts/dev abi --update and commit the baseline with it;"
    echo "if it breaks existing callers (status bit 8, or a changed layout), bump the SONAME too."
    exit 1
fi
echo "ok abi_compatible"
