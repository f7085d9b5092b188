//! The conditions of `.if` and `.elif` (HAProxy's configuration manual, section 2.4
//! "Conditional blocks"), evaluated for one version and environment.
//!
//! A term is an integer (0 false, anything else true), a predicate with arguments, `!term`, or a
//! parenthesised condition; `&&` binds tighter than `||`. Some predicates cannot be answered
//! from the file alone (`feature()` depends on the build, `enabled()` on the command line, the
//! SSL library's name and version on the machine): they are *unknown*, and so is a condition
//! whose value depends on them (three-valued logic). A predicate the version does not know is
//! an error, as in `haproxy -c`.

use super::syntax::Env;
use super::version::Version;

/// The value of a condition: known, or unknown with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Truth {
    Known(bool),
    Unknown(String),
}

impl Truth {
    fn not(self) -> Truth {
        match self {
            Truth::Known(b) => Truth::Known(!b),
            unknown => unknown,
        }
    }

    fn and(self, other: impl FnOnce() -> Result<Truth, String>) -> Result<Truth, String> {
        Ok(match self {
            Truth::Known(false) => Truth::Known(false),
            Truth::Known(true) => other()?,
            Truth::Unknown(why) => match other()? {
                Truth::Known(false) => Truth::Known(false),
                _ => Truth::Unknown(why),
            },
        })
    }

    fn or(self, other: impl FnOnce() -> Result<Truth, String>) -> Result<Truth, String> {
        Ok(match self {
            Truth::Known(true) => Truth::Known(true),
            Truth::Known(false) => other()?,
            Truth::Unknown(why) => match other()? {
                Truth::Known(true) => Truth::Known(true),
                _ => Truth::Unknown(why),
            },
        })
    }
}

/// The predicates of `.if`, with the first line that accepts each: read from the manuals of
/// 2.6, 3.0 and 3.2 and checked with their binaries (data/haproxy-keywords/conditions.txt; the
/// SSL library predicates work in Debian's 2.6 and 3.0 although only the 3.2 manual lists them).
const PREDICATES: &[(&str, (u32, u32))] = &[
    ("defined", (2, 4)),
    ("feature", (2, 4)),
    ("streq", (2, 4)),
    ("strneq", (2, 4)),
    ("version_atleast", (2, 4)),
    ("version_before", (2, 4)),
    ("openssl_version_atleast", (2, 6)),
    ("openssl_version_before", (2, 6)),
    ("ssllib_name_startswith", (2, 6)),
    ("strstr", (3, 0)),
    ("enabled", (3, 0)),
];

/// Variables HAProxy defines itself that a condition can see while the file is parsed
/// (manual section 2.3): their values, for `version`. The others (`HAPROXY_MWORKER`,
/// `HAPROXY_CFGFILES`, `HAPROXY_LOCALPEER`, ...) are set only after parsing.
pub fn predefined(version: Version) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    if version.at_least(3, 0) {
        out.push(("HAPROXY_BRANCH", version.line()));
    }
    if version.at_least(3, 2) {
        out.push(("HAPROXY_HTTP_LOG_FMT", HTTP_LOG_FORMAT.to_string()));
    }
    out
}

/// The default HTTP log format that 3.2 exposes as `HAPROXY_HTTP_LOG_FMT` (its value only
/// matters to configs that print it).
const HTTP_LOG_FORMAT: &str = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";

/// Evaluates the condition of a `.if`/`.elif` line (its words after the directive, already
/// unquoted and with `"$VAR"` expanded, joined by spaces).
pub fn evaluate(condition: &str, env: &Env, version: Version) -> Result<Truth, String> {
    let tokens = lex(condition)?;
    let mut parser = Parser {
        tokens: &tokens,
        pos: 0,
        env,
        version,
    };
    if tokens.is_empty() {
        return Err("empty condition".into());
    }
    let value = parser.or()?;
    if parser.pos != tokens.len() {
        return Err(format!(
            "unexpected `{}` in the condition",
            tokens[parser.pos].text()
        ));
    }
    Ok(value)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    And,
    Or,
    Not,
    Open,
    Close,
    /// A word: an integer, or a predicate name followed by its argument list.
    Word(String),
    /// The arguments of a predicate, split at commas and trimmed.
    Args(Vec<String>),
}

impl Token {
    fn text(&self) -> String {
        match self {
            Token::And => "&&".into(),
            Token::Or => "||".into(),
            Token::Not => "!".into(),
            Token::Open => "(".into(),
            Token::Close => ")".into(),
            Token::Word(w) => w.clone(),
            Token::Args(a) => format!("({})", a.join(",")),
        }
    }
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            c if c.is_whitespace() => i += 1,
            '&' if chars.get(i + 1) == Some(&'&') => {
                out.push(Token::And);
                i += 2;
            }
            '|' if chars.get(i + 1) == Some(&'|') => {
                out.push(Token::Or);
                i += 2;
            }
            '!' => {
                out.push(Token::Not);
                i += 1;
            }
            '(' if matches!(out.last(), Some(Token::Word(w)) if w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')) =>
            {
                // A predicate's argument list runs to the matching `)`.
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == ')')
                    .ok_or("a predicate's argument list lacks its `)`")?;
                let inner: String = chars[i + 1..i + 1 + close].iter().collect();
                let args = if inner.trim().is_empty() {
                    Vec::new()
                } else {
                    inner.split(',').map(|a| a.trim().to_string()).collect()
                };
                out.push(Token::Args(args));
                i += close + 2;
            }
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '!' | '&' | '|')
                {
                    i += 1;
                }
                if i == start {
                    return Err(format!("unexpected `{}` in the condition", chars[i]));
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    env: &'a Env,
    version: Version,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or(&mut self) -> Result<Truth, String> {
        let mut value = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            value = value.or(|| self.and())?;
        }
        Ok(value)
    }

    fn and(&mut self) -> Result<Truth, String> {
        let mut value = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            value = value.and(|| self.unary())?;
        }
        Ok(value)
    }

    fn unary(&mut self) -> Result<Truth, String> {
        match self.peek().cloned() {
            Some(Token::Not) => {
                self.pos += 1;
                Ok(self.unary()?.not())
            }
            Some(Token::Open) => {
                self.pos += 1;
                let value = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err("a `(` lacks its `)`".into());
                }
                self.pos += 1;
                Ok(value)
            }
            Some(Token::Word(word)) => {
                self.pos += 1;
                if let Some(Token::Args(args)) = self.peek().cloned() {
                    self.pos += 1;
                    return self.predicate(&word, &args);
                }
                match word.parse::<i64>() {
                    Ok(n) => Ok(Truth::Known(n != 0)),
                    Err(_) => Err(format!(
                        "`{word}` is neither an integer nor a predicate(...)"
                    )),
                }
            }
            Some(other) => Err(format!("unexpected `{}` in the condition", other.text())),
            None => Err("the condition ends too early".into()),
        }
    }

    fn predicate(&self, name: &str, args: &[String]) -> Result<Truth, String> {
        let known = PREDICATES
            .iter()
            .find(|(n, _)| *n == name)
            .filter(|(_, (major, minor))| self.version.at_least(*major, *minor));
        if known.is_none() {
            return Err(format!(
                "`{name}()` is not a predicate of HAProxy {}",
                self.version.line()
            ));
        }
        let arg = |i: usize| -> Result<&str, String> {
            args.get(i)
                .map(String::as_str)
                .ok_or_else(|| format!("`{name}()` takes {} argument(s)", i + 1))
        };
        Ok(match name {
            "defined" => {
                let var = arg(0)?;
                Truth::Known(
                    self.env.contains_key(var)
                        || predefined(self.version).iter().any(|(n, _)| *n == var),
                )
            }
            "streq" => Truth::Known(arg(0)? == arg(1)?),
            "strneq" => Truth::Known(arg(0)? != arg(1)?),
            "strstr" => Truth::Known(arg(0)?.contains(arg(1)?)),
            "version_atleast" | "version_before" => {
                let wanted = arg(0)?;
                match self.version.compare_to(wanted) {
                    Some(order) => Truth::Known(
                        (order != std::cmp::Ordering::Less) == (name == "version_atleast"),
                    ),
                    None => Truth::Unknown(format!(
                        "{name}({wanted}) depends on the patch level; pass --haproxy-version X.Y.Z"
                    )),
                }
            }
            "feature" => Truth::Unknown(format!(
                "feature({}) depends on how HAProxy was built (`haproxy -vv`)",
                arg(0)?
            )),
            "enabled" => Truth::Unknown(format!(
                "enabled({}) depends on HAProxy's command line",
                arg(0)?
            )),
            _ => Truth::Unknown(format!(
                "{name}() depends on the SSL library of the machine"
            )),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eval(text: &str, version: &str) -> Result<Truth, String> {
        let env: Env = [
            ("WITH_SSL".to_string(), "yes".to_string()),
            ("EMPTY".to_string(), String::new()),
        ]
        .into();
        evaluate(text, &env, Version::parse(version).unwrap())
    }

    #[test]
    fn the_manuals_forms() {
        let t = |b| Ok(Truth::Known(b));
        assert_eq!(eval("1", "2.6"), t(true));
        assert_eq!(eval("0", "2.6"), t(false));
        assert_eq!(eval("defined(WITH_SSL)", "2.6"), t(true));
        assert_eq!(eval("defined(EMPTY)", "2.6"), t(true));
        assert_eq!(eval("defined( NOPE )", "2.6"), t(false));
        assert_eq!(eval("!defined(NOPE)", "2.6"), t(true));
        assert_eq!(eval("streq(yes,yes) && strneq(a,b)", "2.6"), t(true));
        assert_eq!(eval("streq(a,b) || streq(c,c) && 0", "2.6"), t(false));
        assert_eq!(eval("(streq(a,b) || streq(c,c)) && 1", "2.6"), t(true));
        assert_eq!(eval("version_atleast(2.4-dev19)", "2.6"), t(true));
        assert_eq!(eval("version_before(3.0)", "2.6"), t(true));
        assert_eq!(eval("defined(HAPROXY_BRANCH)", "2.6"), t(false));
        assert_eq!(eval("defined(HAPROXY_BRANCH)", "3.2"), t(true));
        assert!(matches!(
            eval("feature(OPENSSL)", "3.2"),
            Ok(Truth::Unknown(_))
        ));
        // Three-valued: an unknown side does not matter when the other decides.
        assert_eq!(eval("feature(OPENSSL) && 0", "3.2"), t(false));
        assert_eq!(eval("feature(OPENSSL) || 1", "3.2"), t(true));
        assert!(matches!(
            eval("feature(LUA) && 1", "3.2"),
            Ok(Truth::Unknown(_))
        ));
        // Predicates of later versions are errors in earlier ones, as in haproxy -c.
        assert!(eval("strstr(abc,b)", "2.6").is_err());
        assert_eq!(eval("strstr(abc,b)", "3.0"), t(true));
        assert!(eval("enabled(POLL)", "2.6").is_err());
        assert!(matches!(
            eval("ssllib_name_startswith(OpenSSL)", "2.6"),
            Ok(Truth::Unknown(_))
        ));
        assert!(eval("", "3.2").is_err());
        assert!(eval("(1", "3.2").is_err());
        assert!(eval("nosuch(1)", "3.2").is_err());
        assert!(eval("yes", "3.2").is_err());
    }
}
