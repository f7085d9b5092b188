//! The attack corpus of the body guard (issue 14): create, start and exec bodies that ask for
//! host access in every spelling the daemon's Go decoder reads, and ordinary ones that must
//! pass. Built from parts so the count is large and every case is named.

use std::io::Write;

/// Where a case is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `POST /containers/create?name=NAME`.
    Create,
    /// `POST PREFIX/containers/ID/start` (an old API version reads a HostConfig body).
    Start { prefix: String },
    /// `POST /containers/ID/exec`.
    Exec,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub target: Target,
    /// The raw request, with `{NAME}` and `{ID}` still in the request line.
    pub request: Vec<u8>,
    /// The guard must refuse it (false for the ordinary controls).
    pub dangerous: bool,
    /// The body arrives incomplete: HAProxy answers 408 after its wait (sent apart, slowly).
    pub incomplete: bool,
}

/// The names in a corpus: the network, the container to share namespaces and mounts with.
pub struct Names {
    pub network: String,
    pub other: String,
    pub volume: String,
}

/// Host-config payloads: (name, `"Key":value` text with KEY as the key's place).
fn payloads(n: &Names) -> Vec<(&'static str, &'static str, String)> {
    let other = &n.other;
    let volume = &n.volume;
    let p = |name: &'static str, key: &'static str, value: String| (name, key, value);
    vec![
        p("privileged", "Privileged", "true".into()),
        p("binds-root", "Binds", r#"["/:/host"]"#.into()),
        p("binds-etc-ro", "Binds", r#"["/etc:/x:ro"]"#.into()),
        p(
            "binds-socket-after-volume",
            "Binds",
            format!(r#"["{volume}:/data","/var/run/docker.sock:/s"]"#),
        ),
        p("binds-dot", "Binds", r#"["/./:/host"]"#.into()),
        p(
            "mounts-bind",
            "Mounts",
            r#"[{"Type":"bind","Source":"/","Target":"/host"}]"#.into(),
        ),
        p(
            "mounts-bind-second",
            "Mounts",
            format!(
                r#"[{{"Type":"volume","Source":"{volume}","Target":"/v"}},{{"Target":"/h","Source":"/etc","Type":"bind"}}]"#
            ),
        ),
        p(
            "mounts-volume-local-bind",
            "Mounts",
            format!(
                r#"[{{"Type":"volume","Source":"{volume}x","Target":"/v","VolumeOptions":{{"DriverConfig":{{"Name":"local","Options":{{"type":"none","o":"bind","device":"/"}}}}}}}}]"#
            ),
        ),
        p(
            "mounts-volume-tmpfs-device",
            "Mounts",
            format!(
                r#"[{{"Type":"volume","Source":"{volume}y","Target":"/v","VolumeOptions":{{"DriverConfig":{{"Options":{{"device":"/etc","o":"bind"}}}}}}}}]"#
            ),
        ),
        p("volumes-from", "VolumesFrom", format!(r#"["{other}"]"#)),
        p("volumes-from-rw", "VolumesFrom", format!(r#"["{other}:rw"]"#)),
        p("volume-driver", "VolumeDriver", r#""spg-no-such-driver""#.into()),
        p("network-host", "NetworkMode", r#""host""#.into()),
        p("network-container", "NetworkMode", format!(r#""container:{other}""#)),
        p("pid-host", "PidMode", r#""host""#.into()),
        p("pid-container", "PidMode", format!(r#""container:{other}""#)),
        p("ipc-host", "IpcMode", r#""host""#.into()),
        p("ipc-container", "IpcMode", format!(r#""container:{other}""#)),
        p("uts-host", "UTSMode", r#""host""#.into()),
        p("userns-host", "UsernsMode", r#""host""#.into()),
        p("cgroup-container", "Cgroup", format!(r#""container:{other}""#)),
        p(
            "devices",
            "Devices",
            r#"[{"PathOnHost":"/dev/mem","PathInContainer":"/dev/mem","CgroupPermissions":"rwm"}]"#
                .into(),
        ),
        p(
            "device-requests",
            "DeviceRequests",
            r#"[{"Driver":"","Count":-1,"DeviceIDs":null,"Capabilities":[["gpu"]],"Options":{}}]"#
                .into(),
        ),
        p("device-cgroup-rules", "DeviceCgroupRules", r#"["c *:* rwm"]"#.into()),
        p("capadd-sys-admin", "CapAdd", r#"["SYS_ADMIN"]"#.into()),
        p("capadd-all", "CapAdd", r#"["ALL"]"#.into()),
        p("capadd-prefixed", "CapAdd", r#"["CAP_SYS_PTRACE"]"#.into()),
        p("capadd-lower", "CapAdd", r#"["sys_module"]"#.into()),
        p("capabilities", "Capabilities", r#"["CAP_SYS_ADMIN"]"#.into()),
        p("secopt-seccomp", "SecurityOpt", r#"["seccomp=unconfined"]"#.into()),
        p("secopt-seccomp-colon", "SecurityOpt", r#"["seccomp:unconfined"]"#.into()),
        p("secopt-apparmor", "SecurityOpt", r#"["apparmor=unconfined"]"#.into()),
        p("secopt-label", "SecurityOpt", r#"["label=disable"]"#.into()),
        p("secopt-label-colon", "SecurityOpt", r#"["label:disable"]"#.into()),
        p(
            "secopt-after-nnp",
            "SecurityOpt",
            r#"["no-new-privileges","seccomp=unconfined"]"#.into(),
        ),
        p("sysctls", "Sysctls", r#"{"net.ipv4.ip_forward":"1"}"#.into()),
        p("cgroup-parent", "CgroupParent", r#""/""#.into()),
        p("masked-empty", "MaskedPaths", "[]".into()),
        p("masked-without-kcore", "MaskedPaths", r#"["/proc/asound","/proc/acpi","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"]"#.into()),
        p("masked-kcore-escaped-quote", "MaskedPaths", r#"["/proc/asound","/proc/acpi","x\"/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware"]"#.into()),
        p("readonly-empty", "ReadonlyPaths", "[]".into()),
        p("runtime", "Runtime", r#""spg-no-such-runtime""#.into()),
    ]
}

/// Harmless payloads in the same places: the guard must let them through.
fn controls(n: &Names) -> Vec<(&'static str, &'static str, String)> {
    let volume = &n.volume;
    let network = &n.network;
    let p = |name: &'static str, key: &'static str, value: String| (name, key, value);
    vec![
        p("privileged-false", "Privileged", "false".into()),
        p("binds-volume", "Binds", format!(r#"["{volume}:/data:ro"]"#)),
        p(
            "mounts-volume",
            "Mounts",
            format!(r#"[{{"Type":"volume","Source":"{volume}","Target":"/v"}}]"#),
        ),
        p(
            "mounts-tmpfs",
            "Mounts",
            r#"[{"Type":"tmpfs","Target":"/t"}]"#.into(),
        ),
        p("network-named", "NetworkMode", format!(r#""{network}""#)),
        p("ipc-private", "IpcMode", r#""private""#.into()),
        p("capdrop", "CapDrop", r#"["ALL"]"#.into()),
        p("secopt-nnp", "SecurityOpt", r#"["no-new-privileges:true"]"#.into()),
        p("masked-default", "MaskedPaths", r#"["/proc/asound","/proc/acpi","/proc/kcore","/proc/keys","/proc/latency_stats","/proc/timer_list","/proc/timer_stats","/proc/sched_debug","/proc/scsi","/sys/firmware","/proc/extra"]"#.into()),
    ]
}

/// The spellings of a key the decoder reads as the same key.
fn key_variants(key: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("as-is", key.to_string()),
        ("lower", key.to_ascii_lowercase()),
        ("upper", key.to_ascii_uppercase()),
        (
            "mixed",
            key.chars()
                .enumerate()
                .map(|(i, c)| {
                    if i % 2 == 0 {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect(),
        ),
    ];
    // Go folds U+017F to s and U+212A to k: "Bindſ" is "Binds" to the decoder.
    if key.contains(['s', 'S', 'k', 'K']) {
        out.push((
            "folding-letter",
            key.replace(['s', 'S'], "\u{17f}")
                .replace(['k', 'K'], "\u{212a}"),
        ));
    }
    // The first letter as a \u escape.
    let mut chars = key.chars();
    let first = chars.next().unwrap();
    out.push((
        "escaped",
        format!("\\u{:04x}{}", first as u32, chars.as_str()),
    ));
    out
}

fn request(method_path: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "{method_path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

fn chunked(method_path: &str, body: &[u8], size: usize) -> Vec<u8> {
    let mut r = format!(
        "{method_path} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for piece in body.chunks(size) {
        r.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        r.extend_from_slice(piece);
        r.extend_from_slice(b"\r\n");
    }
    r.extend_from_slice(b"0\r\n\r\n");
    r
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut child = std::process::Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("gzip");
    child.stdin.take().unwrap().write_all(data).unwrap();
    child.wait_with_output().unwrap().stdout
}

const CREATE: &str = "POST /v1.41/containers/create?name={NAME}";

/// The whole corpus.
pub fn corpus(n: &Names) -> Vec<Case> {
    let image = r#""Image":"spg/busybox:latest","Cmd":["true"]"#;
    let net = format!(r#""NetworkMode":"{}""#, n.network);
    let mut cases = Vec::new();
    let mut add = |name: String, target: Target, request: Vec<u8>, dangerous: bool| {
        cases.push(Case {
            name,
            target,
            request,
            dangerous,
            incomplete: false,
        })
    };
    let all: Vec<(bool, (&str, &str, String))> = payloads(n)
        .into_iter()
        .map(|p| (true, p))
        .chain(controls(n).into_iter().map(|p| (false, p)))
        .collect();
    for (dangerous, (pname, key, value)) in &all {
        let dangerous = *dangerous;
        for (vname, k) in key_variants(key) {
            // A spelling the guard refuses as such (escape, folding letter) is refused for a
            // harmless value too.
            let refused_spelling = vname == "escaped" || vname == "folding-letter";
            let kv = format!(r#""{k}":{value}"#);
            let bodies = [
                (
                    "hostconfig",
                    format!(r#"{{{image},"HostConfig":{{{net},{kv}}}}}"#),
                ),
                ("top-level", format!(r#"{{{image},{kv}}}"#)),
                (
                    "top-level-with-hostconfig",
                    format!(r#"{{{image},{kv},"HostConfig":{{{net}}}}}"#),
                ),
                (
                    "duplicate-null-last",
                    format!(r#"{{{image},"HostConfig":{{{net},{kv},"{k}":null}}}}"#),
                ),
                (
                    "hostconfig-key-lower",
                    format!(r#"{{{image},"hostconfig":{{{net},{kv}}}}}"#),
                ),
            ];
            for (place, body) in bodies {
                add(
                    format!("create/{pname}/{vname}/{place}"),
                    Target::Create,
                    request(CREATE, "", body.as_bytes()),
                    dangerous || refused_spelling,
                );
            }
            if dangerous && vname == "as-is" {
                // A harmless value first, the dangerous one last (Go keeps the last).
                let body = format!(r#"{{{image},"HostConfig":{{{net},"{k}":null,{kv}}}}}"#);
                add(
                    format!("create/{pname}/duplicate-dangerous-last"),
                    Target::Create,
                    request(CREATE, "", body.as_bytes()),
                    true,
                );
                // Whitespace everywhere JSON allows it.
                let spaced = format!(
                    "{{ {image} ,\r\n \"HostConfig\" :\t{{ {net} ,\n\t\"{k}\"\r\n :\n {value} \n}} }}"
                );
                add(
                    format!("create/{pname}/whitespace"),
                    Target::Create,
                    request(CREATE, "", spaced.as_bytes()),
                    true,
                );
                // Chunked, the key cut across chunks.
                let body = format!(r#"{{{image},"HostConfig":{{{net},{kv}}}}}"#);
                for size in [1usize, 3, 7] {
                    add(
                        format!("create/{pname}/chunked-{size}"),
                        Target::Create,
                        chunked(CREATE, body.as_bytes(), size),
                        true,
                    );
                }
                // Start with an old API version: the body is a HostConfig.
                for prefix in ["/v1.23", "/v1.19", "/v1.12"] {
                    for (sname, sk) in [("as-is", key.to_string()), ("lower", key.to_lowercase())] {
                        let body = format!(r#"{{"{sk}":{value}}}"#);
                        add(
                            format!("start{prefix}/{pname}/{sname}"),
                            Target::Start {
                                prefix: prefix.into(),
                            },
                            request(
                                &format!("POST {prefix}/containers/{{ID}}/start"),
                                "",
                                body.as_bytes(),
                            ),
                            true,
                        );
                    }
                }
            }
        }
    }
    // Wrong types where a boolean is expected, and other spellings of true.
    for (vname, v) in [
        ("number", "1"),
        ("string", r#""true""#),
        ("array", "[true]"),
        ("object", r#"{"x":true}"#),
        ("float", "1.0"),
        ("exponent", "1e0"),
    ] {
        let body = format!(r#"{{{image},"HostConfig":{{{net},"Privileged":{v}}}}}"#);
        add(
            format!("create/privileged-typed/{vname}"),
            Target::Create,
            request(CREATE, "", body.as_bytes()),
            true,
        );
    }
    // The body as a whole: what the check must refuse to judge.
    let danger = format!(r#"{{{image},"HostConfig":{{{net},"Privileged":true}}}}"#);
    let pad = "a".repeat(20000);
    let big = format!(
        r#"{{{image},"Labels":{{"pad":"{pad}"}},"HostConfig":{{{net},"Privileged":true,"Binds":["/:/host"]}}}}"#
    );
    add(
        "create/oversized-content-length".into(),
        Target::Create,
        request(CREATE, "", big.as_bytes()),
        true,
    );
    for size in [4096usize, 16000, 30000] {
        add(
            format!("create/oversized-chunked-{size}"),
            Target::Create,
            chunked(CREATE, big.as_bytes(), size),
            true,
        );
    }
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend_from_slice(danger.as_bytes());
    add(
        "create/bom".into(),
        Target::Create,
        request(CREATE, "", &bom),
        true,
    );
    add(
        "create/gzip".into(),
        Target::Create,
        request(
            CREATE,
            "Content-Encoding: gzip\r\n",
            &gzip(danger.as_bytes()),
        ),
        true,
    );
    add(
        "create/identity-encoding".into(),
        Target::Create,
        request(CREATE, "Content-Encoding: identity\r\n", danger.as_bytes()),
        true,
    );
    let nul = format!(
        "{{{image},\"Labels\":{{\"a\":\"x\0y\"}},\"HostConfig\":{{{net},\"Privileged\":true}}}}"
    );
    add(
        "create/nul-before-key".into(),
        Target::Create,
        request(CREATE, "", nul.as_bytes()),
        true,
    );
    let second =
        format!(r#"{{{image},"HostConfig":{{{net}}}}} {{"HostConfig":{{"Privileged":true}}}}"#);
    add(
        "create/second-object".into(),
        Target::Create,
        request(CREATE, "", second.as_bytes()),
        true,
    );
    for (vname, v) in [
        ("value-escape", r#""Binds":["\u002f:/host"]"#),
        ("value-escape-slash", r#""Binds":["\/:/host"]"#),
        ("value-escape-network", r#""NetworkMode":"\u0068ost""#),
        ("key-escape-middle", r#""Privil\u0065ged":true"#),
        ("key-escape-upper", r#""\u0050RIVILEGED":true"#),
        (
            "escape-after-escaped-backslash",
            r#""Env":["\\\u0041"],"Privil\\\u0065ged":true"#,
        ),
        (
            "value-escape-type",
            r#""Mounts":[{"Type":"b\u0069nd","Source":"/","Target":"/h"}]"#,
        ),
        (
            "kelvin-in-value",
            "\"NetworkMode\":\"host\",\"Labels\":{\"\u{212a}\":\"x\"}",
        ),
    ] {
        let body = format!(r#"{{{image},"HostConfig":{{{net},{v}}}}}"#);
        add(
            format!("create/escapes/{vname}"),
            Target::Create,
            request(CREATE, "", body.as_bytes()),
            true,
        );
    }
    // Long arrays and runs just under the limit: a check that ran out of PCRE's stack would be
    // read as "no match" by HAProxy and let the body through.
    let many = |item: &str, n: usize| vec![item; n].join(",");
    for (lname, kv) in [
        (
            "binds-after-3000-volumes",
            format!(r#""Binds":[{},"/:/host"]"#, many(r#""a:""#, 3000)),
        ),
        (
            "secopt-after-700-nnp",
            format!(
                r#""SecurityOpt":[{},"seccomp=unconfined"]"#,
                many(r#""no-new-privileges""#, 700)
            ),
        ),
        (
            "masked-1500-without-defaults",
            format!(r#""MaskedPaths":[{}]"#, many(r#""/proc/x""#, 1500)),
        ),
        (
            "escape-after-backslashes",
            // 1,800 escaped backslashes (3,600 characters), then a real \u escape of `A`.
            format!(r#""Env":["{}\u0041"]"#, "\\\\".repeat(1800)),
        ),
        (
            "whitespace-before-colon",
            format!(r#""Privileged"{}:true"#, " ".repeat(15000)),
        ),
    ] {
        let body = format!(r#"{{{image},"HostConfig":{{{net},{kv}}}}}"#);
        assert!(body.len() <= 16384, "{lname}: {} bytes", body.len());
        add(
            format!("create/long/{lname}"),
            Target::Create,
            request(CREATE, "", body.as_bytes()),
            true,
        );
    }
    // The network host through an endpoint rather than NetworkMode.
    let endpoint = format!(
        r#"{{{image},"HostConfig":{{"NetworkMode":"host"}},"NetworkingConfig":{{"EndpointsConfig":{{"host":{{}}}}}}}}"#
    );
    add(
        "create/endpoint-host".into(),
        Target::Create,
        request(CREATE, "", endpoint.as_bytes()),
        true,
    );
    // Ordinary creates with text Go escapes (<, >, &) and non-ASCII labels.
    for (cname, extra) in [
        ("plain", String::new()),
        (
            "html-escapes",
            r#","Env":["A=\u003cb\u003e \u0026 c"]"#.to_string(),
        ),
        (
            "newline-tab-quote",
            r#","Env":["A=line\nnext\t\"q\" \\ back"]"#.to_string(),
        ),
        (
            "latin1-escape",
            r#","Labels":{"name":"caf\u00e9"}"#.to_string(),
        ),
        (
            "utf8-label",
            ",\"Labels\":{\"name\":\"café ☕\"}".to_string(),
        ),
        (
            "surrogate-pair",
            r#","Labels":{"emoji":"\ud83d\ude00"}"#.to_string(),
        ),
    ] {
        let body = format!(r#"{{{image}{extra},"HostConfig":{{{net}}}}}"#);
        add(
            format!("create/ordinary/{cname}"),
            Target::Create,
            request(CREATE, "", body.as_bytes()),
            false,
        );
    }
    // Exec: privileged, or as a user the profile does not allow.
    for (ename, body, dangerous) in [
        ("privileged", r#"{"Cmd":["id"],"Privileged":true}"#, true),
        (
            "privileged-lower",
            r#"{"Cmd":["id"],"privileged":true}"#,
            true,
        ),
        (
            "privileged-dup",
            r#"{"Cmd":["id"],"Privileged":true,"Privileged":null}"#,
            true,
        ),
        (
            "privileged-number",
            r#"{"Cmd":["id"],"Privileged":1}"#,
            true,
        ),
        ("user-root", r#"{"Cmd":["id"],"User":"root"}"#, true),
        ("user-0", r#"{"Cmd":["id"],"User":"0"}"#, true),
        ("user-0-0", r#"{"Cmd":["id"],"user":"0:0"}"#, true),
        ("user-upper", r#"{"Cmd":["id"],"USER":"root"}"#, true),
        ("user-escaped", r#"{"Cmd":["id"],"\u0055ser":"root"}"#, true),
        (
            "user-dup",
            r#"{"Cmd":["id"],"User":"","User":"root"}"#,
            true,
        ),
        ("plain", r#"{"Cmd":["id"],"AttachStdout":true}"#, false),
        (
            "user-empty",
            r#"{"Cmd":["id"],"User":"","Privileged":false}"#,
            false,
        ),
    ] {
        add(
            format!("exec/{ename}"),
            Target::Exec,
            request("POST /v1.41/containers/{ID}/exec", "", body.as_bytes()),
            dangerous,
        );
    }
    // Start without a body, as every current client sends it.
    add(
        "start/no-body".into(),
        Target::Start {
            prefix: "/v1.41".into(),
        },
        request("POST /v1.41/containers/{ID}/start", "", b""),
        false,
    );
    // Bodies that never finish: HAProxy waits, then answers 408 (sent apart).
    let mut partial = format!(
        "{CREATE} HTTP/1.1\r\nHost: docker\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        danger.len() + 50
    )
    .into_bytes();
    partial.extend_from_slice(danger.as_bytes());
    cases.push(Case {
        name: "create/incomplete-content-length".into(),
        target: Target::Create,
        request: partial,
        dangerous: true,
        incomplete: true,
    });
    let mut partial = chunked(CREATE, danger.as_bytes(), 5);
    partial.truncate(partial.len() - 5);
    cases.push(Case {
        name: "create/incomplete-chunked".into(),
        target: Target::Create,
        request: partial,
        dangerous: true,
        incomplete: true,
    });
    cases
}
