#!/usr/bin/env python3
"""Re-probe keywords known to the binary WITHOUT expose-experimental/deprecated-directives to find gated ones."""
import json, sys, re
sys.path.insert(0, '/tmp/hk/py')
from probe import probe_one
from concurrent.futures import ThreadPoolExecutor
r = json.load(open('/tmp/hk/probe_results.json'))
out = {}
for v in r:
    out[v] = {}
    for s in r[v]:
        if s in ('program', 'acme'):
            continue
        ks = [k for k, x in r[v][s].items() if x[0] in ('known', 'ignored-in-section')]
        def line_for(k):
            m = re.match(r'^(http-check|tcp-check) (set-var|set-var-fmt|unset-var)$', k)
            return f'{k}(check.x)' if m else k
        with ThreadPoolExecutor(4) as ex:
            ms = list(ex.map(lambda k: probe_one(v, s, line_for(k), expose=False), ks))
        out[v][s] = {}
        for k, (m, other, raw) in zip(ks, ms):
            flags = []
            txt = ' '.join(x[1] for x in m + other)
            if re.search(r'experimental', txt, re.I): flags.append('experimental')
            if re.search(r'deprecated', txt, re.I): flags.append('deprecated')
            if flags:
                out[v][s][k] = [flags, [x for x in m + other if re.search('experimental|deprecated', x[1], re.I)]]
        print(v, s, len(out[v][s]), flush=True)
json.dump(out, open('/tmp/hk/probe_flags.json', 'w'), indent=1)
