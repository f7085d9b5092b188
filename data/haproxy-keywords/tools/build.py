#!/usr/bin/env python3
"""Assemble the keyword tables from manual extraction + binary probes."""
import json, re, sys, os, collections
sys.path.insert(0, '/tmp/hk/py')
from effects import effect
OUT = sys.argv[1] if len(sys.argv) > 1 else '/tmp/hk/out'
os.makedirs(OUT, exist_ok=True)
man = json.load(open('/tmp/hk/manual.json'))
pr = json.load(open('/tmp/hk/probe_results.json'))
flags = json.load(open('/tmp/hk/probe_flags.json'))
VERS = ['2.6', '3.0', '3.2']
ORDER = ['global', 'defaults', 'frontend', 'listen', 'backend', 'userlist', 'peers', 'mailers', 'resolvers', 'cache',
         'program', 'http-errors', 'ring', 'log-forward', 'fcgi-app', 'crt-store', 'traces', 'acme', 'log-profile']
PROX = ['defaults', 'frontend', 'listen', 'backend']

REMOVED = re.compile(r"not supported any ?more|no longer supported|has been removed|was removed|doesn't exist anymore", re.I)
NOTALLOWED = re.compile(r"not allowed in '[^']+' section|is not allowed because|only allowed after|only available in frontend or listen section", re.I)
IGNORED = re.compile(r"ignored because|no frontend capability|no backend capability|is ignored in|will be ignored for", re.I)
GEN = re.compile('|'.join('(?:%s)' % x for x in [
    r"out of section", r"'stick' expects 'on', 'match', or 'store'",
    r"'capture' expects 'cookie' or 'request header' or 'response header'", r"unknown persist method",
    r"'timeout' expects '(mail|retry)", r"negation/default currently supported only",
    r"negation(/default)? is not supported for option", r"'option' expects an option name",
    r"'tcp-request' expects 'inspect-delay'", r"'tcp-response' expects 'inspect-delay'",
    r"only supports 'fail'", r"unknown declaration type", r"only supports 'sessions'"]))
WORDQ = re.compile(r"(?:unknown keyword|unknown option|unknown statement|Unknown keyword|unknown argument|unknown stats parameter|got)\s*'([^']*)'", re.I)

def classify(k, msgs):
    words = set(re.sub(r'\(.*?\)', '', w) for w in k.split()) | set(k.split())
    al = [m for lv, m in msgs if lv == 'ALERT']
    wa = [m for lv, m in msgs if lv == 'WARNING']
    for m in al + wa:
        if REMOVED.search(m):
            return 'removed', m
    for m in al:
        if any(w in words for w in WORDQ.findall(m)) or GEN.search(m):
            return 'unknown', m
        if NOTALLOWED.search(m):
            return 'not-allowed', m
    if k.startswith(('no ', 'default ')) and al:
        return 'refused', al[0]
    for m in al + wa:
        if IGNORED.search(m):
            return 'ignored', m
    return 'known', (al + wa + [''])[0]

BUILD = [(r'^51degrees-', 'USE_51DEGREES'), (r'^deviceatlas-', 'USE_DEVICEATLAS'), (r'^wurfl-', 'USE_WURFL'),
         (r'^ssl-engine$', 'USE_ENGINE'), (r'^profiling\.memory$', 'USE_MEMORY_PROFILING'), (r'^tune\.zlib\.', 'USE_ZLIB'),
         (r'^tune\.quic\.', 'USE_QUIC'), (r'^debug\.counters$', 'DEBUG_COUNTERS')]
def build_flag(k):
    for r, f in BUILD:
        if re.search(r, re.sub(r'^(no|default) ', '', k)):
            return f
    return None

EXISTS = {'2.6': [s for s in ORDER if s not in ('crt-store', 'traces', 'acme', 'log-profile')],
          '3.0': [s for s in ORDER if s not in ('traces', 'acme', 'log-profile')], '3.2': ORDER}

COUNTERPART = {'option accept-invalid-http-request': 'option accept-unsafe-violations-in-http-request',
               'no option accept-invalid-http-request': 'no option accept-unsafe-violations-in-http-request',
               'option accept-invalid-http-response': 'option accept-unsafe-violations-in-http-response',
               'no option accept-invalid-http-response': 'no option accept-unsafe-violations-in-http-response'}
import dk as _dk
FLAGOPTS = {v: set(_dk.parse(f'/tmp/hk/dk/{v}.cfg')['listen']['option']) for v in VERS}
def doc_set(v, s):
    d = {k: x for k, x in man[v].get(s, {}).items() if re.match(r'^[a-z0-9]', k)}
    if s == 'global':
        d.pop('stats', None)
    if s == 'resolvers' and 'timeout' in d:
        x = d.pop('timeout')
        d['timeout resolve'] = x; d['timeout retry'] = x
    return d

tables, status, disagreements = {}, [], []
for v in VERS:
    rows = []
    docs_any = set()
    for s in ORDER:
        docs_any |= set(doc_set(v, s)) if s in man[v] else set()
    for s in EXISTS[v]:
        D = doc_set(v, s)
        UNT = man[v].get('@untabled', {}) if s in PROX else {}
        P = pr[v].get(s, {})
        F = flags[v].get(s, {})
        keys = sorted(set(D) | set(P))
        for k in keys:
            if k not in P:
                disagreements.append((v, s, k, 'manual lists it; not probed'))
                continue
            c, m = classify(k, P[k][2])
            doc = k in D
            bf = build_flag(k)
            derived = None
            if s in PROX and not doc:
                if k.startswith('default ') and ('no ' + k[8:]) in D:
                    derived = 'the "default" prefix is accepted wherever "no" is (manual 4.1 prose)'
                elif not any(k in doc_set(v, t) for t in PROX) and [w for w in VERS if k in doc_set(w, s)]:
                    ws = [w for w in VERS if k in doc_set(w, s)]
                    derived = f'not in the {v} manual; documented for this section in the {"/".join(ws)} manual and accepted by the {v} binary'
                elif k in UNT:
                    cp = COUNTERPART.get(k, k)
                    if cp in D or any(cp in doc_set(w, s) for w in VERS):
                        derived = f'manual entry without section table; sections taken from "{cp}"'
            include = False
            mo = re.match(r'^(?:(no|default) )?option (\S+)$', k)
            if s in PROX and mo and mo.group(2) in FLAGOPTS[v]:
                # flag options take no argument: the argument-less probe is authoritative for the section
                if c == 'known':
                    rows.append((s, k, effect(s, k, v)[0]))
                    if not doc and not derived:
                        disagreements.append((v, s, k, 'flag option accepted silently by the binary in this section; the manual matrix does not list it here (included)'))
                        status.append((v, s, k, 'undocumented-in-section', 'flag option accepted by the binary here; the manual matrix does not list this section'))
                    elif derived:
                        status.append((v, s, k, 'derived', derived))
                    fl = set(D.get(k, {}).get('flags', [])) | set(UNT.get(k, {}).get('flags', []))
                    if 'deprecated' in fl or (k in F and 'deprecated' in F[k][0]):
                        status.append((v, s, k, 'deprecated', ('manual' if 'deprecated' in fl else 'binary') + (': ' + F[k][1][0][1] if k in F else '')))
                else:
                    if doc:
                        disagreements.append((v, s, k, f'manual lists it for this section; binary: {c}: {m} (excluded: flag option, binary is authoritative)'))
                    if c == 'ignored':
                        status.append((v, s, k, 'ignored', m))
                continue
            if c == 'known' and (doc or derived or s not in PROX):
                include = True
            elif c == 'ignored' and doc:
                include = True
                disagreements.append((v, s, k, f'manual lists it for this section; binary ignores it with a warning: {m}'))
            elif c == 'unknown' and doc and bf:
                include = True
                status.append((v, s, k, 'build-option', f'documented; refused by the Debian binary (built without {bf})'))
            elif doc and c != 'ignored':
                disagreements.append((v, s, k, f'manual lists it for this section; binary: {c}: {m}'))
            if c == 'removed' and not k.startswith(('no ', 'default ')):
                status.append((v, s, k, 'removed', m))
            if c == 'ignored' and not doc:
                status.append((v, s, k, 'ignored', m))
            if s in PROX and c == 'known' and not doc and not derived and not k.startswith('default ') and not any(k in doc_set(v, t) for t in PROX) and k not in UNT:
                disagreements.append((v, s, k, f'binary knows it (no "unknown keyword" error) but the manual documents it for no proxy section; not included: {m}'))
            if not include:
                continue
            eff, note = effect(s, k, v)
            rows.append((s, k, eff))
            fl = set(D.get(k, {}).get('flags', [])) | set(UNT.get(k, {}).get('flags', []))
            if 'deprecated' in fl or (k in F and 'deprecated' in F[k][0]):
                src = 'manual' if 'deprecated' in fl else ''
                if k in F and 'deprecated' in F[k][0]:
                    src = (src + '+binary') if src else 'binary'
                    src += ': ' + F[k][1][0][1]
                status.append((v, s, k, 'deprecated', src))
            if k in F and 'experimental' in F[k][0]:
                status.append((v, s, k, 'experimental', F[k][1][0][1]))
            if 'named-defaults-only' in fl:
                status.append((v, s, k, 'named-defaults-only', 'manual matrix (!): refused in anonymous defaults'))
            if derived:
                status.append((v, s, k, 'derived', derived))
            elif not doc:
                if k in docs_any:
                    status.append((v, s, k, 'undocumented-in-section', 'accepted by the binary here; the manual documents it for other sections'))
                else:
                    status.append((v, s, k, 'undocumented', 'accepted by the binary; not in the manual'))
                    disagreements.append((v, s, k, 'binary accepts it; manual does not list it'))
    tables[v] = rows

def sort_key(r):
    return (ORDER.index(r[0]), r[1])
PKG = {'2.6': 'haproxy 2.6.12-1+deb12u4 (Debian 12 bookworm-security)', '3.0': 'haproxy 3.0.11-1+deb13u4 (Debian 13 trixie)',
       '3.2': 'haproxy 3.2.26-1 (Debian sid)'}
DATE = '2026-11-30'
for v in VERS:
    with open(f'{OUT}/{v}.txt', 'w') as f:
        f.write(f"""# HAProxy {v}: every directive accepted in each section type, with its effect on which requests reach a server.
# Source: configuration manual of Debian package {PKG[v]} (/usr/share/doc/haproxy/configuration.txt.gz),
# cross-checked with that package's /usr/sbin/haproxy (-dKcfg and one `haproxy -c` probe per line). See README.md.
# Columns (tab-separated): SECTION, KEYWORD, EFFECT (routing | lua | inert). KEYWORD follows the multi-word rule of README.md.
# Lines starting with '#' are comments. Generated {DATE}.
""")
        for s, k, e in sorted(set(tables[v]), key=sort_key):
            f.write(f'{s}\t{k}\t{e}\n')
pres = collections.defaultdict(dict)
for v in VERS:
    for s, k, e in tables[v]:
        pres[(s, k)][v] = e
with open(f'{OUT}/changes.txt', 'w') as f:
    f.write(f"""# Directives accepted by some but not all of HAProxy 2.6, 3.0 and 3.2 (presence in 2.6.txt, 3.0.txt, 3.2.txt).
# Columns (tab-separated): SECTION, KEYWORD, IN_2.6, IN_3.0, IN_3.2 (yes | no). Reasons are in status.txt. Generated {DATE}.
""")
    for (s, k), d in sorted(pres.items(), key=lambda x: sort_key(x[0])):
        if len(d) != 3:
            f.write(f'{s}\t{k}\t' + '\t'.join('yes' if v in d else 'no' for v in VERS) + '\n')
with open(f'{OUT}/status.txt', 'w') as f:
    f.write(f"""# Per-version status of directives (see README.md, "status.txt"). Generated {DATE}.
# Columns (tab-separated): VERSION, SECTION, KEYWORD, STATUS, DETAIL.
# STATUS: deprecated | experimental | named-defaults-only | build-option | derived | undocumented |
#         undocumented-in-section | removed | ignored. DETAIL quotes HAProxy's own message where there is one.
""")
    for v, s, k, st, d in sorted(set(status), key=lambda x: (x[0], ORDER.index(x[1]) if x[1] in ORDER else 99, x[2], x[3])):
        d = re.sub(r'/tmp/kwprobe\.[^:\]]*', 'probe.cfg', d).replace('\t', ' ')
        f.write(f'{v}\t{s}\t{k}\t{st}\t{d}\n')
# effect reasons
rs = collections.defaultdict(set)
for v in VERS:
    for s, k, e in tables[v]:
        eff, note = effect(s, k, v)
        cls = 'proxy' if s in PROX else s
        rs[(cls, k, eff, note)].add(v)
with open(f'{OUT}/effects.txt', 'w') as f:
    f.write(f"""# Why each directive got its EFFECT (every routing and lua directive, and inert ones that need a note).
# Columns (tab-separated): SECTION (proxy = defaults/frontend/listen/backend), KEYWORD, EFFECT, VERSIONS, REASON.
# "no X" and "default X" share the effect of "X". Generated {DATE}.
""")
    for (cls, k, eff, note), vs in sorted(rs.items(), key=lambda x: (x[0][0] != 'global', x[0][0], x[0][1], x[0][2])):
        if eff == 'inert' and not note:
            continue
        if k.startswith(('no ', 'default ')):
            continue
        f.write(f"{cls}\t{k}\t{eff}\t{','.join(v for v in VERS if v in vs)}\t{note}\n")
json.dump(disagreements, open('/tmp/hk/disagreements.json', 'w'), indent=1)
for v in VERS:
    c = collections.Counter(r[0] for r in tables[v])
    e = collections.Counter(r[2] for r in tables[v])
    print(v, len(tables[v]), dict(e), dict(c))
