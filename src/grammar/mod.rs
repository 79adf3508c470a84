//! The one text grammar, shared by the Slack bot and `ebmbot say` (DESIGN §7, "Grammar").
