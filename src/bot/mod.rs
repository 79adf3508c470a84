//! The Slack bot: Socket Mode and the Events API feed one handler, which parses text with
//! [`crate::grammar`], runs the command layer and renders replies for Slack. (Not yet built.)

pub mod text;
