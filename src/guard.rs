//! Body guards: what a grant of container create (and of the other routes whose body can ask
//! for host access) lets through, judged in HAProxy before the body reaches the daemon.
//!
//! The facts behind every check, with their place in moby's source, are in
//! docs/create-guard.md. How a check is written:
//!
//! - Keys are found anywhere in the body, at any depth, case-insensitively, every occurrence:
//!   the daemon's Go decoder matches keys case-insensitively and keeps the last duplicate, so a
//!   check that looked only at the first, or only under `HostConfig`, could be bypassed. A key
//!   with the same name elsewhere (a label called `Privileged`) is judged too: a false denial,
//!   never a bypass.
//! - A key is checked as "the value must be one of these", never "must not be that": anything
//!   the check does not recognise (another type, a number, a nested object) is refused.
//! - A body is judged only when the check sees what the decoder sees: complete, within the
//!   buffer, not encoded, no escape that could spell a key or a path, no NUL (HAProxy's string
//!   view of a body ends there), no non-ASCII letter that Go folds to an ASCII one.

use serde::{Deserialize, Serialize};

use crate::catalog::{Method, Route};

/// The built-in profile's name.
pub const UNPRIVILEGED: &str = "unprivileged";
/// The explicit opt-out's name.
pub const UNGUARDED: &str = "unguarded";
/// The default largest body judged, in bytes (HAProxy's buffer is twice this).
pub const DEFAULT_BODY_LIMIT: u32 = 16384;

/// The kinds of route whose body can ask for host access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum BodyKind {
    /// `POST /containers/create`: Config with HostConfig (and the legacy top-level fields).
    ContainerCreate,
    /// `POST /containers/{id}/start`: a HostConfig on API versions before 1.24.
    ContainerStart,
    /// `POST /containers/{id}/exec`: ExecConfig (Privileged, User).
    ExecCreate,
    /// `POST /services/create`, `POST /services/{id}/update`: a ServiceSpec.
    Service,
    /// `POST /volumes/create`: a volume whose driver options (local: `o=bind`, `device=/`)
    /// would make any later `Binds: ["vol:/x"]` a host path.
    VolumeCreate,
}

impl BodyKind {
    pub fn of(route: &Route) -> Option<BodyKind> {
        if route.method != Method::Post {
            return None;
        }
        match route.template.as_str() {
            "/containers/create" => Some(BodyKind::ContainerCreate),
            "/containers/{name:.*}/start" => Some(BodyKind::ContainerStart),
            "/containers/{name:.*}/exec" => Some(BodyKind::ExecCreate),
            "/services/create" | "/services/{id}/update" => Some(BodyKind::Service),
            "/volumes/create" => Some(BodyKind::VolumeCreate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            BodyKind::ContainerCreate => "container create",
            BodyKind::ContainerStart => "container start",
            BodyKind::ExecCreate => "exec create",
            BodyKind::Service => "service create/update",
            BodyKind::VolumeCreate => "volume create",
        }
    }
}

/// One allow-listed value (a host path, a capability, an exec user) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allowed {
    pub value: String,
    pub reason: String,
}

/// A profile: the built-in `unprivileged` checks, widened by allow-lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Profile {
    /// Host directories a bind mount may use (itself or below it), with reasons.
    pub host_paths: Vec<Allowed>,
    /// Capabilities `CapAdd` may name (without `CAP_`), with reasons.
    pub capabilities: Vec<Allowed>,
    /// Users an exec may run as (besides the own user of the container), with reasons.
    pub users: Vec<Allowed>,
}

/// What a grant does with the body of its requests.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum BodyChoice {
    /// The built-in `unprivileged` profile where the route has a body kind; nothing otherwise.
    #[default]
    Default,
    /// A profile with allow-lists.
    Profile(Profile),
    /// No check at all, chosen on purpose: root on the host for a create grant.
    Unguarded { reason: String },
}

impl BodyChoice {
    /// The profile that applies to a grant of `route`, if any.
    pub fn profile_for(&self, route: &Route) -> Option<(BodyKind, Profile)> {
        let kind = BodyKind::of(route)?;
        match self {
            BodyChoice::Default => Some((kind, Profile::default())),
            BodyChoice::Profile(p) => Some((kind, p.clone())),
            BodyChoice::Unguarded { .. } => None,
        }
    }
}

/// One check: a regex over the body that, when it matches, refuses the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name, in the log line (`deny:body:NAME`).
    pub name: String,
    /// PCRE, matched case-insensitively against the body; no `'` in it.
    pub regex: String,
    /// What the docker CLI shows.
    pub why: String,
}

const NULL: &str = "null";
const EMPTY_STR: &str = "\"\"";
const EMPTY_ARR: &str = r"\[\s*\]";
const EMPTY_OBJ: &str = r"\{\s*\}";
/// A Docker name (volume, network): what moby's name validation accepts, no `:` and no `/`.
const NAME: &str = r#""[a-z0-9][a-z0-9_.-]*""#;

/// The paths moby 20.10 masks in every container (oci/defaults.go, DefaultLinuxSpec); later
/// versions mask more, never fewer.
pub const MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
];
/// The paths moby 20.10 makes read-only in every container (oci/defaults.go).
pub const READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// A JSON array of strings that holds each of `required` as a whole item (an item is preceded
/// by `[`, `,` or whitespace, so an escaped quote cannot fake one).
fn superset(required: &[&str]) -> String {
    let mut out = String::new();
    for path in required {
        out.push_str(&format!(
            r#"(?=[^\]]*[\[,\s]"(?-i:{})"\s*[,\]])"#,
            regex_quote(path)
        ));
    }
    out.push_str(r"\[[^\]]*\]");
    out
}

/// `"KEY" :` followed by anything but one of `allowed`, then `,` or `}`.
fn only(key: &str, allowed: &[&str]) -> String {
    format!(r#""{key}"\s*:(?!\s*(?:{})\s*[,}}])"#, allowed.join("|"))
}

/// A JSON array whose items each match `item`. The repetition is possessive: the items are
/// delimited, so it matches what a backtracking one would, and PCRE keeps no backtracking frame
/// per item. With one frame per item, an array of a few thousand items exhausted PCRE's JIT
/// stack, HAProxy read the error as "no match", and the check let the body through.
fn array_of(item: &str) -> String {
    format!(r"\[\s*(?:{item}(?:\s*,\s*{item})*+)?\s*\]")
}

/// Host paths as a regex alternative: the path itself or below it, with no `.`/`..` segment,
/// matched case-sensitively.
fn host_path_regex(paths: &[Allowed]) -> Option<String> {
    if paths.is_empty() {
        return None;
    }
    let alts: Vec<String> = paths.iter().map(|p| regex_quote(&p.value)).collect();
    Some(format!(
        r"(?-i:(?:{})(?:/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*)",
        alts.join("|")
    ))
}

fn regex_quote(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if !c.is_ascii_alphanumeric() && c != '/' && c != '_' && c != '-' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Validates an allow-list entry; the error says what is wrong with it.
pub fn validate(what: &str, value: &str) -> std::result::Result<(), String> {
    match what {
        "host path" => {
            let clean = value.starts_with('/')
                && value.len() > 1
                && !value.ends_with('/')
                && value.split('/').skip(1).all(|s| {
                    !s.is_empty()
                        && s != "."
                        && s != ".."
                        && s.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                });
            if !clean {
                return Err(format!(
                    "host path `{value}` must be absolute and clean, not `/`, with segments of letters, digits, `_`, `.` or `-` (no `.` or `..` segment, no trailing `/`)"
                ));
            }
        }
        "capability" => {
            let name = value.strip_prefix("CAP_").unwrap_or(value);
            if name.is_empty()
                || name == "ALL"
                || !name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
            {
                return Err(format!(
                    "capability `{value}` must be one capability in upper case (NET_ADMIN or CAP_NET_ADMIN), not ALL"
                ));
            }
        }
        _ => {
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b))
            {
                return Err(format!(
                    "user `{value}` must be a user name or uid[:gid] of letters, digits, `_`, `.`, `:` or `-`"
                ));
            }
        }
    }
    Ok(())
}

/// The checks that make a body judgeable at all (shared by every kind), in order.
pub fn judgeable_checks() -> Vec<Check> {
    vec![
        Check {
            name: "not-an-object".into(),
            regex: r"^(?![\t\n\r ]*\{)".into(),
            why: "the body must be one JSON object (a BOM, an array or anything else before the first { is refused)".into(),
        },
        Check {
            name: "escape".into(),
            regex: r"(?<!\\)(?:\\\\)*+\\u(?!003c|003e|0026)(?:00[2-7][0-9a-f]|013[01]|017f|212a)".into(),
            why: "a \\u escape of an ASCII character (other than the \\u003c \\u003e \\u0026 that Go writes) or of a letter Go folds to ASCII could spell a key or a path the check would not see; send the character itself".into(),
        },
        Check {
            name: "folding-letter".into(),
            regex: r"\xC4[\xB0\xB1]|\xC5\xBF|\xE2\x84\xAA".into(),
            why: "the letters U+0130, U+0131, U+017F and U+212A match ASCII letters when Go matches keys case-insensitively and could hide a key".into(),
        },
    ]
}

/// The checks of `profile` for a body of `kind`, in order.
pub fn checks(kind: BodyKind, profile: &Profile) -> Vec<Check> {
    let mut out = Vec::new();
    let mut push = |name: &str, regex: String, why: &str| {
        out.push(Check {
            name: name.into(),
            regex,
            why: why.into(),
        })
    };
    let paths = host_path_regex(&profile.host_paths);
    let caps: Vec<String> = profile
        .capabilities
        .iter()
        .map(|c| regex_quote(c.value.strip_prefix("CAP_").unwrap_or(&c.value)))
        .collect();
    let cap_list = |key: &str| {
        if caps.is_empty() {
            only(key, &[NULL, EMPTY_ARR])
        } else {
            let item = format!(r#""(?:cap_)?(?:{})""#, caps.join("|"));
            only(key, &[NULL, &array_of(&item)])
        }
    };
    let privileged = || only("privileged", &[NULL, "false"]);
    match kind {
        BodyKind::ExecCreate => {
            push(
                "privileged",
                privileged(),
                "Privileged must be false: a privileged exec has every capability and every device of the host",
            );
            let mut users = vec![NULL.to_string(), EMPTY_STR.to_string()];
            users.extend(
                profile
                    .users
                    .iter()
                    .map(|u| format!(r#""(?-i:{})""#, regex_quote(&u.value))),
            );
            let users: Vec<&str> = users.iter().map(String::as_str).collect();
            push(
                "user",
                only("user", &users),
                "User must be empty (the own user of the container) or one the profile allows",
            );
            return out;
        }
        BodyKind::VolumeCreate => {
            push(
                "volume-driver-options",
                only("driveropts", &[NULL, EMPTY_OBJ]),
                "DriverOpts of a volume (local driver o=bind, device=/...) can mount a host path that any container using the volume then sees",
            );
            push(
                "volume-driver",
                only("driver", &[NULL, EMPTY_STR, r#""local""#]),
                "the volume driver must be local: the volumes of a plugin can be host paths",
            );
            return out;
        }
        BodyKind::ContainerCreate | BodyKind::ContainerStart | BodyKind::Service => {}
    }
    if kind != BodyKind::Service {
        push(
            "privileged",
            privileged(),
            "Privileged must be false: a privileged container is root on the host",
        );
    }
    let bind_item = match &paths {
        None => r#""[a-z0-9][a-z0-9_.-]*:[^"\\]*""#.to_string(),
        Some(p) => format!(r#""(?:[a-z0-9][a-z0-9_.-]*|{p}):[^"\\]*""#),
    };
    push(
        "binds",
        only("binds", &[NULL, &array_of(&bind_item)]),
        "Binds may name volumes only (name:/path), not a host path; a preset can allow-list host paths",
    );
    match &paths {
        None => push(
            "mount-bind",
            r#""type"\s*:\s*"(?:bind|npipe)""#.into(),
            "a mount of Type bind is a host path; a preset can allow-list host paths",
        ),
        Some(p) => {
            push(
                "mount-npipe",
                r#""type"\s*:\s*"npipe""#.into(),
                "a mount of Type npipe is a host pipe",
            );
            let source = format!(r#""{p}""#);
            push(
                "mount-source",
                only("source", &[NULL, EMPTY_STR, NAME, &source]),
                "the Source of a mount must be a volume name or an allow-listed host path",
            );
        }
    }
    push(
        "volume-driver-options",
        only("driverconfig", &[NULL, EMPTY_OBJ]),
        "the options of a volume driver (local driver o=bind, device=/...) can mount a host path",
    );
    push(
        "volume-driver",
        only("volumedriver", &[NULL, EMPTY_STR, r#""local""#]),
        "VolumeDriver must be the local driver: the volumes of a plugin can be host paths",
    );
    if kind != BodyKind::Service {
        push(
            "volumes-from",
            only("volumesfrom", &[NULL, EMPTY_ARR]),
            "VolumesFrom copies the mounts of another container, host binds included",
        );
        let network = format!(r#""(?!host"){}"#, &NAME[1..]);
        push(
            "network-mode",
            only("networkmode", &[NULL, EMPTY_STR, &network]),
            "NetworkMode must be a network name: host and container:<id> share another namespace",
        );
        push(
            "pid-mode",
            only("pidmode", &[NULL, EMPTY_STR]),
            "PidMode must be empty: host and container:<id> share another PID namespace",
        );
        push(
            "ipc-mode",
            only(
                "ipcmode",
                &[NULL, EMPTY_STR, r#""(?:none|private|shareable)""#],
            ),
            "IpcMode must be empty, none, private or shareable: host and container:<id> share another IPC namespace",
        );
        push(
            "uts-mode",
            only("utsmode", &[NULL, EMPTY_STR]),
            "UTSMode must be empty: host shares the UTS namespace of the host",
        );
        push(
            "userns-mode",
            only("usernsmode", &[NULL, EMPTY_STR]),
            "UsernsMode must be empty: host turns user-namespace remapping off",
        );
        push(
            "cgroupns-mode",
            only("cgroupnsmode", &[NULL, EMPTY_STR, r#""(?:private|host)""#]),
            "CgroupnsMode must be empty, private or host (host is the default on cgroup v1 and what inspect reports there; the cgroup file system stays read-only without privileges)",
        );
        push(
            "cgroup",
            only("cgroup", &[NULL, EMPTY_STR]),
            "Cgroup must be empty: container:<id> joins the cgroup of another container",
        );
        push(
            "devices",
            only("devices", &[NULL, EMPTY_ARR]),
            "Devices gives the container host devices",
        );
        push(
            "device-requests",
            only("devicerequests", &[NULL, EMPTY_ARR]),
            "DeviceRequests gives the container host devices (GPUs)",
        );
        push(
            "device-cgroup-rules",
            only("devicecgrouprules", &[NULL, EMPTY_ARR]),
            "DeviceCgroupRules lets the container open host devices",
        );
        push(
            "cap-add",
            cap_list("capadd"),
            "CapAdd may add only capabilities the profile allows",
        );
        push(
            "capabilities",
            only("capabilities", &[NULL, EMPTY_ARR]),
            "Capabilities replaces the default capability set",
        );
        push(
            "security-opt",
            only(
                "securityopt",
                &[NULL, &array_of(r#""no-new-privileges(?:[:=]true)?""#)],
            ),
            "SecurityOpt may only set no-new-privileges: the others can turn seccomp, AppArmor or SELinux confinement off",
        );
        push(
            "masked-paths",
            only("maskedpaths", &[NULL, &superset(MASKED_PATHS)]),
            "MaskedPaths must keep every path the daemon masks by default (docs/create-guard.md); fewer unmask /proc files of the host",
        );
        push(
            "readonly-paths",
            only("readonlypaths", &[NULL, &superset(READONLY_PATHS)]),
            "ReadonlyPaths must keep every path the daemon makes read-only by default (docs/create-guard.md)",
        );
        push(
            "cgroup-parent",
            only("cgroupparent", &[NULL, EMPTY_STR]),
            "CgroupParent must be empty: it places the container in any cgroup of the host",
        );
        push(
            "runtime",
            only("runtime", &[NULL, EMPTY_STR, r#""runc""#]),
            "Runtime must be the default runc",
        );
        push(
            "host-network",
            r#""host"\s*:"#.into(),
            "an endpoint on the network host shares the network namespace of the host",
        );
    } else {
        push(
            "cap-add",
            cap_list("capabilityadd"),
            "CapabilityAdd may add only capabilities the profile allows",
        );
        push(
            "host-network",
            r#""target"\s*:\s*"host""#.into(),
            "a service on the network host shares the network namespace of the host",
        );
        push(
            "confinement",
            r#""mode"\s*:\s*"(?:unconfined|disabled|custom)"|"disable"\s*:(?!\s*(?:null|false)\s*[,}])"#
                .into(),
            "Privileges may not turn seccomp, AppArmor or SELinux confinement off or replace the profile",
        );
        push(
            "seccomp-profile",
            only("profile", &[NULL]),
            "a custom seccomp profile can allow any system call",
        );
    }
    push(
        "sysctls",
        only("sysctls", &[NULL, EMPTY_OBJ]),
        "Sysctls set kernel parameters, some of them for the whole host",
    );
    out
}

/// The text of a profile for people: what it refuses and what it allows.
pub fn summary(kind: BodyKind, profile: &Profile) -> String {
    let mut parts = vec![format!("{UNPRIVILEGED} {}", kind.as_str())];
    for (what, list) in [
        ("host paths", &profile.host_paths),
        ("capabilities", &profile.capabilities),
        ("users", &profile.users),
    ] {
        if !list.is_empty() {
            let v: Vec<&str> = list.iter().map(|a| a.value.as_str()).collect();
            parts.push(format!("{what} {}", v.join(" ")));
        }
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_hold_no_single_quote_and_compile() {
        let profile = Profile {
            host_paths: vec![Allowed {
                value: "/srv/app.data".into(),
                reason: "r".into(),
            }],
            capabilities: vec![Allowed {
                value: "NET_ADMIN".into(),
                reason: "r".into(),
            }],
            users: vec![Allowed {
                value: "1000:1000".into(),
                reason: "r".into(),
            }],
        };
        for kind in [
            BodyKind::ContainerCreate,
            BodyKind::ContainerStart,
            BodyKind::ExecCreate,
            BodyKind::Service,
            BodyKind::VolumeCreate,
        ] {
            for p in [Profile::default(), profile.clone()] {
                for c in checks(kind, &p).into_iter().chain(judgeable_checks()) {
                    assert!(!c.regex.contains('\''), "{}", c.regex);
                    assert!(!c.why.contains(['\'', '"', '%']), "{}", c.why);
                }
            }
        }
    }

    #[test]
    fn allow_lists_are_validated() {
        assert!(validate("host path", "/srv/app").is_ok());
        for bad in ["/", "srv", "/srv/../etc", "/srv/", "/a b", "/srv/./x"] {
            assert!(validate("host path", bad).is_err(), "{bad}");
        }
        assert!(validate("capability", "NET_ADMIN").is_ok());
        assert!(validate("capability", "ALL").is_err());
        assert!(validate("capability", "net_admin").is_err());
        assert!(validate("user", "1000:1000").is_ok());
        assert!(validate("user", "a'b").is_err());
    }
}
