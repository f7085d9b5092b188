//! The HAProxy version a config is judged for: what `--haproxy-version` names (`3.2`) or what
//! a binary reports (`3.2.26`). Conditional blocks (`version_atleast`), the predicates and
//! predefined variables a version knows, and the evaluator's dialect all follow it.

use std::cmp::Ordering;

use super::eval::Dialect;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    pub major: u32,
    pub minor: u32,
    /// `None` when only the line was given (`3.2`): a comparison that depends on the patch
    /// level is then unknown.
    pub patch: Option<u32>,
}

impl Version {
    /// `X.Y` or `X.Y.Z` (anything after the numbers, like `-1+deb12u4`, is ignored), for the
    /// lines the evaluator models: 2.6 to 3.0, and 3.2 or later.
    pub fn parse(text: &str) -> Option<Version> {
        let v = Version::parse_any(text)?;
        v.dialect().map(|_| v)
    }

    /// Any `X.Y[.Z]` prefix, as in a `version_atleast()` argument (`2.4-dev19` is 2.4).
    fn parse_any(text: &str) -> Option<Version> {
        let numeric: String = text
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let mut parts = numeric.split('.').filter(|p| !p.is_empty());
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = parts.next().and_then(|p| p.parse().ok());
        Some(Version {
            major,
            minor,
            patch,
        })
    }

    /// The evaluator's behaviour for this line.
    pub fn dialect(self) -> Option<Dialect> {
        match (self.major, self.minor) {
            (2, 6..) | (3, 0) => Some(Dialect::HAPROXY_2_6),
            (3, 2..) | (4.., _) => Some(Dialect::HAPROXY_3_2),
            _ => None,
        }
    }

    /// Whether this version is at least `(major, minor)`.
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// How this version compares with the one a `version_atleast(...)` names; `None` when the
    /// answer depends on a patch level that was not given, or the argument is not a version.
    /// A development or release-candidate suffix (`2.4-dev19`) comes before the release.
    pub fn compare_to(self, other: &str) -> Option<Ordering> {
        let o = Version::parse_any(other)?;
        let pre_release = other.contains("-dev") || other.contains("-rc");
        match (self.major, self.minor).cmp(&(o.major, o.minor)) {
            Ordering::Equal => {}
            unequal => return Some(unequal),
        }
        match (self.patch, o.patch) {
            (_, None) if pre_release => Some(Ordering::Greater),
            (Some(a), Some(b)) if a != b => Some(a.cmp(&b)),
            (Some(_), Some(_)) if pre_release => Some(Ordering::Greater),
            (Some(_), Some(_)) => Some(Ordering::Equal),
            (Some(_), None) | (None, None) => {
                // `version_atleast(3.2)` with 3.2.x, or 3.2 with 3.2: the same line.
                Some(Ordering::Equal)
            }
            (None, Some(0)) => Some(Ordering::Equal),
            (None, Some(_)) => None,
        }
    }

    /// `X.Y` of this version.
    pub fn line(self) -> String {
        format!("{}.{}", self.major, self.minor)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.patch {
            Some(p) => write!(f, "{}.{}.{p}", self.major, self.minor),
            None => write!(f, "{}.{}", self.major, self.minor),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_compares() {
        let v = Version::parse("3.2").unwrap();
        assert_eq!(v.compare_to("2.4-dev19"), Some(Ordering::Greater));
        assert_eq!(v.compare_to("3.2"), Some(Ordering::Equal));
        assert_eq!(v.compare_to("3.2.5"), None);
        assert_eq!(v.compare_to("3.3"), Some(Ordering::Less));
        let full = Version::parse("3.2.26-1").unwrap();
        assert_eq!(full.compare_to("3.2.5"), Some(Ordering::Greater));
        assert_eq!(full.compare_to("3.2-dev1"), Some(Ordering::Greater));
        assert_eq!(full.compare_to("x"), None);
        assert!(Version::parse("3.1").is_none());
        assert!(Version::parse("1.8").is_none());
        assert_eq!(Version::parse("2.6.12").unwrap().line(), "2.6");
    }
}
