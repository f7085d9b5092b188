#!/usr/bin/env python3
"""Extract per-section keyword lists from HAProxy configuration.txt manuals."""
import re, json, sys
sys.path.insert(0, '/tmp/hk/py')
from entries import sections, entries

MAN = {'2.6': '/tmp/hk/man/2.6.12-1+deb12u4.txt',
       '3.0': '/tmp/hk/man/3.0.11-1+deb13u4.txt',
       '3.2': '/tmp/hk/man/3.2.26-1.txt'}
PROXIES = ['defaults', 'frontend', 'listen', 'backend']

# first words whose following word is a fixed sub-keyword, per section class
PREFIX = {
 'proxy': {'option', 'timeout', 'stats', 'tcp-request', 'tcp-response', 'http-check', 'tcp-check',
           'stick', 'email-alert', 'external-check', 'monitor', 'persist', 'rate-limit', 'declare',
           'capture'},
 'global': {'stats'},
 'resolvers': {'timeout'}, 'ring': {'timeout'}, 'mailers': {'timeout'},
 'log-forward': {'timeout', 'option'}, 'fcgi-app': {'option'}, 'program': {'option'},
}

def is_arg(w):
    return w[:1] in '<[{(|"' or w in ('|',) or w.startswith('.')

def norm(header, cls):
    """directive header line -> keyword per the multi-word rule"""
    h = re.sub(r'\s*\((deprecated|experimental)\)\s*', ' ', header)
    words = h.split()
    out = []
    if words and words[0] in ('no', 'default'):
        out.append(words.pop(0))
    if not words:
        return None
    w0 = re.sub(r'\(.*$', '', words[0])
    out.append(w0)
    pre = PREFIX.get(cls, set())
    if w0 in pre and len(words) > 1 and not is_arg(words[1]):
        w1 = re.sub(r'\(.*$', '', words[1])
        out.append(w1)
        if w0 == 'capture' and w1 in ('request', 'response') and len(words) > 2:
            out.append(words[2])
    return ' '.join(out)

def body_of(lines, i, end):
    j = i + 1
    while j < end and lines[j] and lines[j][0] not in ' \t':
        j += 1
    k = j
    while k < end:
        l = lines[k]
        if l and l[0] not in ' \t' and lines[k-1].strip() == '':
            break
        k += 1
    return lines[j:k]

DEPR_RE = re.compile(r'^\s+Deprecated\.|keyword is deprecated|directive is deprecated|option is deprecated|This (keyword|directive|option|section) is deprecated', re.M)

def add(tab, sec, kw, src, flags=()):
    d = tab.setdefault(sec, {}).setdefault(kw, {'src': set(), 'flags': set()})
    d['src'].add(src)
    d['flags'].update(flags)

def extract(ver):
    lines = open(MAN[ver], encoding='utf-8', errors='replace').read().split('\n')
    secs = sections(lines)
    bynum = {n: (t, s, e) for n, t, s, e in secs}
    tab = {}
    def find(title_re):
        for n, t, s, e in secs:
            if re.search(title_re, t, re.I):
                return n, t, s, e
        return None
    # ---- global: index list in section 3 + entries of its subsections
    n3, t3, s3, e3 = [x for x in secs if x[0] == '3'][0]
    for l in lines[s3:e3]:
        m = re.match(r'^   - (\S+)(.*)$', l)
        if m:
            fl = {'deprecated'} if 'deprecated' in m.group(2) else set()
            add(tab, 'global', m.group(1), 'manual-index', fl)
    gsubs = [x for x in secs if re.match(r'^3\.\d+$', x[0]) and re.search(
        r'Process management|Performance tuning|Debugging|HTTPClient', x[1])]
    for n, t, s, e in gsubs:
        for i, l in entries(lines, s, e):
            kw = norm(l, 'global')
            if not kw or not re.match(r'^[a-z0-9]', kw):
                continue
            body = '\n'.join(body_of(lines, i, e))
            fl = set()
            if '(deprecated)' in l or DEPR_RE.search(body):
                fl.add('deprecated')
            add(tab, 'global', kw, 'manual-ref ' + n, fl)
    # ---- proxies: matrix
    n, t, s, e = find(r'^Proxy keywords matrix')
    mre = re.compile(r'^(\S.*?)\s{2,}(\(\*\)|\(deprecated\))?\s*([X-])\s*(\(!\))?\s+([X-])\s+([X-])\s+([X-])\s*$')
    for l in lines[s:e]:
        m = mre.match(l)
        if not m or m.group(1).startswith('keyword'):
            continue
        kw = m.group(1).strip()
        kw = re.sub(r'\s*\(deprecated\)$', '', kw)
        cols = [m.group(3), m.group(5), m.group(6), m.group(7)]
        fl = set()
        if m.group(2) == '(deprecated)' or '(deprecated)' in m.group(1):
            fl.add('deprecated')
        for sec, c in zip(PROXIES, cols):
            if c == 'X':
                f2 = set(fl)
                if sec == 'defaults' and m.group(4):
                    f2.add('named-defaults-only')
                add(tab, sec, kw, 'manual-matrix', f2)
                if m.group(2) == '(*)':
                    add(tab, sec, 'no ' + kw, 'manual-matrix(*)', f2)
    # ---- proxies: 4.2 reference entries with "May be used in sections"
    n, t, s, e = find(r'^Alphabetically sorted keywords reference')
    ents = entries(lines, s, e)
    for i, l in ents:
        kw = norm(l, 'proxy')
        if not kw or not re.match(r'^[a-z0-9]', kw):
            continue
        body = body_of(lines, i, e)
        use = None
        for k, bl in enumerate(body):
            if 'May be used in sections' in bl:
                for nb in body[k+1:k+3]:
                    ws = re.findall(r'\b(yes|no)\b', nb)
                    if len(ws) == 4:
                        use = ws
                        break
                break
        if use is None:
            print(f'WARN {ver}: no section table for 4.2 entry line {i+1}: {l}', file=sys.stderr)
            fl = {'deprecated'} if '(deprecated)' in l else set()
            add(tab, '@untabled', kw, 'manual-ref ' + n + ' (no section table)', fl)
            continue
        fl = set()
        btxt = '\n'.join(body)
        if '(deprecated)' in l or DEPR_RE.search(btxt):
            fl.add('deprecated')
        for sec, u in zip(PROXIES, use):
            if u == 'yes':
                add(tab, sec, kw, 'manual-ref ' + n, fl)
    # ---- other sections
    others = [
        (r'^Userlists$', 'userlist'), (r'^Peers( declaration)?$', 'peers'), (r'^Mailers$', 'mailers'),
        (r'^Programs', 'program'), (r'^HTTP-errors$', 'http-errors'), (r'^Rings$', 'ring'),
        (r'^Log forwarding$', 'log-forward'), (r'^Certificate Storage$', 'crt-store'),
        (r'resolvers section', 'resolvers'), (r'^Cache section$', 'cache'),
        (r'^Fcgi-app section$', 'fcgi-app'), (r'^Traces$', 'traces'), (r'^ACME$', 'acme'),
        (r'^Log profiles$', 'log-profile')]
    for tre, sec in others:
        r = find(tre)
        if not r:
            continue
        n, t, s, e = r
        fl0 = {'deprecated'} if 'deprecated' in t.lower() else set()
        for i, l in entries(lines, s, e):
            if not re.match(r'^[a-z0-9_.-]+( |$)', l) or l.startswith('the '):
                continue
            kw = norm(l, sec)
            if kw == sec or (sec == 'userlist' and kw == 'userlist'):
                add(tab, '@section', sec, 'manual-ref ' + n, fl0)
                continue
            add(tab, sec, kw, 'manual-ref ' + n, fl0)
        if sec not in tab.get('@section', {}):
            add(tab, '@section', sec, 'manual-ref ' + n, fl0)
    return tab

if __name__ == '__main__':
    out = {}
    for v in MAN:
        tab = extract(v)
        out[v] = {s: {k: {'src': sorted(d['src']), 'flags': sorted(d['flags'])} for k, d in sorted(kws.items())}
                  for s, kws in sorted(tab.items())}
    json.dump(out, open('/tmp/hk/manual.json', 'w'), indent=1)
    for v in out:
        print(v, {s: len(k) for s, k in out[v].items()})
