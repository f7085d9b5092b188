//! Which image's template a flag-driven HAProxy config is, and that image's defaults for the
//! variables its rules read: what lint judges the file with when no environment is given.
//!
//! The images, their variables and their defaults are data: `data/flags/known-flags.tsv` (one
//! row per image family and variable, with the value the image's Dockerfile `ENV` sets) and
//! `data/flags/proxy-images.tsv` (the image each family is published as), read once by
//! [`super::compose`]. Adding a fork's rows there makes its templates recognised here.
//!
//! The rule (see [`detect`]): every fork in the table is Tecnativa's template with names of its
//! own added (linuxserver's `ALLOW_ARCHIVE`, `LIBPOD_*`; ZoeyVid's `ALLOW_POWER`; ...), so a
//! fork is recognised by the names only it reads, and a file that reads none is Tecnativa's.

use std::collections::BTreeSet;

use super::compose::{tables, Family, FlagRow, Kind};
use crate::haproxy::syntax::Env;

/// The image a config is judged as, and why.
#[derive(Debug, Clone)]
pub struct Assumed {
    /// How messages name the image family: `linuxserver`.
    pub label: &'static str,
    /// The image it is published as (`lscr.io/linuxserver/socket-proxy`), or the image the
    /// compose file runs it with.
    pub image: Option<String>,
    /// Chosen by the image of the compose service that runs the file, not by its names.
    pub run_by_compose: bool,
    /// The names the rules read that only this family's template reads (empty for Tecnativa,
    /// the reference every fork adds to).
    pub evidence: Vec<String>,
    /// Names the rules read that belong to another fork only: (its label, the names).
    pub others: Vec<(&'static str, Vec<String>)>,
    /// Forks whose own names were read as often as each other's: none could be chosen, and
    /// the reference image's defaults are used.
    pub tied: Vec<&'static str>,
    /// The image's value of each variable the rules read that it sets (its Dockerfile `ENV`).
    pub defaults: Env,
    /// Variables the rules read that the image knows but does not set.
    pub unset: Vec<String>,
}

impl Assumed {
    /// `the linuxserver image (lscr.io/linuxserver/socket-proxy)`
    pub fn describe(&self) -> String {
        match &self.image {
            Some(image) => format!("the {} image ({image})", self.label),
            None => format!("the {} image", self.label),
        }
    }

    /// Why this family: the names that decided it, or why the reference was taken.
    pub fn reason(&self) -> String {
        let mut why = if self.run_by_compose {
            "the image the compose file's proxy service runs".to_string()
        } else if !self.tied.is_empty() {
            format!(
                "the rules read as many names of {} templates as of each other, so the reference image's are used",
                self.tied.join(" and ")
            )
        } else if self.evidence.is_empty() {
            "no name the rules read is only a fork's".to_string()
        } else {
            format!(
                "recognised by the name(s) only its template reads: {}",
                super::list(&self.evidence)
            )
        };
        for (label, read) in &self.others {
            if !self.tied.contains(label) {
                why.push_str(&format!(
                    "; the rules also read {} of the {label} template, which this image does not set",
                    super::list(read)
                ));
            }
        }
        why
    }

    /// Whether `name` is one of the variables whose default this image sets.
    pub fn sets(&self, name: &str) -> bool {
        self.defaults.contains_key(name)
    }
}

/// The families whose images run an HAProxy template that reads `env(X) -m bool` flags: the
/// ones with a `bool` row (sockproxy-gen's own names are flags of `render`, not of a template).
fn template_families() -> Vec<Family> {
    let mut out: Vec<Family> = Vec::new();
    for r in &tables().flags {
        if r.kind == Kind::Bool
            && r.family != Family::Sockproxy
            && r.family.haproxy()
            && !out.contains(&r.family)
        {
            out.push(r.family);
        }
    }
    out
}

fn row(family: Family, name: &str) -> Option<&'static FlagRow> {
    tables()
        .flags
        .iter()
        .find(|r| r.family == family && r.matches(name))
}

/// Whether a template of some image reads `name` (a flag or a setting of the table).
pub fn template_variable(name: &str) -> bool {
    let families = template_families();
    tables()
        .flags
        .iter()
        .any(|r| families.contains(&r.family) && r.matches(name))
}

/// Whether some image's template reads `name` as a permission switch (`env(X) -m bool`).
pub fn permission_flag(name: &str) -> bool {
    tables()
        .flags
        .iter()
        .any(|r| r.kind == Kind::Bool && r.family != Family::Sockproxy && r.matches(name))
}

/// The image whose template a config that reads `referenced` is, with its defaults for them.
///
/// The rule, and why:
/// - A name is a fork's own when that fork's rows know it and Tecnativa's do not: Tecnativa's
///   template is the one every fork in the table started from, so the names they share say
///   nothing about which image runs the file.
/// - The fork with the most own names read is the image. A file built from one fork's template
///   and edited with another's rule reads many names of the first (linuxserver's template reads
///   about thirty of its own) and few of the second; those few are named in the finding, and
///   the chosen image does not set them.
/// - With no own name read, or the same number for two forks (a short hand-written file that
///   takes one name from each), no fork is more likely than another: the reference image,
///   Tecnativa's, is used, whose defaults for the shared names are also each fork's (padhi's
///   `EVENTS=0` aside, which its `METH_POST` gate identifies).
pub fn detect(referenced: &BTreeSet<String>) -> Assumed {
    let mut scored: Vec<(Family, Vec<String>)> = template_families()
        .into_iter()
        .filter(|f| *f != Family::Tecnativa)
        .map(|f| {
            let own: Vec<String> = referenced
                .iter()
                .filter(|v| row(f, v).is_some() && row(Family::Tecnativa, v).is_none())
                .cloned()
                .collect();
            (f, own)
        })
        .filter(|(_, own)| !own.is_empty())
        .collect();
    // Most own names first; the table's order among equals.
    scored.sort_by_key(|(_, own)| std::cmp::Reverse(own.len()));
    let best = scored.first().map_or(0, |(_, own)| own.len());
    let leaders: Vec<Family> = scored
        .iter()
        .filter(|(_, own)| own.len() == best)
        .map(|(f, _)| *f)
        .collect();
    let (family, evidence, tied) = match leaders.as_slice() {
        [one] => (*one, scored[0].1.clone(), Vec::new()),
        [] => (Family::Tecnativa, Vec::new(), Vec::new()),
        many => (
            Family::Tecnativa,
            Vec::new(),
            many.iter().map(|f| f.label()).collect(),
        ),
    };
    // Another fork's names that the chosen image does not know (two forks may share one).
    let others = scored
        .iter()
        .filter(|(f, _)| *f != family)
        .map(|(f, own)| {
            let foreign: Vec<String> = own
                .iter()
                .filter(|v| row(family, v).is_none())
                .cloned()
                .collect();
            (f.label(), foreign)
        })
        .filter(|(_, foreign)| !foreign.is_empty())
        .collect();
    let mut assumed = assume(family, referenced);
    assumed.evidence = evidence;
    assumed.others = others;
    assumed.tied = tied;
    assumed
}

/// The image `image` (a compose service's `image:`) as the one that runs a config that reads
/// `referenced`: a known socket-proxy image whose template reads flags, or the official
/// `haproxy` image, which sets none of them. `None` for an image the table does not know (the
/// file's names decide then, [`detect`]) or one that runs no HAProxy template.
pub fn for_image(image: &str, referenced: &BTreeSet<String>) -> Option<Assumed> {
    let family = tables().image_family(image)?;
    if family != Family::Haproxy && !template_families().contains(&family) {
        return None;
    }
    let mut assumed = assume(family, referenced);
    assumed.image = Some(image.to_string());
    assumed.run_by_compose = true;
    Some(assumed)
}

/// `family`'s values for the variables read (its own rows, then those of the image it is
/// built from).
fn assume(family: Family, referenced: &BTreeSet<String>) -> Assumed {
    let mut defaults = Env::new();
    let mut unset = Vec::new();
    for v in referenced {
        let Some(r) = row(family, v).or_else(|| row(family.built_from()?, v)) else {
            continue;
        };
        if r.default == "unset" {
            unset.push(v.clone());
        } else {
            defaults.insert(v.clone(), r.default.to_string());
        }
    }
    Assumed {
        label: family.label(),
        image: tables().image_of(family).map(str::to_string),
        run_by_compose: false,
        evidence: Vec::new(),
        others: Vec::new(),
        tied: Vec::new(),
        defaults,
        unset,
    }
}

/// [`detect`] for the variables `text` reads: what lint assumes for a config given no
/// environment (the differential test runs real HAProxy with exactly these values).
pub fn assumed_for(text: &str) -> Assumed {
    detect(&super::haproxy::referenced_variables(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn defaults(a: &Assumed) -> Vec<(String, String)> {
        a.defaults
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    #[test]
    fn tecnativa_names_only_are_the_reference_image() {
        let a = detect(&read(&[
            "CONTAINERS",
            "EVENTS",
            "PING",
            "POST",
            "LOG_LEVEL",
            "GRPC",
        ]));
        assert_eq!(a.label, "Tecnativa");
        assert_eq!(a.image.as_deref(), Some("tecnativa/docker-socket-proxy"));
        assert!(a.evidence.is_empty() && a.tied.is_empty() && a.others.is_empty());
        // Tecnativa's Dockerfile sets GRPC=0 (linuxserver's does not set it).
        assert_eq!(
            defaults(&a),
            [
                ("CONTAINERS", "0"),
                ("EVENTS", "1"),
                ("GRPC", "0"),
                ("LOG_LEVEL", "info"),
                ("PING", "1"),
                ("POST", "0"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(a.unset.is_empty());
    }

    #[test]
    fn a_fork_is_recognised_by_its_own_names() {
        let a = detect(&read(&[
            "LIBPOD_PING",
            "ALLOW_LOGS",
            "GRPC",
            "PING",
            "VERSION",
        ]));
        assert_eq!(a.label, "linuxserver");
        assert_eq!(a.image.as_deref(), Some("lscr.io/linuxserver/socket-proxy"));
        assert_eq!(a.evidence, ["ALLOW_LOGS", "LIBPOD_PING"]);
        assert_eq!(a.defaults["LIBPOD_PING"], "1");
        assert_eq!(a.defaults["ALLOW_LOGS"], "0");
        // Read by linuxserver's template, not set by its Dockerfile (c7c5bdb).
        assert_eq!(a.unset, ["GRPC"]);
        // padhi's gate reads METH_POST, and its image leaves EVENTS off.
        let p = detect(&read(&["METH_POST", "EVENTS", "PING"]));
        assert_eq!(p.label, "padhi-homelab");
        assert_eq!(p.defaults["EVENTS"], "0");
        // ZoeyVid's image sets no LOG_LEVEL: Tecnativa's `info` is not borrowed.
        let z = detect(&read(&["ALLOW_POWER", "LOG_LEVEL", "EVENTS"]));
        assert_eq!(z.label, "ZoeyVid");
        assert!(!z.sets("LOG_LEVEL") && z.defaults["EVENTS"] == "1");
        // openafc's image is built FROM Tecnativa's: its ENV applies beside openafc's rows.
        let o = detect(&read(&["LOGS", "INSPECT", "EVENTS", "VERSION"]));
        assert_eq!(o.label, "openafc");
        assert_eq!(
            defaults(&o),
            [
                ("EVENTS", "1"),
                ("INSPECT", "0"),
                ("LOGS", "0"),
                ("VERSION", "1")
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
    }

    #[test]
    fn mixed_and_tied_files() {
        // linuxserver's template with one ZoeyVid rule added: linuxserver, and the other name
        // is named (linuxserver's image does not set it).
        let a = detect(&read(&[
            "ALLOW_ARCHIVE",
            "ALLOW_LOGS",
            "LIBPOD_PING",
            "ALLOW_POWER",
            "PING",
        ]));
        assert_eq!(a.label, "linuxserver");
        assert_eq!(a.others, [("ZoeyVid", vec!["ALLOW_POWER".to_string()])]);
        assert!(!a.sets("ALLOW_POWER"));
        assert!(a
            .reason()
            .contains("also read ALLOW_POWER of the ZoeyVid template"));
        // One name of each: no fork is more likely, the reference is used and the tie said.
        let t = detect(&read(&["ALLOW_PAUSE", "ALLOW_KILL", "PING"]));
        assert_eq!(t.label, "Tecnativa");
        assert_eq!(t.tied.len(), 2);
        assert!(t.tied.contains(&"linuxserver") && t.tied.contains(&"ZoeyVid"));
        assert!(t.reason().contains("as many names of"), "{}", t.reason());
        assert_eq!(defaults(&t), [("PING".to_string(), "1".to_string())]);
    }

    #[test]
    fn the_compose_image_decides_when_there_is_one() {
        let names = read(&["LIBPOD_PING", "ALLOW_LOGS", "EVENTS", "PING"]);
        // The official image sets no flag: every one the rules read is unset.
        let h = for_image("docker.io/library/haproxy:3.2-alpine", &names).unwrap();
        assert_eq!(h.label, "haproxy");
        assert_eq!(
            h.image.as_deref(),
            Some("docker.io/library/haproxy:3.2-alpine")
        );
        assert!(h.defaults.is_empty() && h.run_by_compose);
        assert!(h.reason().contains("compose"));
        // Tecnativa's image runs a linuxserver-style file: Tecnativa's values, LIBPOD_* not set.
        let t = for_image("tecnativa/docker-socket-proxy:0.4.1", &names).unwrap();
        assert_eq!(t.label, "Tecnativa");
        assert_eq!(defaults(&t).len(), 2);
        assert!(!t.sets("LIBPOD_PING") && t.defaults["EVENTS"] == "1");
        // Unknown images and proxies that run no HAProxy template: the names decide.
        assert!(for_image("example/own-proxy", &names).is_none());
        assert!(for_image("wollomatic/socket-proxy:1", &names).is_none());
    }

    #[test]
    fn switches_and_template_variables_come_from_the_table() {
        assert!(permission_flag("LIBPOD_CONTAINERS") && permission_flag("ALLOW_POWER"));
        assert!(!permission_flag("LOG_LEVEL") && !permission_flag("DISABLE_IPV6"));
        assert!(template_variable("LOG_LEVEL") && template_variable("DOCKER_BACKEND"));
        // Variables of images that are not HAProxy templates (wollomatic's Go proxy).
        assert!(!template_variable("SP_ALLOWFROM") && !template_variable("POSTGRES_PASSWORD"));
    }
}
