use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    ebmbot::cli::completions::complete_from_env();
    let cli = ebmbot::cli::Cli::parse();
    ebmbot::cli::init_tracing(cli.verbose);
    ebmbot::cli::run(cli)
}
