//! Slack's rate limits are per Web API method: a `Retry-After` on `chat.postMessage` holds
//! back every message of this process that would post, not only the one that was refused,
//! while reactions and uploads go on. Kept per process (each process has its own client and
//! meets Slack's answers itself).

use std::collections::HashMap;

use jiff::Timestamp;

#[derive(Debug, Default)]
pub(super) struct Holds(HashMap<&'static str, Timestamp>);

impl Holds {
    /// `method` may not be called before `until`.
    pub(super) fn hold(&mut self, method: &'static str, until: Timestamp) {
        let at = self.0.entry(method).or_insert(until);
        *at = (*at).max(until);
    }

    /// When the last of `methods` that is held is free again, if any is held at `now`.
    pub(super) fn until(&mut self, methods: &[&'static str], now: Timestamp) -> Option<Timestamp> {
        self.0.retain(|_, until| *until > now);
        methods.iter().filter_map(|m| self.0.get(m).copied()).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_held_until_its_time_and_others_are_not() {
        let t = |s: i64| Timestamp::from_second(1_800_000_000 + s).unwrap();
        let mut holds = Holds::default();
        holds.hold("chat.postMessage", t(30));
        holds.hold("chat.postMessage", t(10));
        assert_eq!(holds.until(&["reactions.add"], t(0)), None);
        assert_eq!(holds.until(&["conversations.list", "chat.postMessage"], t(0)), Some(t(30)), "the later wins");
        assert_eq!(holds.until(&["chat.postMessage"], t(30)), None, "free at its time");
    }
}
