#!/usr/bin/env python3
"""Lists Rust functions over N lines (default 60; outside #[cfg(test)] modules, tests/ and the benchmark) and non-test .rs files over 600 lines. Usage: python3 .ci/long-functions.py crates [N]"""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else '.'
limit = int(sys.argv[2]) if len(sys.argv) > 2 else 60
fnre = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)')
for dp, dn, fn in os.walk(root):
    if 'target' in dp or '/tests' in dp or 'node_modules' in dp: continue
    for f in fn:
        if not f.endswith('.rs'): continue
        p = os.path.join(dp, f)
        lines = open(p).read().split('\n')
        # cut at #[cfg(test)]
        n = len(lines)
        for i, l in enumerate(lines):
            if l.strip() == '#[cfg(test)]':
                n = i; break
        if n > 600: print(f'FILE {p}: {n} lines (non-test)')
        if 'tapd-bench' in p: continue
        i = 0
        while i < n:
            m = fnre.match(lines[i])
            if m:
                # find opening brace and match
                depth = 0; started = False; j = i
                while j < n:
                    for ch in lines[j]:
                        if ch == '{': depth += 1; started = True
                        elif ch == '}': depth -= 1
                    if started and depth == 0: break
                    if not started and lines[j].rstrip().endswith(';'): break
                    j += 1
                length = j - i + 1
                if started and length > limit:
                    print(f'FN {p}:{i+1} {m.group(6)} {length}')
            i += 1
