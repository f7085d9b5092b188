#!/usr/bin/env python3
"""Probe HAProxy binaries: is a (section, directive) line known to the parser?"""
import os, re, subprocess, tempfile, json, sys
from concurrent.futures import ThreadPoolExecutor

ROOT = {'2.6': '', '3.0': '/var/lib/sockproxy-gen/chroots/trixie', '3.2': '/var/lib/sockproxy-gen/chroots/sid'}
HDR = {'global': 'global', 'defaults': 'defaults dflt', 'frontend': 'frontend fe', 'backend': 'backend be',
       'listen': 'listen li', 'userlist': 'userlist ul', 'peers': 'peers pr', 'mailers': 'mailers ml',
       'resolvers': 'resolvers rs', 'cache': 'cache ca', 'program': 'program pg', 'http-errors': 'http-errors he',
       'ring': 'ring rg', 'log-forward': 'log-forward lf', 'fcgi-app': 'fcgi-app fa', 'crt-store': 'crt-store cs',
       'traces': 'traces', 'acme': 'acme ac', 'log-profile': 'log-profile lp', 'namespace_list': 'namespace_list'}
SENT = 'zzqqsentinel'

def preamble(ver, expose=True):
    if not expose:
        return []
    p = ['global', '    expose-experimental-directives']
    if ver != '2.6':
        p.append('    expose-deprecated-directives')
    return p

def run_cfg(ver, text):
    root = ROOT[ver]
    d = (root or '') + '/tmp'
    fd, path = tempfile.mkstemp(prefix='kwprobe.', suffix='.cfg', dir=d)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    inner = '/tmp/' + os.path.basename(path)
    cmd = (['chroot', root] if root else []) + ['haproxy', '-c', '-f', inner]
    try:
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, text=True, errors='replace')
        out = r.stdout
    finally:
        os.unlink(path)
    return out

MSG = re.compile(r'^\[(\w+)\]\s*\(\d+\)\s*:\s*(?:config\s*:\s*)?(?:parsing\s*)?\[[^\]:]*:(\d+)\]\s*:?\s*(.*)$')

def parse(out):
    res = {}
    for l in re.split(r'\n|(?=\[(?:ALERT|WARNING|NOTICE|DIAG)\]\s*\(\d+\))', out):
        m = MSG.match(l.strip())
        if m:
            res.setdefault(int(m.group(2)), []).append((m.group(1), m.group(3).strip()))
    return res

def probe_batch(ver, section, lines, expose=True):
    """returns {line_text: [(level,msg),...]} or None if parsing stopped before the sentinel"""
    pre = preamble(ver, expose) if section != 'global' else []
    body = pre + [HDR[section]]
    if section == 'global' and expose:
        body += preamble(ver)[1:]
    start = len(body) + 1
    body += ['    ' + l for l in lines] + ['    ' + SENT]
    out = run_cfg(ver, '\n'.join(body) + '\n')
    msgs = parse(out)
    sent_line = start + len(lines)
    if sent_line not in msgs:
        return None, out
    return {l: msgs.get(start + i, []) for i, l in enumerate(lines)}, out

def probe_one(ver, section, line, expose=True):
    pre = preamble(ver, expose) if section != 'global' else []
    body = pre + [HDR[section]]
    if section == 'global' and expose:
        body += preamble(ver)[1:]
    n = len(body) + 1
    body.append('    ' + line)
    out = run_cfg(ver, '\n'.join(body) + '\n')
    msgs = parse(out)
    # messages attached to other lines (e.g. section-level) are kept separately
    return msgs.get(n, []), [m for k, v in msgs.items() if k != n for m in v], out

def probe_many(ver, section, lines, batch=30, workers=4):
    """batch mode with fallback to single-line mode"""
    results = {}
    chunks = [lines[i:i+batch] for i in range(0, len(lines), batch)]
    def work(ch):
        r, _ = probe_batch(ver, section, ch)
        if r is None:
            r = {}
            for l in ch:
                m, _, _ = probe_one(ver, section, l)
                r[l] = m
        return r
    with ThreadPoolExecutor(workers) as ex:
        for r in ex.map(work, chunks):
            results.update(r)
    return results

GENERIC_UNK = [r"out of section", r"'stick' expects 'on', 'match', or 'store'",
    r"'capture' expects 'cookie' or 'request header' or 'response header'", r"unknown persist method",
    r"'timeout' expects '(mail|retry)", r"negation/default currently supported only",
    r"negation(/default)? is not supported for option",
    r"'option' expects an option name", r"'tcp-request' expects 'inspect-delay'", r"'tcp-response' expects 'inspect-delay'",
    r"only supports 'fail'", r"unknown declaration type", r"only supports 'sessions'", r"only available in frontend or listen section"]
GEN = re.compile('|'.join('(?:%s)' % x for x in GENERIC_UNK))
WORDQ = re.compile(r"(?:unknown keyword|unknown option|unknown statement|Unknown keyword|unknown argument|unknown stats parameter|got|unknown keyword:?)\s*'([^']*)'", re.I)
REMOVED = re.compile(r"not supported any ?more|no longer supported|has been removed|was removed|is not supported anymore", re.I)
IGN = re.compile(r"ignored because|no frontend capability|no backend capability|is ignored in|ignored in (backend|frontend|defaults)|not supported in (backend|frontend|defaults)", re.I)

def classify(line, msgs):
    words = set(re.sub(r'\(.*?\)', '', w) for w in line.split()) | set(line.split())
    alerts = [m for lv, m in msgs if lv == 'ALERT']
    warns = [m for lv, m in msgs if lv == 'WARNING']
    for m in alerts + warns:
        if REMOVED.search(m):
            return 'removed', m
    for m in alerts:
        for w in WORDQ.findall(m):
            if w in words:
                return 'unknown', m
        if GEN.search(m):
            return 'unknown', m
    for m in alerts + warns:
        if IGN.search(m):
            return 'ignored-in-section', m
    return 'known', (alerts + warns + [''])[0]

if __name__ == '__main__':
    ver, section = sys.argv[1], sys.argv[2]
    lines = [l.strip() for l in sys.stdin if l.strip()]
    res = probe_many(ver, section, lines)
    for l in lines:
        c, m = classify(l, res[l])
        print(f'{l}\t{c}\t{m}')
