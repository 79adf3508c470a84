//! Support listeners' state (docs/slack.md, "Support listeners"): which messages each listener
//! has re-posted, its out-of-office period, and the channels the bot is in with the last
//! message read in each (where the catch-up begins).

use jiff::Timestamp;

use super::{Queue, Result, ms, ts};

/// A listener's out-of-office period: while `start <= now < end`, its matches get a reply.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OutOfOffice {
    pub listener: String,
    #[serde(serialize_with = "crate::queue::model::ser_ts")]
    pub start: Timestamp,
    #[serde(serialize_with = "crate::queue::model::ser_ts")]
    pub end: Timestamp,
    /// Who set it (`terminal:<user>`, a Slack user id).
    pub set_by: String,
}

impl OutOfOffice {
    pub fn holds(&self, at: Timestamp) -> bool {
        self.start <= at && at < self.end
    }
}

/// The channels the bot is in, as the last catch-up listed them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ChannelsHeard {
    pub channels: u64,
    /// When they were last listed; `None` before the first catch-up.
    #[serde(serialize_with = "crate::queue::model::ser_opt_ts")]
    pub listed_at: Option<Timestamp>,
}

impl Queue {
    /// Records that `listener` re-posts the message (`channel`, `message_ts`). False when it
    /// already had: the caller then posts nothing.
    pub fn record_repost(&mut self, listener: &str, channel: &str, message_ts: &str, now: Timestamp) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec(
            "INSERT INTO support_reposts (listener, channel, message_ts, created_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT DO NOTHING",
            &[&listener, &channel, &message_ts, &ms(now)],
        )?;
        tx.commit()?;
        Ok(n == 1)
    }

    /// Sets `listener`'s out-of-office period (replacing any other), and deletes ended ones.
    pub fn set_out_of_office(&mut self, period: &OutOfOffice, now: Timestamp) -> Result<()> {
        let tx = self.write()?;
        tx.exec("DELETE FROM out_of_office WHERE ends_at <= ?1 OR listener = ?2", &[&ms(now), &period.listener])?;
        tx.exec(
            "INSERT INTO out_of_office (listener, starts_at, ends_at, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[&period.listener, &ms(period.start), &ms(period.end), &period.set_by, &ms(now)],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Ends `listener`'s out-of-office period; returns whether one had not ended yet.
    pub fn clear_out_of_office(&mut self, listener: &str, now: Timestamp) -> Result<bool> {
        let tx = self.write()?;
        let n = tx.exec("DELETE FROM out_of_office WHERE listener = ?1 AND ends_at > ?2", &[&listener, &ms(now)])?;
        tx.exec("DELETE FROM out_of_office WHERE ends_at <= ?1", &[&ms(now)])?;
        tx.commit()?;
        Ok(n > 0)
    }

    /// Periods that have not ended, by listener.
    pub fn out_of_office(&self, now: Timestamp) -> Result<Vec<OutOfOffice>> {
        self.db.rows(
            "SELECT listener, starts_at, ends_at, set_by FROM out_of_office WHERE ends_at > ?1 ORDER BY listener",
            &[&ms(now)],
            |r| Ok(OutOfOffice { listener: r.get(0)?, start: ts(r.get(1)?), end: ts(r.get(2)?), set_by: r.get(3)? }),
        )
    }

    /// The channels the bot is in, with the ts of the last message read in each (`None`: none
    /// read yet).
    pub fn slack_channels(&self) -> Result<Vec<(String, Option<String>)>> {
        self.db
            .rows("SELECT channel, last_ts FROM slack_channels ORDER BY channel", &[], |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// Replaces the list of channels the bot is in (keeping the last message read in those it
    /// stays in).
    pub fn set_slack_channels(&mut self, channels: &[String], now: Timestamp) -> Result<()> {
        let tx = self.write()?;
        let known: Vec<String> = tx.rows("SELECT channel FROM slack_channels", &[], |r| r.get(0))?;
        for gone in known.iter().filter(|c| !channels.contains(c)) {
            tx.exec("DELETE FROM slack_channels WHERE channel = ?1", &[gone])?;
        }
        for channel in channels {
            tx.exec(
                "INSERT INTO slack_channels (channel, read_at) VALUES (?1, ?2)
                 ON CONFLICT (channel) DO UPDATE SET read_at = excluded.read_at",
                &[channel, &ms(now)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Records the last message read in `channel` (never moving it back).
    pub fn set_channel_read(&mut self, channel: &str, last_ts: &str, now: Timestamp) -> Result<()> {
        let tx = self.write()?;
        let current: Option<Option<String>> =
            tx.row("SELECT last_ts FROM slack_channels WHERE channel = ?1", &[&channel], |r| r.get(0))?;
        let newer = current.flatten().is_none_or(|c| ts_order(&c) < ts_order(last_ts));
        if newer {
            tx.exec(
                "INSERT INTO slack_channels (channel, last_ts, read_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (channel) DO UPDATE SET last_ts = excluded.last_ts, read_at = excluded.read_at",
                &[&channel, &last_ts, &ms(now)],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// How many channels the bot is in, as last listed.
    pub fn channels_heard(&self) -> Result<ChannelsHeard> {
        let (n, at): (i64, Option<i64>) = self
            .db
            .row("SELECT count(*), max(read_at) FROM slack_channels", &[], |r| Ok((r.get(0)?, r.get(1)?)))?
            .unwrap_or((0, None));
        Ok(ChannelsHeard { channels: u64::try_from(n).unwrap_or(0), listed_at: at.map(ts) })
    }

    /// Deletes re-post records made before `before`, channel rows not listed since `before`,
    /// and out-of-office periods that have ended by `now`. Returns how many rows went.
    pub fn prune_support(&mut self, before: Timestamp, now: Timestamp) -> Result<u64> {
        let tx = self.write()?;
        let reposts = tx.exec("DELETE FROM support_reposts WHERE created_at < ?1", &[&ms(before)])?;
        let channels = tx.exec("DELETE FROM slack_channels WHERE read_at < ?1", &[&ms(before)])?;
        let ooo = tx.exec("DELETE FROM out_of_office WHERE ends_at <= ?1", &[&ms(now)])?;
        tx.commit()?;
        Ok(reposts + channels + ooo)
    }
}

/// A Slack ts (`"1700000000.000100"`) as a number that sorts like it: seconds then the
/// fraction, so `"9.5"` comes before `"10.1"`.
pub fn ts_order(slack_ts: &str) -> (u64, u64) {
    let (secs, frac) = slack_ts.split_once('.').unwrap_or((slack_ts, "0"));
    let frac = format!("{frac:0<6}");
    (secs.parse().unwrap_or(0), frac.get(..6).unwrap_or("0").parse().unwrap_or(0))
}
