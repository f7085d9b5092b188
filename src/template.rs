//! The minijinja set-up shared by every generated file (haproxy.cfg, compose YAML).

use serde::Serialize;

/// Renders an embedded template. Templates are part of the binary and their views are typed,
/// so a failure here is a build defect caught by the snapshot tests, not a user error.
pub fn render(name: &'static str, source: &'static str, view: &impl Serialize) -> String {
    // Parsing a template costs more than rendering it, and lint re-renders one baseline per
    // file: keep one environment per thread, each template parsed once.
    thread_local! {
        static ENV: std::cell::RefCell<minijinja::Environment<'static>> =
            std::cell::RefCell::new(environment());
    }
    ENV.with(|env| {
        let mut env = env.borrow_mut();
        if env.get_template(name).is_err() {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name} parses: {e}"));
        }
        env.get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(view)))
            .unwrap_or_else(|e| panic!("{name} renders: {e:#}"))
    })
}

fn environment() -> minijinja::Environment<'static> {
    let mut env = minijinja::Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .keep_trailing_newline(true)
            .build()
            .expect("static syntax config"),
    );
    // A double-quoted scalar: JSON strings are valid YAML and need no further escaping.
    env.add_filter("quoted", |s: String| {
        serde_json::to_string(&s).expect("a string serialises")
    });
    env
}
