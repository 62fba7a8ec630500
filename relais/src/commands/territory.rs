//! `relais territory show <expression>` and `relais territory resolve <text>`.

use std::process::ExitCode;

use clap::Subcommand;
use relais_territory::{LocationQuery, geography, parse_territory, resolve_location};
use serde_json::json;

/// Territory commands.
#[derive(Debug, Subcommand)]
pub enum TerritoryCommand {
    /// The communes of a territory expression (`epci:200023737`, `dep:46 | dep:12 - commune:46042`...).
    Show {
        /// The expression.
        expression: String,
        /// Prints JSON: `{"communes", "population", "codes"}`.
        #[arg(long)]
        json: bool,
    },
    /// Where a location is: the commune found and how.
    Resolve {
        /// The location as a source writes it.
        text: String,
        /// A postal code given apart.
        #[arg(long)]
        postal_code: Option<String>,
        /// An INSEE code given apart.
        #[arg(long)]
        insee: Option<String>,
        /// Latitude (not used yet: no centroids are shipped).
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        /// Longitude.
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Prints JSON: `{"commune", "departement", "region", "method"}`.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a territory command.
pub fn run(command: TerritoryCommand) -> anyhow::Result<ExitCode> {
    match command {
        TerritoryCommand::Show { expression, json } => {
            let territory = parse_territory(&expression)?;
            let codes = territory.codes();
            if json {
                println!(
                    "{}",
                    json!({"communes": territory.len(), "population": territory.population(), "codes": codes})
                );
            } else {
                println!(
                    "{}: {} communes, population {}",
                    expression,
                    territory.len(),
                    territory.population()
                );
                let geography = geography();
                for id in territory.commune_ids().take(50) {
                    let commune = geography.commune(id);
                    println!("  {} {}", commune.code, commune.name);
                }
                if territory.len() > 50 {
                    println!("  … and {} more (use --json for all)", territory.len() - 50);
                }
            }
        }
        TerritoryCommand::Resolve {
            text,
            postal_code,
            insee,
            lat: _,
            lon: _,
            json,
        } => {
            let found = resolve_location(LocationQuery {
                text: Some(&text),
                postal_code: postal_code.as_deref(),
                insee: insee.as_deref(),
            });
            if json {
                println!("{}", serde_json::to_string(&found)?);
            } else {
                let name = found
                    .commune
                    .and_then(|c| geography().current_commune(c))
                    .map(|id| geography().commune(id).name);
                println!(
                    "commune {} ({}), département {}, région {}, by {:?}",
                    found.commune.unwrap_or("-"),
                    name.unwrap_or("-"),
                    found.departement.unwrap_or("-"),
                    found.region.unwrap_or("-"),
                    found.method
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
