//! Any text through the HAProxy config parser, the evaluator and the whole HAProxy lint: no
//! panic, whatever the input. Run: `cargo fuzz run lint_config` (outside CI).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use sockproxy_gen::haproxy::syntax::Env;
use sockproxy_gen::lint::{self, LintOptions};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let env: Env = [("PORT".to_string(), "2375".to_string())].into();
    let options = LintOptions::new(Vec::new(), env, "3.2").expect("3.2 is supported");
    // Errors are fine (bad input is reported); panics are the bugs this looks for.
    let _ = lint::lint_text(Path::new("fuzz.cfg"), text, &options);
});
