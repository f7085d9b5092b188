"""EFFECT classification. Returns (effect, note)."""
import re
PROX = {'defaults', 'frontend', 'listen', 'backend'}

# ---- proxy sections -------------------------------------------------------
PROXY_ROUTING = {
 'acl': 'named conditions used by routing rules',
 'balance': 'selects the server within the backend',
 'bind': 'defines who can connect (address/unix socket, its mode/user/group, accept-proxy, ssl verify)',
 'cookie': 'cookie persistence selects the server; rewrite/prefix modes alter the Cookie header sent to the server',
 'default-server': 'defaults of server lines (address options, redir, send-proxy, ssl ...)',
 'default_backend': 'selects the backend',
 'dispatch': 'defines the destination address',
 'dynamic-cookie-key': 'cookie persistence selects the server',
 'force-persist': 'persistence overrides server state',
 'ignore-persist': 'persistence is disabled by condition',
 'hash-balance-factor': 'changes the server chosen by consistent hashing',
 'hash-type': 'changes the server chosen by hashing algorithms',
 'hash-preserve-affinity': 'changes the server chosen by hashing algorithms',
 'http-request': 'request rules: allow/deny/redirect/return/rewrite/set-var/use-service ...',
 'http-response': 'response rules; can set session variables, maps, ACL entries and stick counters read by later requests (safe side)',
 'http-after-response': 'can set session variables read by later requests (safe side)',
 'load-server-state-from-file': 'server addresses and admin states are loaded from a state file',
 'mode': 'tcp mode disables all HTTP inspection (everything is forwarded as a byte stream)',
 'monitor fail': 'monitor-uri answers locally, never forwarded',
 'monitor-uri': 'matching requests are answered locally and never forwarded',
 'option accept-invalid-http-request': 'lets malformed requests through to the server',
 'option accept-unsafe-violations-in-http-request': 'lets malformed requests through to the server',
 'option allbackups': 'changes which servers are used',
 'option forwardfor': 'adds a header to every forwarded request; the header name is an argument (safe side)',
 'option forwarded': 'adds a header to every forwarded request',
 'option originalto': 'adds a header to every forwarded request; the header name is an argument (safe side)',
 'option http-restrict-req-hdr-names': 'rejects or deletes request headers',
 'option http-drop-request-trailers': 'removes request trailers before forwarding',
 'option persist': 'keeps sending to a server marked down',
 'option prefer-last-server': 'changes the server chosen',
 'option redispatch': 'a request may be re-sent to another server',
 'option transparent': 'forwards to the original destination address instead of a server',
 'transparent': 'forwards to the original destination address instead of a server',
 'persist rdp-cookie': 'selects the server from the RDP cookie',
 'quic-initial': 'rules accepting/rejecting QUIC connections',
 'redirect': 'requests are answered with a redirect instead of being forwarded',
 'retry-on': 'a request may be replayed to the server (or to another one with redispatch)',
 'server': 'defines where requests go',
 'server-template': 'defines where requests go',
 'stick match': 'selects the server from a stick table', 'stick on': 'selects the server from a stick table',
 'stick store-request': 'feeds server persistence', 'stick store-response': 'feeds server persistence',
 'stick-table': 'stick tables feed persistence and counters used by rules (safe side)',
 'tcp-request connection': 'connection rules: accept/reject/set-src/track-sc ...',
 'tcp-request session': 'session rules: accept/reject/set-var ...',
 'tcp-request content': 'content rules: accept/reject/switch-mode/use-service/set-var ...',
 'tcp-request inspect-delay': 'changes what tcp-request content rules see (safe side)',
 'tcp-response content': 'response rules; can set variables/counters read by later requests (safe side)',
 'tcp-response inspect-delay': 'changes what tcp-response content rules see (safe side)',
 'use-server': 'selects the server', 'use_backend': 'selects the backend',
 'use-fcgi-app': 'requests are translated to FastCGI for the server',
 'http-send-name-header': 'adds a header to every forwarded request; the header name is an argument',
 'unique-id-header': 'adds a header to every forwarded request; the header name is an argument',
 'http-check send': 'health-check requests sent to the servers (method/URI/headers/body are arguments)',
 'http-check connect': 'health checks may connect to another address/port and send data',
 'http-check send-state': 'adds a header to health-check requests',
 'tcp-check connect': 'health checks may connect to another address/port',
 'tcp-check send': 'health-check data sent to the servers', 'tcp-check send-lf': 'health-check data sent to the servers',
 'tcp-check send-binary': 'health-check data sent to the servers',
 'tcp-check send-binary-lf': 'health-check data sent to the servers',
 'option httpchk': 'health-check requests sent to the servers (method/URI are arguments)',
 'option ldap-check': 'health-check data sent to the servers', 'option mysql-check': 'health-check data sent to the servers',
 'option pgsql-check': 'health-check data sent to the servers', 'option redis-check': 'health-check data sent to the servers',
 'option smtpchk': 'health-check data sent to the servers', 'option ssl-hello-chk': 'health-check data sent to the servers',
 'option spop-check': 'health-check data sent to the servers', 'option tcp-check': 'health-check data sent to the servers',
}
PROXY_LUA = {
 'filter': 'filters (spoe, opentracing, trace, compression, cache, fcgi-app, bwlim) run code/agents whose effect is not modelled',
 'option external-check': 'runs an external program as health check',
 'external-check command': 'runs an external program as health check',
 'external-check path': 'PATH of the external health-check program',
}
PROXY_NOTE_INERT = {
 'errorfile': 'only changes locally generated error responses',
 'errorfiles': 'only changes locally generated error responses',
 'errorloc': 'only changes locally generated error responses', 'errorloc302': 'only changes locally generated error responses',
 'errorloc303': 'only changes locally generated error responses', 'http-error': 'only changes locally generated error responses',
 'source': 'source address/interface of server connections; destination unchanged',
 'server-state-file-name': 'names the file; loading is decided by load-server-state-from-file',
 'option http-buffer-request': 'waits for the body before evaluating rules; body-dependent conditions are runtime data',
 'retries': 'count of retries; replay to the server is governed by retry-on',
 'unique-id-format': 'format of the unique id; it reaches the server only through unique-id-header',
 'stats socket': '',
}

def proxy_effect(kw, ver):
    base = re.sub(r'^(no|default) ', '', kw)
    if base.startswith('stats '):
        return 'routing', 'any stats keyword enables the stats page, which answers matching URIs locally (never forwarded)'
    if base == 'compression':
        if ver == '2.6':
            return 'inert', 'response compression only in 2.6'
        return 'routing', 'since 3.0 "compression direction request|both" re-encodes request bodies sent to the server'
    if base in PROXY_LUA:
        return 'lua', PROXY_LUA[base]
    if base in PROXY_ROUTING:
        return 'routing', PROXY_ROUTING[base]
    return 'inert', PROXY_NOTE_INERT.get(base, '')

# ---- global -----------------------------------------------------------------
GLOBAL_ROUTING = {
 'set-var': 'process-wide variables read by rules', 'set-var-fmt': 'process-wide variables read by rules',
 'setenv': 'changes the expansion of "$VAR" in the following lines', 'presetenv': 'changes the expansion of "$VAR" in the following lines',
 'resetenv': 'changes the expansion of "$VAR" in the following lines', 'unsetenv': 'changes the expansion of "$VAR" in the following lines',
 'default-path': 'base of relative paths (ACL/map/error files) in the following lines',
 'stats socket': 'runtime API: can change ACLs, maps, servers and their addresses/states at run time',
 'unix-bind': 'prefix/mode/owner of UNIX listening sockets: who can connect',
 'h1-accept-payload-with-any-method': 'lets HTTP/1 requests with a body on GET/HEAD/DELETE through',
 'h1-do-not-close-on-insecure-transfer-encoding': 'relaxes a request-smuggling safeguard (safe side)',
 'dns-accept-family': 'changes the server address picked by DNS resolution (safe side)',
}
GLOBAL_LUA = {'lua-load': 'loads Lua code', 'lua-load-per-thread': 'loads Lua code', 'lua-prepend-path': 'changes which Lua modules are loaded'}
GLOBAL_NOTE = {'server-state-file': 'names the file; loading is decided per backend by load-server-state-from-file',
               'server-state-base': 'names the directory; loading is decided per backend by load-server-state-from-file',
               'external-check': 'only allows external checks; the program is set by the proxy keyword external-check command (lua)',
               'insecure-fork-wanted': 'only allows forking', 'stats timeout': '', 'stats maxconn': ''}

def global_effect(kw, ver):
    base = re.sub(r'^(no|default) ', '', kw)
    if base in GLOBAL_LUA:
        return 'lua', GLOBAL_LUA[base]
    if base in GLOBAL_ROUTING:
        return 'routing', GLOBAL_ROUTING[base]
    return 'inert', GLOBAL_NOTE.get(base, '')

OTHER = {
 'userlist': {'user': ('routing', 'credentials accepted by http_auth/http-request auth'),
              'group': ('routing', 'groups tested by http_auth_group')},
 'peers': {'table': ('routing', 'declares a stick table (as stick-table)')},
 'resolvers': {'nameserver': ('routing', 'DNS servers resolving server addresses'),
               'parse-resolv-conf': ('routing', 'DNS servers resolving server addresses')},
 'fcgi-app': {'acl': ('routing', 'conditions of set-param/pass-header'), 'docroot': ('routing', 'FastCGI parameters sent to the server'),
              'index': ('routing', 'FastCGI parameters sent to the server'), 'path-info': ('routing', 'FastCGI parameters sent to the server'),
              'pass-header': ('routing', 'headers passed to the server'), 'set-param': ('routing', 'FastCGI parameters sent to the server')},
 'program': {'command': ('lua', 'runs an external program (not modelled)')},
}

def effect(section, kw, ver):
    if section in PROX:
        return proxy_effect(kw, ver)
    if section == 'global':
        return global_effect(kw, ver)
    base = re.sub(r'^(no|default) ', '', kw)
    return OTHER.get(section, {}).get(base, ('inert', ''))
