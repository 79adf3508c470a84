//! The command line: clap definitions, and rendering of command results as tables or JSON.
