//! "Did you mean ...?" for names the user mistyped.

/// The candidate closest to `input`, if it is close enough to be a plausible typo.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let lowered = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(&lowered, &c.to_ascii_lowercase()), c))
        // 0.8 keeps swaps and one-letter slips (IAMGES, INF0, treafik) and drops unrelated words.
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c.to_string())
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn finds_typos_and_ignores_noise() {
        let flags = ["IMAGES", "INFO", "CONTAINERS", "POST"];
        assert_eq!(closest("IAMGES", flags).as_deref(), Some("IMAGES"));
        assert_eq!(closest("INF0", flags).as_deref(), Some("INFO"));
        assert_eq!(closest("containers", flags).as_deref(), Some("CONTAINERS"));
        assert_eq!(closest("ZZZZZZZZ", flags), None);
    }
}
