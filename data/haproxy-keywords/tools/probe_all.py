#!/usr/bin/env python3
import json, sys, re
sys.path.insert(0, '/tmp/hk/py')
from probe import probe_many, probe_one, classify
cand = json.load(open('/tmp/hk/candidates.json'))
EXISTS = {'2.6': set(cand) - {'crt-store', 'traces', 'acme', 'log-profile'},
          '3.0': set(cand) - {'traces', 'acme', 'log-profile'}, '3.2': set(cand)}
def line_for(k):
    m = re.match(r'^(http-check|tcp-check) (set-var|set-var-fmt|unset-var)$', k)
    if m:
        return f'{k}(check.x)'
    return k
res = {}
for v in ['2.6', '3.0', '3.2']:
    res[v] = {}
    for s, kws in cand.items():
        if s not in EXISTS[v]:
            continue
        lines = [line_for(k) for k in kws]
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(4) as ex:
            ms = list(ex.map(lambda l: probe_one(v, s, l)[0], lines))
        r = dict(zip(lines, ms))
        res[v][s] = {}
        for k, l in zip(kws, lines):
            c, m = classify(l, r[l])
            res[v][s][k] = [c, m, r[l]]
        print(v, s, {c: sum(1 for x in res[v][s].values() if x[0] == c) for c in ('known', 'unknown', 'removed', 'ignored-in-section')}, flush=True)
json.dump(res, open('/tmp/hk/probe_results.json', 'w'), indent=1)
