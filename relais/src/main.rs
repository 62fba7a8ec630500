//! `relais`: the binary. It reads the configuration and the environment, and it is the one place
//! that knows the order of the stages (see [`pipeline`]).

mod commands;
mod config;
mod live;
mod pipeline;
mod scheduler;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// mimalloc rather than the system allocator: a search allocates and frees its bit sets and
/// pages by the thousand a second, and glibc's freeing and consolidation of large chunks was
/// about 8 % of the query phase (perf); over HTTP, 1 000 → 1 138 queries/s at 200 000 offers (the
/// packed point column came in the same build).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Job offers of France Travail and partner boards, for the website and apps of a collectivité.
#[derive(Debug, Parser)]
#[command(name = "relais", version, about)]
struct Cli {
    /// Configuration file (default: ./relais.toml when it exists).
    #[arg(long, global = true, env = "RELAIS_CONFIG")]
    config: Option<PathBuf>,
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Creates or upgrades the database schema.
    Migrate,
    /// Runs a source once: France Travail (incremental, or a full sweep with --full) or a partner feed.
    Sync(commands::sync::SyncArgs),
    /// Lists the stored offers of a source.
    Offers(commands::offers::OffersArgs),
    /// Prints the state of each source, with the licence's freshness alarms.
    Status {
        /// Prints JSON.
        #[arg(long)]
        json: bool,
        /// Judges freshness as of this instant (RFC 3339) instead of now.
        #[arg(long)]
        at: Option<String>,
    },
    /// Rebuilds the search index from the store.
    Reindex,
    /// Serves the feeds and runs the scheduled syncs and the deduplicating worker (all in one).
    Serve,
    /// Serves from the index kept in step with the store's publications, and nothing else (an
    /// API replica: the syncs and the deduplication run in another process).
    Api {
        /// Listens on this port (on the host of `server.listen`) instead of its port.
        #[arg(long)]
        port: Option<u16>,
    },
    /// Runs the scheduled syncs, the deduplication and the change log, serving nothing; one
    /// worker is active at a time, any other waits as a standby and takes over when it dies.
    Worker,
    /// Serves a simulator of a source's API.
    Simulate {
        #[command(subcommand)]
        source: commands::simulate::SimulatedSource,
    },
    /// Starts a simulator, harvests it, indexes, serves, and prints the URLs to open.
    Demo(commands::demo::DemoArgs),
    /// The official geography: territories and location resolution.
    Territory {
        #[command(subcommand)]
        command: commands::territory::TerritoryCommand,
    },
    /// Deduplication: evaluate against ground truth, explain a pair, write the benchmark.
    Dedup {
        #[command(subcommand)]
        command: commands::dedup::DedupCommand,
    },
    /// Collectivités: add, list, show.
    Collectivite {
        #[command(subcommand)]
        command: commands::access::CollectiviteCommand,
    },
    /// API keys for collectivités' apps: create, list, revoke.
    Key {
        #[command(subcommand)]
        command: commands::access::KeyCommand,
    },
    /// Traffic reports for France Travail.
    Report(commands::report::ReportArgs),
    /// The operator actions recorded.
    Audit(commands::audit::AuditArgs),
    /// Partner offers' apply links: check them now, list the offers hidden for a link gone.
    Links {
        #[command(subcommand)]
        command: commands::links::LinksCommand,
    },
    /// Anonymises offers withdrawn longer ago than the retention period (licence art. 7).
    Purge(commands::purge::PurgeArgs),
    /// Copies the embedded store while relais runs (SQLite online backup).
    Backup(commands::backup::BackupArgs),
    /// Validates the configuration and tries the store and every source, changing nothing.
    Check(commands::check::CheckArgs),
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        bench: commands::bench::Bench,
    },
}

/// Prints a line on stdout and carries on if nobody reads it any more (`relais demo | head -1`:
/// the demo keeps serving).
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// A command whose output is cut (`relais territory show dep:46 --json | head -c 100`) ends
/// quietly, as Unix tools do, instead of reporting a panic: Rust ignores SIGPIPE, so printing to
/// a closed pipe panics.
fn exit_quietly_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    exit_quietly_on_broken_pipe();
    let cli = Cli::parse();
    init_tracing(&cli.log_format);
    let result = match cli.command {
        Command::Migrate => commands::migrate(cli.config.as_deref()).await,
        Command::Sync(args) => commands::sync::run(cli.config.as_deref(), args).await,
        Command::Offers(args) => commands::offers::run(cli.config.as_deref(), args).await,
        Command::Status { json, at } => {
            commands::status::run(cli.config.as_deref(), json, at.as_deref()).await
        }
        Command::Reindex => commands::reindex(cli.config.as_deref()).await,
        Command::Serve => commands::serve::run(cli.config.as_deref()).await,
        Command::Api { port } => commands::serve::run_api(cli.config.as_deref(), port).await,
        Command::Worker => commands::worker::run(cli.config.as_deref()).await,
        Command::Simulate { source } => commands::simulate::run(source).await,
        Command::Demo(args) => commands::demo::run(args).await,
        Command::Territory { command } => commands::territory::run(command),
        Command::Dedup { command } => commands::dedup::run(cli.config.as_deref(), command).await,
        Command::Bench { bench } => commands::bench::run(bench).await,
        Command::Collectivite { command } => {
            commands::access::collectivite(cli.config.as_deref(), command).await
        }
        Command::Key { command } => commands::access::key(cli.config.as_deref(), command).await,
        Command::Report(args) => commands::report::run(cli.config.as_deref(), args).await,
        Command::Audit(args) => commands::audit::run(cli.config.as_deref(), args).await,
        Command::Links { command } => commands::links::run(cli.config.as_deref(), command).await,
        Command::Purge(args) => commands::purge::run(cli.config.as_deref(), args).await,
        Command::Backup(args) => commands::backup::run(cli.config.as_deref(), args).await,
        Command::Check(args) => commands::check::run(cli.config.as_deref(), args).await,
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: &str) {
    let filter = EnvFilter::try_from_env("RELAIS_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,tantivy=warn,sqlx=warn"));
    // Colours only for a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
