#!/usr/bin/env bash
# Fails if any function in ferrule.o reserves more than LIMIT bytes of stack (default 4096).
# The kernel warns about big C frames (-Wframe-larger-than) but nothing checks Rust ones, and
# its stack is 16 KiB: a large table built on the stack would overflow it at run time.
set -euo pipefail
obj=${1:-ferrule.o} limit=${2:-4096}
llvm-objdump-19 -d --no-show-raw-insn "$obj" | python3 -c '
import re, sys
limit = int(sys.argv[1]); fn = None; bad = []
for line in sys.stdin:
    m = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
    if m:
        fn = m.group(1); continue
    m = re.search(r"subq?\s+\$0x([0-9a-f]+),\s*%rsp", line)
    if m and fn and int(m.group(1), 16) > limit:
        bad.append((int(m.group(1), 16), fn))
for size, f in sorted(set(bad), reverse=True):
    print(f"stack frame of {size} bytes (limit {limit}): {f}")
sys.exit(1 if bad else 0)
' "$limit"
