//! One harmless probe per catalog route, each with the reasons it cannot change the daemon's
//! state even when the proxy lets it through. Routes with no such request are never sent.
//!
//! The probe names objects `_spg-verify-probe_`. A leading underscore is allowed in no Docker
//! object name (containers, volumes, images, plugins, secrets, configs and services all start
//! with a letter or digit), and the name is not hex, so it is no id prefix either. Still, the
//! name only uses characters a proxy's id pattern (`[a-zA-Z0-9_.-]+`) accepts, so a probe is
//! judged by the same rule as a request for a real object.

use crate::catalog::{Route, Segment};

/// The object name every probe uses (see the module comment for why it cannot exist).
pub const PROBE_NAME: &str = "_spg-verify-probe_";

const READ: &str = "reads only; the answer is discarded unread";
const NO_CONTAINER: &str =
    "names the container `_spg-verify-probe_`, which cannot exist (names start with a letter or digit, ids are hex)";
const NO_EXEC: &str =
    "names the exec instance `_spg-verify-probe_`; exec ids are hex, so it cannot exist";
const BAD_REFERENCE: &str = "names `_spg-verify-probe_`, which is no valid image or plugin reference (those start with a lowercase letter or digit): rejected before any lookup, pull or push";
const NO_VOLUME: &str =
    "volume names start with a letter or digit, so the volume `_spg-verify-probe_` cannot exist";
const NO_SWARM_OBJECT: &str = "swarm object names start with a letter or digit and ids are generated alphanumerics, so `_spg-verify-probe_` cannot exist";
const BAD_JSON: &str =
    "the body is truncated JSON, which the daemon must decode before acting: it answers 400";
const PRUNE_NOTHING: &str = "prune filters that match nothing: a label no object carries, and `until` one second after the epoch";
const NOT_A_TAR: &str =
    "the body is plain text, not a tar archive: nothing can be loaded or copied";
const EVENTS_PAST: &str = "asks only for events between the first and second second after the epoch: the stream ends at once";
const NO_H2C: &str =
    "sent without the h2c upgrade a session needs: the daemon answers with an error";
const SHORT_PROFILE: &str =
    "a one-second profile (the daemon serves it only in debug mode); reads only";
const BAD_BUILD: &str = "an unknown builder `version`, an empty context and a Dockerfile path that cannot exist: the daemon refuses before building";
const NO_BUILD: &str = "cancels a build id that cannot exist";
const PREFLIGHT: &str = "a CORS preflight (OPTIONS /_ping): reads nothing, changes nothing";
const BAD_SEARCH: &str =
    "`limit=not-a-number` is rejected before the registry is asked; reads only";

/// The URL-encoded prune filter: `{"label":["sockproxy-gen.verify=never"],"until":["1"]}`.
const PRUNE_QUERY: &str = "filters=%7B%22label%22%3A%5B%22sockproxy-gen.verify%3Dnever%22%5D%2C%22until%22%3A%5B%221%22%5D%7D";

/// What a probe carries in its body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Empty,
    /// `{"sockproxy-gen-verify":` : JSON the daemon cannot decode.
    TruncatedJson,
    /// Plain text where the daemon expects a tar archive.
    NotATar,
}

impl Body {
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Body::Empty => b"",
            Body::TruncatedJson => b"{\"sockproxy-gen-verify\":",
            Body::NotATar => b"sockproxy-gen verify probe: not a tar archive\n",
        }
    }

    pub fn content_type(self) -> Option<&'static str> {
        match self {
            Body::Empty => None,
            Body::TruncatedJson => Some("application/json"),
            Body::NotATar => Some("application/x-tar"),
        }
    }
}

/// The request sent for one route.
#[derive(Debug, Clone, Copy)]
pub struct Probe {
    /// Query string without `?`; empty for none.
    pub query: &'static str,
    pub body: Body,
    /// Why this request cannot change state, all of which hold at once.
    pub why: &'static [&'static str],
}

#[derive(Debug, Clone, Copy)]
pub enum Plan {
    Send(Probe),
    /// No harmless request exists; the reason is reported and nothing is sent.
    Skip(&'static str),
}

const fn send(query: &'static str, body: Body, why: &'static [&'static str]) -> Plan {
    Plan::Send(Probe { query, body, why })
}

/// No query, no body: the path alone (for any method).
const fn plain(why: &'static [&'static str]) -> Plan {
    send("", Body::Empty, why)
}

use Body::{Empty, NotATar, TruncatedJson};

/// The body-guard probe of a route whose body can ask for host access (docs/create-guard.md):
/// (API version prefix to send it with, body, why it is harmless). A proxy with a sound guard
/// answers 403; any other answer means the body reached the daemon.
pub fn body_probe(
    kind: crate::guard::BodyKind,
) -> (Option<&'static str>, &'static [u8], &'static str) {
    use crate::guard::BodyKind;
    match kind {
        BodyKind::ContainerCreate => (
            None,
            br#"{"Image":"_spg-verify-probe_","HostConfig":{"Privileged":true,"Binds":["/:/spg-verify-probe"]}}"#,
            "a privileged create with the host's / bound, naming the container and the image `_spg-verify-probe_`, which cannot exist: the daemon refuses it either way",
        ),
        BodyKind::ContainerStart => (
            // API versions before 1.24 read a HostConfig on start.
            Some("/v1.23"),
            br#"{"Privileged":true,"Binds":["/:/spg-verify-probe"]}"#,
            "a privileged HostConfig on start (API 1.23), for the container `_spg-verify-probe_`, which cannot exist",
        ),
        BodyKind::ExecCreate => (
            None,
            br#"{"Cmd":["true"],"Privileged":true,"User":"0"}"#,
            "a privileged exec as root in the container `_spg-verify-probe_`, which cannot exist",
        ),
        BodyKind::VolumeCreate => (
            None,
            br#"{"Name":"_spg-verify-probe_","Driver":"local","DriverOpts":{"type":"none","o":"bind","device":"/"}}"#,
            "a local volume binding the host's /, named `_spg-verify-probe_`, which no volume can be called (names start with a letter or digit): the daemon refuses it",
        ),
        BodyKind::Service => (
            None,
            br#"{"Name":"_spg-verify-probe_","TaskTemplate":{"ContainerSpec":{"Image":"_spg-verify-probe_","Mounts":[{"Type":"bind","Source":"/","Target":"/spg-verify-probe"}]}}}"#,
            "a service binding the host's /, named `_spg-verify-probe_` (no valid service name or image): the daemon refuses it",
        ),
    }
}

/// Keyed by route key (`METHOD /shape`). A test checks that every catalog route has exactly one
/// plan here and every plan names a catalog route.
#[rustfmt::skip]
pub const PLANS: &[(&str, Plan)] = &[
    ("GET /containers/{}/checkpoints", plain(&[READ, NO_CONTAINER])),
    ("POST /containers/{}/checkpoints", send("", TruncatedJson, &[NO_CONTAINER, BAD_JSON])),
    ("DELETE /containers/{}/checkpoints/{}", plain(&[NO_CONTAINER])),
    ("HEAD /containers/{}/archive", send("path=%2F", Empty, &[READ, NO_CONTAINER])),
    ("GET /containers/json", send("limit=1", Empty, &[READ])),
    ("GET /containers/{}/export", plain(&[READ, NO_CONTAINER])),
    ("GET /containers/{}/changes", plain(&[READ, NO_CONTAINER])),
    ("GET /containers/{}/json", plain(&[READ, NO_CONTAINER])),
    ("GET /containers/{}/top", plain(&[READ, NO_CONTAINER])),
    ("GET /containers/{}/logs", send("stdout=1&follow=0", Empty, &[READ, NO_CONTAINER])),
    ("GET /containers/{}/stats", send("stream=0", Empty, &[READ, NO_CONTAINER])),
    ("GET /containers/{}/attach/ws", plain(&[NO_CONTAINER, "sent without an Upgrade header, so nothing is attached"])),
    ("GET /exec/{}/json", plain(&[READ, NO_EXEC])),
    ("GET /containers/{}/archive", send("path=%2F", Empty, &[READ, NO_CONTAINER])),
    ("POST /containers/create", send("name=_spg-verify-probe_", TruncatedJson, &["`_spg-verify-probe_` is no valid container name", BAD_JSON])),
    ("POST /containers/{}/kill", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/pause", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/unpause", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/restart", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/start", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/stop", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/wait", plain(&[NO_CONTAINER])),
    ("POST /containers/{}/resize", send("h=1&w=1", Empty, &[NO_CONTAINER])),
    ("POST /containers/{}/attach", send("stream=0&logs=0", Empty, &[NO_CONTAINER, "sent without an Upgrade header, so nothing is attached"])),
    ("POST /containers/{}/exec", send("", TruncatedJson, &[NO_CONTAINER, BAD_JSON])),
    ("POST /exec/{}/start", send("", TruncatedJson, &[NO_EXEC, BAD_JSON])),
    ("POST /exec/{}/resize", send("h=1&w=1", Empty, &[NO_EXEC])),
    ("POST /containers/{}/rename", send("name=_spg-verify-probe-2_", Empty, &[NO_CONTAINER, "the new name is no valid name either"])),
    ("POST /containers/{}/update", send("", TruncatedJson, &[NO_CONTAINER, BAD_JSON])),
    ("POST /containers/prune", send(PRUNE_QUERY, Empty, &[PRUNE_NOTHING])),
    ("POST /commit", send("container=_spg-verify-probe_", Empty, &[NO_CONTAINER])),
    ("PUT /containers/{}/archive", send("path=%2F", NotATar, &[NO_CONTAINER, NOT_A_TAR])),
    ("DELETE /containers/{}", send("force=0&v=0", Empty, &[NO_CONTAINER])),
    ("GET /images/json", plain(&[READ])),
    ("GET /images/search", send("term=_spg-verify-probe_&limit=not-a-number", Empty, &[BAD_SEARCH])),
    ("GET /images/get", send("names=_spg-verify-probe_", Empty, &[READ, BAD_REFERENCE])),
    ("GET /images/{}/get", plain(&[READ, BAD_REFERENCE])),
    ("GET /images/{}/history", plain(&[READ, BAD_REFERENCE])),
    ("GET /images/{}/json", plain(&[READ, BAD_REFERENCE])),
    ("GET /images/{}/attestations", plain(&[READ, BAD_REFERENCE])),
    ("POST /images/load", send("quiet=1", NotATar, &[NOT_A_TAR])),
    ("POST /images/create", send("fromImage=_spg-verify-probe_&tag=latest", Empty, &[BAD_REFERENCE, "never `fromSrc`, so no body is imported"])),
    ("POST /images/{}/push", plain(&[BAD_REFERENCE])),
    ("POST /images/{}/tag", send("repo=_spg-verify-probe_&tag=latest", Empty, &[BAD_REFERENCE])),
    ("POST /images/prune", send(PRUNE_QUERY, Empty, &[PRUNE_NOTHING])),
    ("DELETE /images/{}", send("force=0&noprune=1", Empty, &[BAD_REFERENCE])),
    ("OPTIONS /{}", plain(&[PREFLIGHT])),
    ("GET /_ping", plain(&[READ])),
    ("HEAD /_ping", plain(&[READ])),
    ("GET /events", send("since=1&until=2", Empty, &[READ, EVENTS_PAST])),
    ("GET /info", plain(&[READ])),
    ("GET /version", plain(&[READ])),
    ("GET /system/df", plain(&[READ])),
    ("POST /auth", send("", TruncatedJson, &[BAD_JSON, "no credentials are sent, so no registry is asked"])),
    ("GET /volumes", plain(&[READ])),
    ("GET /volumes/{}", plain(&[READ, NO_VOLUME])),
    ("POST /volumes/create", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /volumes/prune", send(PRUNE_QUERY, Empty, &[PRUNE_NOTHING])),
    ("PUT /volumes/{}", send("version=0", TruncatedJson, &[NO_VOLUME, BAD_JSON])),
    ("DELETE /volumes/{}", send("force=0", Empty, &[NO_VOLUME])),
    ("POST /build", send("version=spg-invalid&dockerfile=_spg-verify-probe_%2FDockerfile", Empty, &[BAD_BUILD])),
    ("POST /build/prune", send(PRUNE_QUERY, Empty, &[PRUNE_NOTHING])),
    ("POST /build/cancel", send("id=_spg-verify-probe_", Empty, &[NO_BUILD])),
    ("POST /session", plain(&[NO_H2C])),
    ("POST /swarm/init", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /swarm/join", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /swarm/leave", Plan::Skip("no request to leave a swarm is harmless: the daemon acts on the bare POST")),
    ("GET /swarm", plain(&[READ])),
    ("GET /swarm/unlockkey", plain(&[READ, "the answer (the unlock key) is never read or shown"])),
    ("POST /swarm/update", send("version=0", TruncatedJson, &[BAD_JSON])),
    ("POST /swarm/unlock", send("", TruncatedJson, &[BAD_JSON])),
    ("GET /services", plain(&[READ])),
    ("GET /services/{}", plain(&[READ, NO_SWARM_OBJECT])),
    ("POST /services/create", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /services/{}/update", send("version=0", TruncatedJson, &[NO_SWARM_OBJECT, BAD_JSON])),
    ("DELETE /services/{}", plain(&[NO_SWARM_OBJECT])),
    ("GET /services/{}/logs", send("stdout=1&follow=0", Empty, &[READ, NO_SWARM_OBJECT])),
    ("GET /nodes", plain(&[READ])),
    ("GET /nodes/{}", plain(&[READ])),
    ("DELETE /nodes/{}", Plan::Skip("nodes are also found by hostname, and a host may be called anything: no name is sure not to exist")),
    ("POST /nodes/{}/update", send("version=0", TruncatedJson, &[BAD_JSON])),
    ("GET /tasks", plain(&[READ])),
    ("GET /tasks/{}", plain(&[READ, NO_SWARM_OBJECT])),
    ("GET /tasks/{}/logs", send("stdout=1&follow=0", Empty, &[READ, NO_SWARM_OBJECT])),
    ("GET /secrets", plain(&[READ])),
    ("POST /secrets/create", send("", TruncatedJson, &[BAD_JSON])),
    ("DELETE /secrets/{}", plain(&[NO_SWARM_OBJECT])),
    ("GET /secrets/{}", plain(&[READ, NO_SWARM_OBJECT])),
    ("POST /secrets/{}/update", send("version=0", TruncatedJson, &[NO_SWARM_OBJECT, BAD_JSON])),
    ("GET /configs", plain(&[READ])),
    ("POST /configs/create", send("", TruncatedJson, &[BAD_JSON])),
    ("DELETE /configs/{}", plain(&[NO_SWARM_OBJECT])),
    ("GET /configs/{}", plain(&[READ, NO_SWARM_OBJECT])),
    ("POST /configs/{}/update", send("version=0", TruncatedJson, &[NO_SWARM_OBJECT, BAD_JSON])),
    ("GET /plugins", plain(&[READ])),
    ("GET /plugins/{}/json", plain(&[READ, BAD_REFERENCE])),
    ("GET /plugins/privileges", send("remote=_spg-verify-probe_", Empty, &[READ, BAD_REFERENCE])),
    ("DELETE /plugins/{}", send("force=0", Empty, &[BAD_REFERENCE])),
    ("POST /plugins/{}/enable", send("timeout=0", Empty, &[BAD_REFERENCE])),
    ("POST /plugins/{}/disable", plain(&[BAD_REFERENCE])),
    ("POST /plugins/pull", send("remote=_spg-verify-probe_", TruncatedJson, &[BAD_REFERENCE, BAD_JSON])),
    ("POST /plugins/{}/push", plain(&[BAD_REFERENCE])),
    ("POST /plugins/{}/upgrade", send("remote=_spg-verify-probe_", TruncatedJson, &[BAD_REFERENCE, BAD_JSON])),
    ("POST /plugins/{}/set", send("", TruncatedJson, &[BAD_REFERENCE, BAD_JSON])),
    ("POST /plugins/create", send("name=_spg-verify-probe_", NotATar, &[BAD_REFERENCE, NOT_A_TAR])),
    ("GET /distribution/{}/json", plain(&[READ, BAD_REFERENCE])),
    ("GET /networks", plain(&[READ])),
    ("GET /networks/", plain(&[READ])),
    ("GET /networks/{}", plain(&[READ])),
    ("POST /networks/create", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /networks/{}/connect", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /networks/{}/disconnect", send("", TruncatedJson, &[BAD_JSON])),
    ("POST /networks/prune", send(PRUNE_QUERY, Empty, &[PRUNE_NOTHING])),
    ("DELETE /networks/{}", Plan::Skip("network names are not restricted to a pattern that rules out every probe name: no name is sure not to exist")),
    ("GET /debug/vars", plain(&[READ])),
    ("GET /debug/pprof/", plain(&[READ])),
    ("GET /debug/pprof/cmdline", plain(&[READ])),
    ("GET /debug/pprof/profile", send("seconds=1", Empty, &[SHORT_PROFILE])),
    ("GET /debug/pprof/symbol", plain(&[READ])),
    ("GET /debug/pprof/trace", send("seconds=1", Empty, &[SHORT_PROFILE])),
    ("GET /debug/pprof/{}", plain(&[READ, "an unknown profile name"])),
    ("POST /grpc", plain(&[NO_H2C])),
];

/// The plan for a route; every catalog route has one (checked by a test).
pub fn plan(route: &Route) -> Option<Plan> {
    let key = route.key();
    PLANS.iter().find(|(k, _)| *k == key).map(|(_, p)| *p)
}

/// The probe's path without a version prefix: placeholders become the probe name, except the
/// OPTIONS catch-all, which asks about `/_ping`.
pub fn probe_path(route: &Route) -> String {
    let mut out = String::new();
    for seg in &route.segments {
        out.push('/');
        match seg {
            Segment::Literal(l) => out.push_str(l),
            Segment::Many if route.template.starts_with("/{anyroute") => out.push_str("_ping"),
            Segment::One | Segment::Many => out.push_str(PROBE_NAME),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    #[test]
    fn every_route_has_exactly_one_plan_and_every_plan_a_route() {
        let catalog = Catalog::builtin();
        for route in catalog.routes() {
            let n = PLANS.iter().filter(|(k, _)| *k == route.key()).count();
            assert_eq!(n, 1, "{} has {n} plans", route.key());
        }
        for (key, _) in PLANS {
            assert!(
                catalog.routes().iter().any(|r| r.key() == *key),
                "plan for unknown route {key}"
            );
        }
    }

    #[test]
    fn each_probe_reaches_its_own_route() {
        let catalog = Catalog::builtin();
        for route in catalog.routes() {
            let path = probe_path(route);
            assert_eq!(
                catalog.dispatch(route.method, &path).map(|r| r.id),
                Some(route.id),
                "{path}"
            );
        }
    }
}
