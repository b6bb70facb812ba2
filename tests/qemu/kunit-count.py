#!/usr/bin/env python3
"""Count Ferrule's KUnit results in guest console logs (KTAP printed at insmod).

Each ferrule_* suite is counted once, from the first log line block where it appears (the
suites run at every insmod). Prints "SUITE CASE ok|FAIL" lines and a final "PASSED FAILED".
A suite that starts but never reports its end (a crash mid-suite) counts as one failure.
"""
import re
import sys

TS = re.compile(r'^\[\s*\d+\.\d+\]\s?')
suites = {}
current = None
for path in sys.argv[1:]:
    with open(path, errors='replace') as f:
        for raw in f:
            line = TS.sub('', raw.rstrip('\r\n'))
            m = re.match(r'^    # Subtest: (ferrule\w*)$', line)
            if m:
                name = m.group(1)
                current = None if name in suites else name
                if current:
                    suites[current] = {'cases': [], 'done': False}
                continue
            if not current:
                continue
            m = re.match(r'^    (not ok|ok) \d+ (\S+)(.*)$', line)
            if m:
                if '# SKIP' not in m.group(3):
                    suites[current]['cases'].append((m.group(2), m.group(1) == 'ok'))
                continue
            if re.match(r'^(not ok|ok) \d+ ' + re.escape(current) + r'\b', line):
                suites[current]['done'] = True
                current = None

passed = failed = 0
for name, s in suites.items():
    for case, ok in s['cases']:
        print(f"{name} {case} {'ok' if ok else 'FAIL'}")
        passed += ok
        failed += not ok
    if not s['done']:
        print(f"{name} (suite did not finish) FAIL")
        failed += 1
print(passed, failed)
