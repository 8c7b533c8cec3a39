//! `rewriter desk`: serve the editors' desk until SIGINT/SIGTERM; `rewriter desk add-user
//! NAME`: add an account (the password without echo on a terminal, else one line of stdin).

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{DeskArgs, DeskCommand};
use crate::config::Settings;
use crate::desk::{self, accounts::Accounts};

pub async fn run(settings: Settings, args: DeskArgs) -> anyhow::Result<bool> {
    match args.command {
        Some(DeskCommand::AddUser { name }) => add_user(&settings, &name),
        None => {
            let (mut interrupt, mut terminate) = (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            );
            let shutdown = async move {
                tokio::select! {
                    _ = interrupt.recv() => {}
                    _ = terminate.recv() => {}
                }
            };
            desk::serve(settings, shutdown).await?;
            Ok(true)
        }
    }
}

fn add_user(settings: &Settings, name: &str) -> anyhow::Result<bool> {
    let path = desk::users_file(settings)?;
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("password for {name}: "))?;
        let again = rpassword::prompt_password("again: ")?;
        if first != again {
            eprintln!("the two passwords differ; nothing changed");
            return Ok(false);
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    Accounts::set(&path, name, &password)?;
    println!("{name}: account saved in {}", path.display());
    Ok(true)
}
