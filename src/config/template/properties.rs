use std::collections::BTreeMap;
use std::process::Command;

use proptest::prelude::*;

use super::Template;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Whatever a user sends (NUL aside, refused at scheduling) reaches the job as exactly
    /// one argument, byte for byte, through a real `/bin/sh -c`.
    #[test]
    fn quoting_round_trips_through_sh(value in "[^\u{0}]{0,64}|[$`'\"\\\\;&|<>(){}\n\t *?~#!-]{0,32}") {
        let template = Template::parse("f() {{ printf '%s|%s' \"$#\" \"$1\"; }}; f {v}").unwrap();
        let args = BTreeMap::from([("v".to_owned(), value.clone())]);
        let command = template.render(&args).unwrap();
        let out = Command::new("/bin/sh").arg("-c").arg(&command).output().unwrap();
        prop_assert!(out.status.success(), "{command}");
        prop_assert_eq!(String::from_utf8(out.stdout).unwrap(), format!("1|{value}"));
    }

    /// Parsing any text as a template never panics.
    #[test]
    fn parse_never_panics(text in ".{0,200}") {
        let _ = Template::parse(&text);
    }
}

mod rereads {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::super::Template;
    use super::super::tests::{PLAIN, REREADS, ran};
    use crate::config::params::{ParamRule, ParamType};

    /// Pieces of templates: every place the checker knows to be dangerous (that bash can run
    /// here) and every plain one.
    fn fragment() -> impl Strategy<Value = String> {
        let mut all: Vec<String> =
            REREADS.iter().filter(|(_, _, attack)| attack.is_some()).map(|(t, _, _)| (*t).to_owned()).collect();
        all.extend(PLAIN.iter().map(|t| (*t).to_owned()));
        proptest::sample::select(all)
    }

    fn template() -> impl Strategy<Value = String> {
        (proptest::collection::vec(fragment(), 1..4), proptest::sample::select(vec!["; ", "\n", " && ", " | "]))
            .prop_map(|(parts, sep)| parts.join(sep))
    }

    /// Rules from none at all to ones that still let dangerous characters through.
    fn rule() -> impl Strategy<Value = ParamRule> {
        let rules = vec![
            ParamRule::default(),
            ParamRule::new(ParamType::Int { min: None, max: None }, None, vec![], false, None).unwrap(),
            ParamRule::new(ParamType::Int { min: None, max: None }, None, vec![], true, None).unwrap(),
            ParamRule::new(ParamType::String, Some("^[a-z0-9]+$".into()), vec![], false, None).unwrap(),
            ParamRule::new(ParamType::String, Some(r"^[a-zA-Z0-9$()\[\] ;#`'\n]+$".into()), vec![], false, None)
                .unwrap(),
            ParamRule::new(ParamType::String, None, vec!["1".into(), "a[$(touch M)]".into()], false, None).unwrap(),
            ParamRule::new(ParamType::Url, None, vec![], false, None).unwrap(),
            ParamRule::new(ParamType::Path, None, vec![], false, None).unwrap(),
            ParamRule::new(ParamType::String, None, vec![], true, None).unwrap(),
        ];
        proptest::sample::select(rules)
    }

    /// Values built to run `touch M` from every kind of place.
    fn hostile() -> impl Strategy<Value = String> {
        let openers = vec!["", "a[$(", "$(", "`", ";", "\n", "'; ", "x\nEOF\n", " ", "$((", "https://x/$("];
        let closers = vec!["", ")]", ")", "`", " #", "\n", ";'", "))", " x"];
        prop_oneof![
            (proptest::sample::select(openers), proptest::sample::select(closers))
                .prop_map(|(o, c)| format!("{o}touch M{c}")),
            "[a-zA-Z0-9$()\\[\\] ;#`'\n-]{0,16}",
        ]
    }

    proptest! {
        // Most combinations are refused by the checker or the rule (cheap, nothing runs): only
        // the accepted ones count as cases.
        #![proptest_config(ProptestConfig { cases: 300, max_global_rejects: 200_000, ..ProptestConfig::default() })]

        /// For every generated template the checker accepts with the generated rule, and every
        /// hostile value that rule accepts, bash runs no injected command.
        #[test]
        fn no_accepted_template_runs_an_accepted_hostile_value(
            template in template(),
            rule in rule(),
            value in hostile(),
        ) {
            let Ok(t) = Template::parse(&template) else { return Ok(()) };
            prop_assume!(t.rereads().all(|(_, place)| rule.admits(place)));
            prop_assume!(rule.check("t", "v", &value).is_ok());
            // A value that does not fit a bare place is never rendered: nothing runs.
            let Some(command) = t.render(&BTreeMap::from([("v".to_owned(), value.clone())])) else { return Ok(()) };
            prop_assert!(!ran(&command), "{template:?} with {value:?} ran code");
        }
    }
}
