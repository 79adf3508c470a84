use super::*;

fn rule(kind: ParamType, pattern: Option<&str>, choices: &[&str], allow_dash: bool) -> ParamRule {
    ParamRule::new(
        kind,
        pattern.map(str::to_owned),
        choices.iter().map(|c| (*c).to_owned()).collect(),
        allow_dash,
        None,
    )
    .unwrap()
}

fn refusal(rule: &ParamRule, value: &str) -> String {
    rule.check("op_import", "days", value).unwrap_err().to_string()
}

#[test]
fn by_default_a_value_may_not_begin_with_a_dash() {
    let r = ParamRule::default();
    assert!(r.check("t", "ref", "main").is_ok());
    assert!(r.check("t", "ref", "a-b").is_ok());
    assert_eq!(
        refusal(&r, "--output=/tmp/x"),
        "param `days` of `op_import` begins with `-`, which a program would read as an option; give text not \
         beginning with `-`, for example `text`"
    );
    assert!(rule(ParamType::String, None, &[], true).check("t", "ref", "--x").is_ok());
    // A pattern decides for itself.
    assert!(rule(ParamType::String, Some("-?[0-9]+"), &[], false).check("t", "n", "-5").is_ok());
    assert!(rule(ParamType::String, Some("[0-9]+"), &[], false).check("t", "n", "-5").is_err());
}

#[test]
fn ints_have_a_range() {
    let r = rule(ParamType::Int { min: Some(1), max: Some(30) }, None, &[], false);
    assert!(r.check("t", "days", "7").is_ok());
    assert_eq!(
        refusal(&r, "31"),
        "param `days` of `op_import` is 31, above the maximum 30; give a whole number from 1 to 30, for example `1`"
    );
    assert!(refusal(&r, "0").contains("is 0, below the minimum 1"));
    assert!(refusal(&r, "a[$(touch /tmp/x)]").contains("is not a whole number"));
    assert!(refusal(&r, "7 ").contains("is not a whole number"));
    assert!(refusal(&r, "+7").contains("is not a whole number"));
    assert!(refusal(&r, "99999999999999999999").contains("too large"));
    let negative = ParamRule::new(ParamType::Int { min: Some(-5), max: None }, None, vec![], true, None).unwrap();
    assert!(negative.check("t", "n", "-5").is_ok());
    let err =
        ParamRule::new(ParamType::Int { min: Some(-5), max: None }, None, vec![], false, None).unwrap_err().to_string();
    assert!(err.contains("add `allow_dash = true`"), "{err}");
    let err = ParamRule::new(ParamType::Int { min: Some(5), max: Some(1) }, None, vec![], false, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("min 5 is above max 1"), "{err}");
}

#[test]
fn urls_are_http_without_credentials() {
    let r = rule(ParamType::Url, None, &[], false);
    assert!(r.check("t", "u", "https://example.com/a?b=c").is_ok());
    assert!(r.check("t", "u", "http://10.0.0.1:8080/").is_ok());
    assert!(refusal(&r, "file:///etc/passwd").contains("is not an http or https URL"));
    assert!(refusal(&r, "https://user:pw@example.com/").contains("credentials"));
    assert!(refusal(&r, "https://example.com/\nx").contains("control"));
    assert!(refusal(&r, "-https://x").contains("begins with `-`"));
    assert!(refusal(&r, "https:example.com").contains("not an http"));
}

#[test]
fn paths_are_relative_without_dotdot() {
    let r = rule(ParamType::Path, None, &[], false);
    assert!(r.check("t", "p", "data/2024/file.csv").is_ok());
    assert!(refusal(&r, "/etc/passwd").contains("absolute"));
    assert!(refusal(&r, "a/../../etc").contains("`..`"));
    assert!(refusal(&r, "..").contains("`..`"));
    assert!(refusal(&r, "-rf").contains("begins with `-`"));
    assert!(refusal(&r, "a\nb").contains("control"));
    assert!(refusal(&r, "").contains("empty"));
}

#[test]
fn choices_and_patterns() {
    let r = rule(ParamType::String, None, &["daily", "weekly"], false);
    assert!(r.check("t", "p", "daily").is_ok());
    assert_eq!(
        refusal(&r, "hourly"),
        "param `days` of `op_import` is not one of the choices; give one of `daily`, `weekly`, for example `daily`"
    );
    let r = rule(ParamType::String, Some("^[a-z0-9_]+$"), &[], false);
    assert_eq!(r.example, "0");
    assert!(refusal(&r, "a b").contains("does not match the pattern `^[a-z0-9_]+$`"));
    // The whole value must match, even without anchors in the pattern.
    let r = rule(ParamType::String, Some("[a-z]+"), &[], false);
    assert!(r.check("t", "p", "abc;id").is_err());
    let err = ParamRule::new(ParamType::String, Some("(".to_owned()), vec![], false, None).unwrap_err().to_string();
    assert!(err.starts_with("pattern `(` is not a valid regex"), "{err}");
    let err = ParamRule::new(ParamType::Int { min: None, max: None }, None, vec!["x".to_owned()], false, None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("choice `x` is not a whole number"), "{err}");
    let err = ParamRule::new(ParamType::String, Some("[a-z]+".to_owned()), vec![], false, Some("A".to_owned()))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("example `A` does not match"), "{err}");
}

#[test]
fn alphabets_over_approximate_what_a_rule_lets_through() {
    let digits = Alphabet::of_str("0123456789");
    assert!(rule(ParamType::Int { min: Some(0), max: None }, None, &[], false).alphabet().within(digits));
    assert!(!rule(ParamType::Int { min: None, max: None }, None, &[], true).alphabet().within(digits));
    assert!(rule(ParamType::String, Some("^[0-9]{1,3}$"), &[], false).alphabet().within(digits));
    assert!(rule(ParamType::String, Some("1|22|(3)+"), &[], false).alphabet().within(digits));
    assert!(rule(ParamType::String, None, &["1", "22"], false).alphabet().within(digits));
    assert!(!rule(ParamType::String, Some("[0-9a]"), &[], false).alphabet().within(digits));
    assert!(!rule(ParamType::String, Some("\\d+"), &[], false).alphabet().within(digits), "\\d is Unicode");
    assert!(!rule(ParamType::String, Some("(?i)[0-9a]"), &[], false).alphabet().within(digits));
    assert!(!rule(ParamType::String, Some("[^a]"), &[], false).alphabet().within(digits));
    assert!(!ParamRule::default().alphabet().within(digits));
    assert_eq!(Alphabet::of_str("a$ \n").outside(Alphabet::of_str("a")), "\\n space $");
}
