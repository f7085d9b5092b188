#!/usr/bin/env python3
"""Build the union of candidate (section, directive) lines from manual, -dKcfg and the strings scan."""
import json, os, re, sys
sys.path.insert(0, '/tmp/hk/py')
import dk
man = json.load(open('/tmp/hk/manual.json'))
VERS = ['2.6', '3.0', '3.2']
MISSING = {'2.6': ('crt-store', 'traces', 'acme', 'log-profile'), '3.0': ('traces', 'acme', 'log-profile')}
PROX = ['defaults', 'frontend', 'listen', 'backend']
SECS = ['global'] + PROX + ['userlist', 'peers', 'mailers', 'resolvers', 'cache', 'program', 'http-errors', 'ring',
        'log-forward', 'fcgi-app', 'crt-store', 'traces', 'acme', 'log-profile']
cand = {s: set() for s in SECS}
for v in VERS:
    for s, kws in man[v].items():
        if s == '@section':
            continue
        tgt = PROX if s in PROX else [s]
        for t in tgt:
            cand[t].update(kws)
    d = dk.parse(f'/tmp/hk/dk/{v}.cfg')
    cand['global'].update(d['global']['kw'])
    for t in PROX:
        for k in d['listen']['kw']:
            if k not in ('timeout', 'tcp-request', 'tcp-response', 'http-check', 'tcp-check', 'stats', 'option'):
                cand[t].add(k)
        for o in d['listen']['option']:
            cand[t].add('option ' + o)
    for s in ('crt-store', 'traces', 'acme'):
        if s in d:
            cand[s].update(d[s]['kw'])
    for s in SECS:
        f = f'/tmp/hk/scan/{v}.{s}.tsv'
        if s in MISSING.get(v, ()):
            continue
        for f in (f, f.replace('.tsv', '.2.tsv')):
          if not os.path.exists(f):
            continue
          for l in open(f):
                w, c, m = (l.rstrip('\n').split('\t') + ['', ''])[:3]
                if c != 'unknown':
                    cand[s].add(w)
# sub-keyword lists reported by the binaries' own error messages
subs = {
 'timeout': 'client server connect check queue handshake http-keep-alive http-request tunnel tarpit client-fin server-fin client-hs',
 'stats': 'admin uri realm auth scope enable hide-version show-node show-desc show-legends show-modules http-request',
 'http-check': 'disable-on-404 send-state comment connect send expect set-var-fmt set-var unset-var',
 'tcp-check': 'comment connect send send-lf send-binary send-binary-lf expect set-var-fmt set-var unset-var',
 'tcp-request': 'inspect-delay connection content session', 'tcp-response': 'inspect-delay content',
 'external-check': 'command path', 'stick': 'on match store-request store-response', 'monitor': 'fail',
 'rate-limit': 'sessions', 'declare': 'capture', 'persist': 'rdp-cookie',
 'email-alert': 'from level mailers myhostname to',
}
for t in PROX:
    for p, ws in subs.items():
        for w in ws.split():
            cand[t].add(f'{p} {w}')
    cand[t].update(['capture cookie', 'capture request header', 'capture response header'])
    opts = sorted(k for k in cand[t] if k.startswith('option '))
    for o in opts:
        cand[t].add('no ' + o); cand[t].add('default ' + o)
    cand[t].update(['no log', 'default log'])
for w in 'socket maxconn bind-process timeout'.split():
    cand['global'].add('stats ' + w)
for k in list(cand['global']):
    if not k.startswith(('no ', 'default ')) and ' ' not in k:
        cand['global'].add('no ' + k); cand['global'].add('default ' + k)
cand['resolvers'].update(['timeout resolve', 'timeout retry'])
cand['mailers'].add('timeout mail')
cand['ring'].update(['timeout connect', 'timeout server'])
cand['log-forward'].update(['timeout client', 'option assume-rfc6587-ntf', 'option dont-parse-log', 'option host',
                            'no option assume-rfc6587-ntf', 'no option dont-parse-log', 'no option host'])
for s in ('fcgi-app', 'program'):
    for k in list(cand[s]):
        if k.startswith('option '):
            cand[s].add('no ' + k)
# drop bare prefix words and placeholders
bad = {'timeout', 'stats', 'option', 'tcp-request', 'tcp-response', 'http-check', 'tcp-check', 'stick', 'capture',
       'email-alert', 'external-check', 'monitor', 'persist', 'rate-limit', 'declare', 'no', 'default'}
for s in cand:
    if s in PROX:
        cand[s] = {k for k in cand[s] if k not in bad}
    elif s == 'global':
        cand[s] = {k for k in cand[s] if k != 'stats'}
    else:
        cand[s] = {k for k in cand[s] if k not in ('timeout', 'option')}
out = {s: sorted(v) for s, v in cand.items()}
json.dump(out, open('/tmp/hk/candidates.json', 'w'), indent=1)
print({s: len(v) for s, v in out.items()})
