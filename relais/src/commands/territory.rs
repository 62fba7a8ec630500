//! `relais territory show <expression>` and `relais territory resolve <text>`.

use std::process::ExitCode;

use clap::Subcommand;
use relais_territory::{
    LocationQuery, Point, commune_at, geography, parse_territory, resolve_location,
};
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
        /// The location as a source writes it (not needed with `--lat` and `--lon`).
        #[arg(required_unless_present = "lat")]
        text: Option<String>,
        /// A postal code given apart.
        #[arg(long)]
        postal_code: Option<String>,
        /// An INSEE code given apart.
        #[arg(long)]
        insee: Option<String>,
        /// Latitude: the commune whose point is nearest (within 15 km; 90 km in Guyane).
        #[arg(long, requires = "lon", allow_hyphen_values = true)]
        lat: Option<f64>,
        /// Longitude.
        #[arg(long, requires = "lat", allow_hyphen_values = true)]
        lon: Option<f64>,
        /// Prints JSON: `{"commune", "departement", "region", "method"}` (with coordinates, also
        /// `"distance_km"` to the commune's point).
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
            lat: Some(lat),
            lon: Some(lon),
            json,
            ..
        } => {
            let point = Point::new(lat, lon)?;
            let (code, distance_km) = commune_at(&point)?;
            let geography = geography();
            let commune = geography.commune(geography.current_commune(code).expect("current"));
            if json {
                println!(
                    "{}",
                    json!({"commune": code, "departement": commune.departement, "region": commune.region,
                        "method": "coordinates", "distance_km": (distance_km * 100.0).round() / 100.0})
                );
            } else {
                println!(
                    "commune {code} ({}), département {}, région {}, nearest commune point at {distance_km:.1} km",
                    commune.name, commune.departement, commune.region
                );
            }
        }
        TerritoryCommand::Resolve {
            text,
            postal_code,
            insee,
            json,
            ..
        } => {
            let found = resolve_location(LocationQuery {
                text: text.as_deref(),
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
