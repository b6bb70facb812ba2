//! The command line: clap definition (also used for the man page and completions) and the
//! commands, written against [`ConfigFs`] so they run the same on the fake in tests.

use crate::fs::{ConfigFs, RealFs};
use crate::model::{human_size, Config};
use crate::parse::{parse_config, Diagnostic};
use crate::plan::{execute, plan, Plan};
use crate::read::{read_config, read_devices, read_sessions, read_status};
use crate::{import, table};
use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Default configfs root of the Ferrule module.
pub const DEFAULT_ROOT: &str = "/sys/kernel/config/ferrule";

/// Exit status: a command's subject had errors (invalid file, refused apply).
pub const EXIT_FAILURE: i32 = 1;
/// Exit status: the Ferrule module is not loaded (no configfs root).
pub const EXIT_NOT_LOADED: i32 = 3;

/// Administer Ferrule, the Fibre Channel SCSI target: show state, and apply, save and check
/// declarative TOML configurations of its configfs tree.
#[derive(Parser, Debug)]
#[command(name = "ferrule", version, after_help = EXIT_HELP)]
pub struct Cli {
    /// Ferrule's configfs directory.
    #[arg(long, global = true, env = "FERRULE_CONFIGFS", default_value = DEFAULT_ROOT, value_name = "DIR")]
    pub configfs_root: PathBuf,
    /// Print machine-readable JSON instead of tables (read commands and check).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_HELP: &str = "Exit status: 0 success, 1 invalid file or refused change, \
2 usage error, 3 Ferrule module not loaded.";

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Module loaded? Version and object counts.
    Status,
    /// Devices with backend, size, state and the LUNs that map them.
    Devices,
    /// Logged-in initiator sessions of every target.
    Sessions,
    /// Make the running configuration match FILE (idempotent: creates, changes and removes).
    Apply {
        /// Ferrule TOML configuration.
        file: PathBuf,
        /// Print the plan (a diff of configfs operations) and change nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
    },
    /// Stop every target and remove the whole running configuration, in a safe order: all
    /// targets disabled first (initiators logged out), then LUNs, members, groups, targets,
    /// NPIV ports, devices. What `systemctl stop ferrule` runs; the module can be unloaded
    /// afterwards.
    Clear {
        /// Print the plan and change nothing.
        #[arg(long, short = 'n')]
        dry_run: bool,
    },
    /// Write the running configuration as Ferrule TOML ("-" or nothing: standard output).
    Save {
        /// Output file.
        file: Option<PathBuf>,
    },
    /// Validate FILE and print every error with its line and column.
    Check {
        /// Ferrule TOML configuration.
        file: PathBuf,
    },
    /// Convert another target's configuration to Ferrule TOML (on standard output).
    Import {
        /// Source format.
        #[arg(value_enum)]
        format: ImportFormat,
        /// The file (/etc/scst.conf, saveconfig.json).
        file: PathBuf,
    },
    /// Print a shell completion script.
    Completions {
        /// Shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff).
    Manpage,
}

/// Configuration formats `import` reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    /// SCST's scst.conf (scstadmin -write_config).
    Scst,
    /// LIO's targetcli saveconfig.json.
    Targetcli,
}

/// Where command output goes (real stdout/stderr, or buffers in tests).
pub struct Io<'a> {
    /// Standard output.
    pub out: &'a mut dyn Write,
    /// Standard error.
    pub err: &'a mut dyn Write,
}

macro_rules! say {
    ($w:expr, $($arg:tt)*) => { let _ = writeln!($w, $($arg)*); };
}

/// Entry point of the binary.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let mut fs = RealFs::new(&cli.configfs_root);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    let mut out = stdout.lock();
    let mut err = stderr.lock();
    let code = run(
        &cli,
        &mut fs,
        &mut Io {
            out: &mut out,
            err: &mut err,
        },
    );
    let _ = out.flush();
    code
}

/// Runs a parsed command line against `fs`; returns the exit status.
pub fn run(cli: &Cli, fs: &mut dyn ConfigFs, io: &mut Io<'_>) -> i32 {
    let root = cli.configfs_root.display().to_string();
    let needs_module = matches!(
        cli.command,
        Command::Devices
            | Command::Sessions
            | Command::Apply { .. }
            | Command::Clear { .. }
            | Command::Save { .. }
    );
    if needs_module && !fs.root_exists() {
        say!(
            io.err,
            "ferrule: {root} does not exist: is the module loaded (modprobe ferrule) and configfs mounted?"
        );
        return EXIT_NOT_LOADED;
    }
    match &cli.command {
        Command::Status => status(cli, fs, &root, io),
        Command::Devices => devices(cli, fs, io),
        Command::Sessions => sessions(cli, fs, io),
        Command::Apply { file, dry_run } => apply(fs, file, *dry_run, io),
        Command::Clear { dry_run } => clear(fs, *dry_run, io),
        Command::Save { file } => save(fs, file.as_deref(), &root, io),
        Command::Check { file } => check(cli, file, io),
        Command::Import { format, file } => import_cmd(*format, file, io),
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "ferrule", io.out);
            0
        }
        Command::Manpage => match manpage(io.out) {
            Ok(()) => 0,
            Err(e) => {
                say!(io.err, "ferrule: manpage: {e}");
                EXIT_FAILURE
            }
        },
    }
}

fn json(io: &mut Io<'_>, v: &impl serde::Serialize) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => {
            say!(io.out, "{s}");
        }
        Err(e) => {
            say!(io.err, "ferrule: json: {e}");
        }
    }
}

fn status(cli: &Cli, fs: &dyn ConfigFs, root: &str, io: &mut Io<'_>) -> i32 {
    let st = match read_status(fs, root) {
        Ok(s) => s,
        Err(e) => {
            say!(io.err, "ferrule: status: {e}");
            return EXIT_FAILURE;
        }
    };
    if cli.json {
        json(io, &st);
    } else if !st.loaded {
        say!(io.out, "ferrule: not loaded ({root} does not exist)");
    } else {
        say!(
            io.out,
            "ferrule {} loaded ({root})",
            st.version.as_deref().unwrap_or("?")
        );
        say!(
            io.out,
            "devices:  {} ({} enabled)",
            st.devices,
            st.devices_enabled
        );
        say!(
            io.out,
            "targets:  {} ({} enabled)",
            st.targets,
            st.targets_enabled
        );
        say!(io.out, "groups:   {}", st.groups);
        say!(io.out, "LUNs:     {}", st.luns);
        say!(
            io.out,
            "sessions: {} ({} FC, {} local)",
            st.sessions,
            st.sessions_fc,
            st.sessions_local
        );
    }
    for b in &st.sessions_unparsed {
        say!(io.err, "ferrule: status: unparsed line in {b}");
    }
    if st.loaded {
        0
    } else {
        EXIT_NOT_LOADED
    }
}

fn devices(cli: &Cli, fs: &dyn ConfigFs, io: &mut Io<'_>) -> i32 {
    let rows = match read_devices(fs) {
        Ok(r) => r,
        Err(e) => {
            say!(io.err, "ferrule: devices: {e}");
            return EXIT_FAILURE;
        }
    };
    if cli.json {
        json(io, &rows);
        return 0;
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|d| {
            let mut flags = Vec::new();
            if d.read_only {
                flags.push("ro");
            }
            if d.write_cache {
                flags.push("wb");
            }
            if d.thin {
                flags.push("thin");
            }
            vec![
                d.name.clone(),
                d.backend.as_str().into(),
                human_size(d.size),
                d.block_size.to_string(),
                if d.enabled { "enabled" } else { "disabled" }.into(),
                if flags.is_empty() {
                    "-".into()
                } else {
                    flags.join(",")
                },
                if d.path.is_empty() {
                    "-".into()
                } else {
                    d.path.clone()
                },
                d.mapped_by.len().to_string(),
                d.serial.clone(),
            ]
        })
        .collect();
    let _ = io.out.write_all(
        table::render(
            &[
                "NAME", "BACKEND", "SIZE", "BS", "STATE", "FLAGS", "PATH", "LUNS", "SERIAL",
            ],
            &cells,
        )
        .as_bytes(),
    );
    0
}

fn sessions(cli: &Cli, fs: &dyn ConfigFs, io: &mut Io<'_>) -> i32 {
    let (list, bad) = match read_sessions(fs) {
        Ok(r) => r,
        Err(e) => {
            say!(io.err, "ferrule: sessions: {e}");
            return EXIT_FAILURE;
        }
    };
    for b in &bad {
        say!(io.err, "ferrule: sessions: unparsed line in {b}");
    }
    if cli.json {
        json(io, &list);
        return 0;
    }
    let cells: Vec<Vec<String>> = list
        .iter()
        .map(|s| {
            vec![
                format!("{}/{}", s.fabric.as_str(), s.target),
                s.initiator.clone(),
                s.port_id.clone(),
                s.handle.clone(),
                s.group.clone(),
                if s.luns.is_empty() {
                    "-".into()
                } else {
                    s.luns
                        .iter()
                        .map(u8::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                },
                s.commands.to_string(),
            ]
        })
        .collect();
    let _ = io.out.write_all(
        table::render(
            &[
                "TARGET",
                "INITIATOR",
                "N_PORT_ID",
                "HANDLE",
                "GROUP",
                "LUNS",
                "COMMANDS",
            ],
            &cells,
        )
        .as_bytes(),
    );
    0
}

/// Reads and validates a config file; prints diagnostics as `FILE:LINE:COL: message`.
fn load(file: &Path, cmd: &str, io: &mut Io<'_>) -> Result<Config, Vec<Diagnostic>> {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            say!(io.err, "ferrule: {cmd}: {}: {e}", file.display());
            return Err(Vec::new());
        }
    };
    parse_config(&text)
}

fn print_diagnostics(file: &Path, diags: &[Diagnostic], io: &mut Io<'_>) {
    for d in diags {
        say!(
            io.err,
            "{}:{}:{}: error: {}",
            file.display(),
            d.line,
            d.column,
            d.message
        );
    }
}

fn check(cli: &Cli, file: &Path, io: &mut Io<'_>) -> i32 {
    match load(file, "check", io) {
        Ok(c) => {
            if cli.json {
                json(
                    io,
                    &serde_json::json!({"file": file, "ok": true, "errors": []}),
                );
            } else {
                say!(
                    io.out,
                    "{}: ok ({} devices, {} targets)",
                    file.display(),
                    c.devices.len(),
                    c.targets.len()
                );
            }
            0
        }
        Err(diags) => {
            if cli.json {
                let errors: Vec<_> = diags
                    .iter()
                    .map(|d| serde_json::json!({"line": d.line, "column": d.column, "message": d.message}))
                    .collect();
                json(
                    io,
                    &serde_json::json!({"file": file, "ok": false, "errors": errors}),
                );
            } else {
                print_diagnostics(file, &diags, io);
                if !diags.is_empty() {
                    say!(io.err, "{}: {} error(s)", file.display(), diags.len());
                }
            }
            EXIT_FAILURE
        }
    }
}

fn apply(fs: &mut dyn ConfigFs, file: &Path, dry_run: bool, io: &mut Io<'_>) -> i32 {
    let desired = match load(file, "apply", io) {
        Ok(c) => c,
        Err(diags) => {
            print_diagnostics(file, &diags, io);
            say!(
                io.err,
                "ferrule: apply: {} is invalid; nothing was changed",
                file.display()
            );
            return EXIT_FAILURE;
        }
    };
    let current = match read_config(fs) {
        Ok(c) => c,
        Err(e) => {
            say!(
                io.err,
                "ferrule: apply: reading the running configuration: {e}"
            );
            return EXIT_FAILURE;
        }
    };
    let p = plan(&current, &desired);
    let nothing = format!(
        "nothing to do; the running configuration matches {}",
        file.display()
    );
    run_plan(fs, &p, dry_run, "apply", &nothing, io)
}

fn clear(fs: &mut dyn ConfigFs, dry_run: bool, io: &mut Io<'_>) -> i32 {
    let current = match read_config(fs) {
        Ok(c) => c,
        Err(e) => {
            say!(
                io.err,
                "ferrule: clear: reading the running configuration: {e}"
            );
            return EXIT_FAILURE;
        }
    };
    // The plan to an empty configuration disables every target before removing anything.
    let p = plan(&current, &Config::default());
    run_plan(
        fs,
        &p,
        dry_run,
        "clear",
        "nothing to do; no configuration",
        io,
    )
}

/// Prints (dry run) or executes a plan; on a refused step, reports what was already done.
fn run_plan(
    fs: &mut dyn ConfigFs,
    p: &Plan,
    dry_run: bool,
    cmd: &str,
    nothing: &str,
    io: &mut Io<'_>,
) -> i32 {
    if p.is_empty() {
        say!(io.out, "ferrule: {cmd}: {nothing}");
        return 0;
    }
    if dry_run {
        let _ = write!(io.out, "{p}");
        say!(io.out, "dry run: {} (nothing was changed)", p.summary());
        return 0;
    }
    match execute(fs, p) {
        Ok(n) => {
            say!(io.out, "ferrule: {cmd}: done, {n} steps ({})", p.summary());
            0
        }
        Err(e) => {
            say!(io.err, "ferrule: {cmd}: {e}");
            if e.done == 0 && e.undone > 0 {
                let undone = p.steps.get(..e.undone).unwrap_or_default();
                let ports = undone.iter().filter(|s| s.npiv_added().is_some()).count();
                let made = match (e.undone - ports, ports) {
                    (t, 0) => format!("{t} FC target(s)"),
                    (0, n) => format!("{n} NPIV port(s)"),
                    (t, n) => format!("{t} FC target(s) and {n} NPIV port(s)"),
                };
                say!(
                    io.err,
                    "ferrule: {cmd}: stopped; the {made} made before it were removed again; nothing was changed"
                );
            } else if e.done == 0 {
                say!(
                    io.err,
                    "ferrule: {cmd}: stopped at the first step; nothing was changed"
                );
            } else {
                say!(
                    io.err,
                    "ferrule: {cmd}: stopped; {} of {} steps were already applied:",
                    e.done,
                    p.steps.len()
                );
                for s in p.steps.iter().take(e.done) {
                    say!(io.err, "  {s}");
                }
            }
            EXIT_FAILURE
        }
    }
}

fn save(fs: &dyn ConfigFs, file: Option<&Path>, root: &str, io: &mut Io<'_>) -> i32 {
    let cfg = match read_config(fs) {
        Ok(c) => c.normalised(),
        Err(e) => {
            say!(io.err, "ferrule: save: {e}");
            return EXIT_FAILURE;
        }
    };
    // A file names an NPIV port only through its target's `npiv_parent`.
    let mut orphans = String::new();
    for p in &cfg.npiv {
        if !cfg
            .targets
            .iter()
            .any(|t| t.npiv_parent.is_some() && t.wwpn == p.wwpn)
        {
            say!(
                io.err,
                "ferrule: save: NPIV port {} (on {}) has no target, so the file cannot name it; applying the file deletes it",
                p.wwpn,
                p.parent
            );
            orphans.push_str(&format!(
                "# Not saved: NPIV port {} on {} has no target (applying this file deletes it).\n",
                p.wwpn, p.parent
            ));
        }
    }
    let text = format!(
        "# Ferrule configuration saved from {root} by `ferrule save`.\n{orphans}\n{}",
        cfg.to_toml()
    );
    match file {
        None => {
            let _ = io.out.write_all(text.as_bytes());
            0
        }
        Some(p) if p == Path::new("-") => {
            let _ = io.out.write_all(text.as_bytes());
            0
        }
        Some(p) => {
            // Write then rename, so an interrupted save never leaves half a file.
            let tmp = p.with_extension("tmp~");
            let r = std::fs::write(&tmp, &text).and_then(|_| std::fs::rename(&tmp, p));
            match r {
                Ok(()) => {
                    say!(io.out, "ferrule: save: wrote {}", p.display());
                    0
                }
                Err(e) => {
                    let _ = std::fs::remove_file(&tmp);
                    say!(io.err, "ferrule: save: {}: {e}", p.display());
                    EXIT_FAILURE
                }
            }
        }
    }
}

fn import_cmd(format: ImportFormat, file: &Path, io: &mut Io<'_>) -> i32 {
    let text = match std::fs::read_to_string(file) {
        Ok(t) => t,
        Err(e) => {
            say!(io.err, "ferrule: import: {}: {e}", file.display());
            return EXIT_FAILURE;
        }
    };
    let result = match format {
        ImportFormat::Scst => import::scst::import(&text),
        ImportFormat::Targetcli => import::targetcli::import(&text),
    };
    let imported = match result {
        Ok(r) => r,
        Err(e) => {
            say!(io.err, "ferrule: import: {}: {e}", file.display());
            return EXIT_FAILURE;
        }
    };
    let _ = io
        .out
        .write_all(imported.render(&file.display().to_string()).as_bytes());
    for n in &imported.notes {
        say!(io.err, "ferrule: import: not carried over: {n}");
    }
    0
}

fn roff_text(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = line.replace('\\', "\\e");
        if line.starts_with('.') || line.starts_with('\'') {
            out.push_str("\\&");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Writes ferrule(8): clap_mangen's title, synopsis and options, then every subcommand's
/// full help, and the exit status, environment, files and examples.
pub fn manpage(w: &mut dyn Write) -> std::io::Result<()> {
    let cmd = Cli::command();
    let man = clap_mangen::Man::new(cmd.clone()).section("8");
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    w.write_all(&buf)?;
    writeln!(w, ".SH COMMANDS")?;
    for sub in cmd.get_subcommands() {
        let mut sub = sub.clone().bin_name(format!("ferrule {}", sub.get_name()));
        let help = sub.render_long_help().to_string();
        writeln!(w, ".SS ferrule {}", sub.get_name())?;
        writeln!(w, ".nf")?;
        w.write_all(roff_text(&help).as_bytes())?;
        writeln!(w, ".fi")?;
    }
    let tail = "\
.SH EXIT STATUS
0 success; 1 invalid file, or the kernel refused a change (the failing attribute, the errno
and the kernel's reason are printed, with the steps already applied); 2 usage error;
3 the Ferrule module is not loaded (no configfs root).
.SH ENVIRONMENT
.TP
.B FERRULE_CONFIGFS
Ferrule's configfs directory (default /sys/kernel/config/ferrule).
.SH FILES
.TP
.I /etc/ferrule/ferrule.toml
The configuration ferrule.service applies at boot (ferrule\\-boot start) after loading the
module; the service's stop runs ferrule clear.
.TP
.I /usr/share/doc/ferrule-tools/examples/ferrule.toml
An annotated example configuration: [[device]], [[target]] and [[target.group]] tables
(tools/ferrule/examples/ferrule.toml in the source tree).
.SH EXAMPLES
.nf
ferrule check /etc/ferrule/ferrule.toml
ferrule apply \\-\\-dry\\-run /etc/ferrule/ferrule.toml
ferrule apply /etc/ferrule/ferrule.toml
ferrule save /etc/ferrule/ferrule.toml
ferrule clear
ferrule \\-\\-json sessions
ferrule import scst /etc/scst.conf > /etc/ferrule/ferrule.toml
.fi
";
    w.write_all(tail.as_bytes())
}
