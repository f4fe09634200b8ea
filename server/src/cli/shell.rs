//! `hsmseed shell`: the appliance console. A login prompt, the banner, then
//! a `qa-cli>` prompt that takes every console command with the same output.
//! On a terminal it has line editing and history; from a pipe it reads one
//! command per line, so scripts can drive it. A wrong login counts against
//! the same throttle as the web sign-in.

use std::io::{BufRead, IsTerminal, Write};

use clap::Parser;
use engine::audit::Actor;
use engine::Engine;
use secrecy::SecretString;
use tokio::runtime::Runtime;

use super::users::read_password;
use super::ConsoleCommand;

pub const PROMPT: &str = "qa-cli> ";

const BANNER: &str = "\
*****************************************
*                                       *
*       ~~ hsmseed Appliance CLI ~~     *
*                                       *
*****************************************

Welcome to hsmseed Appliance CLI
Type `help` for the commands, `exit` to leave.
";

/// One line at the prompt, parsed like the command line.
#[derive(Debug, Parser)]
#[command(no_binary_name = true, name = "qa-cli", disable_version_flag = true)]
struct Line {
    #[command(subcommand)]
    command: ConsoleCommand,
}

/// Where lines come from: an editor on a terminal, or plain stdin.
enum Input {
    Terminal(rustyline::DefaultEditor),
    Piped(std::io::StdinLock<'static>),
}

impl Input {
    fn new() -> Input {
        if std::io::stdin().is_terminal() {
            if let Ok(ed) = rustyline::DefaultEditor::new() {
                return Input::Terminal(ed);
            }
        }
        Input::Piped(std::io::stdin().lock())
    }

    /// The next line, or None at the end of input.
    fn read(&mut self, prompt: &str) -> Option<String> {
        match self {
            Input::Terminal(ed) => match ed.readline(prompt) {
                Ok(line) => {
                    if !line.trim().is_empty() {
                        let _ = ed.add_history_entry(line.as_str());
                    }
                    Some(line)
                }
                Err(rustyline::error::ReadlineError::Interrupted) => Some(String::new()),
                Err(_) => None,
            },
            Input::Piped(stdin) => {
                let mut line = String::new();
                match stdin.read_line(&mut line) {
                    Ok(0) | Err(_) => None,
                    Ok(_) => Some(line.trim_end_matches(['\r', '\n']).to_string()),
                }
            }
        }
    }

    fn is_terminal(&self) -> bool {
        matches!(self, Input::Terminal(_))
    }
}

/// A command's secret comes from the console's own input: the terminal
/// without echo, or the next line of the pipe (standard input is already
/// held by the console).
impl super::SecretInput for Input {
    fn secret(&mut self, prompt: &str) -> anyhow::Result<SecretString> {
        match self {
            Input::Terminal(_) => read_password(prompt),
            piped => Ok(SecretString::from(piped.read("").unwrap_or_default())),
        }
    }

    fn is_terminal(&self) -> bool {
        Input::is_terminal(self)
    }

    fn read_to_end(&mut self) -> anyhow::Result<SecretString> {
        // The console reads its commands there: it cannot also be a file.
        anyhow::bail!(
            "in the console, standard input holds the commands: give the passwords as a file \
             (--passwords=FILE)"
        )
    }
}

fn help(out: &mut impl Write) -> std::io::Result<()> {
    use clap::CommandFactory;
    let mut cmd = Line::command();
    writeln!(out, "Commands:")?;
    for sub in cmd.get_subcommands_mut() {
        if sub.get_name() == "help" {
            continue;
        }
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(out, "  {:<22} {about}", sub.get_name())?;
    }
    writeln!(out, "  {:<22} This list.", "help")?;
    writeln!(out, "  {:<22} Leave the console.", "exit")?;
    writeln!(out, "`COMMAND --help` tells a command's flags.")
}

/// Runs the console until `exit` or the end of input.
pub fn run(runtime: &Runtime, engine: Engine) -> anyhow::Result<()> {
    // Nobody could log in: say why and how to fix it, rather than refuse
    // every password as "Login incorrect".
    if runtime.block_on(engine.auth().list_users())?.is_empty() {
        anyhow::bail!(
            "no administrator exists yet on {}: start the server once (`hsmseed serve` \
             prints the first administrator's password), or add one with \
             `hsmseed user-add --name=admin`",
            engine.settings().data_dir.display()
        );
    }
    let mut input = Input::new();
    let attempts = if input.is_terminal() { 3 } else { 1 };
    let user = 'login: {
        for _ in 0..attempts {
            let Some(name) = input.read("qa login: ") else {
                anyhow::bail!("no login given");
            };
            let password = super::SecretInput::secret(&mut input, "Password: ")?;
            match runtime.block_on(engine.auth().login(name.trim(), &password, None, "console")) {
                Ok(u) => break 'login u,
                Err(engine::Error::Throttled { retry_after_secs }) => {
                    eprintln!("Too many failed attempts. Try again in {retry_after_secs} s.");
                }
                Err(engine::Error::BadCredentials) => eprintln!("Login incorrect"),
                Err(e) => return Err(e.into()),
            }
        }
        anyhow::bail!("login refused");
    };
    let actor = Actor::user(user.name.clone(), None);
    let mut out = std::io::stdout();
    write!(out, "{BANNER}")?;
    out.flush()?;
    // Prompts go to the terminal only: piped output stays just the results.
    let prompt = if input.is_terminal() { PROMPT } else { "" };
    while let Some(line) = input.read(prompt) {
        let words = match shlex::split(line.trim()) {
            Some(w) => w,
            None => {
                eprintln!("unbalanced quotes");
                continue;
            }
        };
        match words.first().map(String::as_str) {
            None => continue,
            Some("exit" | "quit" | "logout") => break,
            Some("help" | "?") => {
                help(&mut out)?;
                continue;
            }
            Some(_) => {}
        }
        match Line::try_parse_from(&words) {
            Ok(Line { command }) => {
                let mut buf = Vec::new();
                let r = runtime.block_on(super::run_console(
                    &engine, &command, &actor, &mut buf, &mut input,
                ));
                out.write_all(&buf)?;
                if let Err(e) = r {
                    eprintln!("Error: {e:#}");
                }
            }
            Err(e) => {
                // clap's own message: unknown command, missing flag, --help.
                let _ = e.print();
            }
        }
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_banners_box_is_closed() {
        let boxed: Vec<&str> = super::BANNER.lines().take(5).collect();
        assert!(boxed.iter().all(|l| l.starts_with('*') && l.ends_with('*')));
        assert!(
            boxed
                .iter()
                .all(|l| l.chars().count() == boxed[0].chars().count()),
            "{boxed:#?}"
        );
    }
}
