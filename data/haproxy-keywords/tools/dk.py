#!/usr/bin/env python3
"""parse `haproxy -dKcfg` output into {section: set(keywords)} (directive names only)"""
import re, json, sys
def parse(path):
    out = {}
    cur = None
    for l in open(path):
        l = l.rstrip('\n')
        if not l or l.startswith('#'):
            continue
        if not l.startswith('\t'):
            cur = l.strip(); out.setdefault(cur, {'kw': set(), 'option': {}, 'actions': {}, 'bind': set(), 'server': set(), 'other': set()})
            continue
        e = l.strip()
        d = out[cur]
        if e.startswith('bind <addr> '):
            d['bind'].add(e[len('bind <addr> '):].split()[-2] if e.endswith('+1') or e.endswith('+-1') else e.split()[-1])
        elif e.startswith('server <name> <addr> '):
            w = e[len('server <name> <addr> '):].split()
            d['server'].add(w[0])
        elif e.startswith('option '):
            m = re.match(r'option (\S+)\s*\[(.*)\]', e)
            d['option'][m.group(1)] = m.group(2).split()
        elif re.match(r'^(tcp-request (connection|session|content)|tcp-response content|http-request|http-response|http-after-response|quic-initial|tcp-check|http-check) ', e):
            m = re.match(r'^(tcp-request (?:connection|session|content)|tcp-response content|http-request|http-response|http-after-response|quic-initial|tcp-check|http-check) (\S+)', e)
            d['actions'].setdefault(m.group(1), set()).add(m.group(2))
        else:
            d['kw'].add(e.split()[0])
    return out
if __name__ == '__main__':
    for v in ('2.6', '3.0', '3.2'):
        p = parse(f'/tmp/hk/dk/{v}.cfg')
        print(v, {s: {k: len(x) for k, x in d.items()} for s, d in p.items()})
