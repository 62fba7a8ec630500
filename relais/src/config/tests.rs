#![allow(clippy::result_large_err)] // figment::Jail closures return figment::Error.

use std::path::Path;

use secrecy::ExposeSecret;

use super::Config;

fn example() -> &'static Path {
    Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../relais.example.toml"
    ))
}

#[test]
fn the_example_config_loads_and_sets_every_key() {
    figment::Jail::expect_with(|_| {
        let config = Config::load(Some(example())).expect("example loads");
        assert_eq!(config.francetravail.rate_per_second, 10);
        assert!(!config.feeds.is_empty());
        let source = config
            .source("hellowork")
            .expect("the example's partner source");
        assert!(!source.enabled);
        relais_ingest::feeds::FeedReader::new(source).expect("the example's source compiles");
        let index = relais_index::OfferIndex::in_memory().unwrap();
        assert!(
            relais_publish::AppState::new(index, config.feeds.clone()).is_ok(),
            "the example's feeds compile"
        );
        // Every key of the typed tree appears in the example (a key added without documenting it fails here).
        let text = std::fs::read_to_string(example()).unwrap();
        let tree = serde_json::to_value(Config::default()).unwrap();
        for (section, keys) in tree.as_object().unwrap() {
            if let Some(keys) = keys.as_object() {
                assert!(
                    text.contains(&format!("[{section}]")),
                    "section `{section}` is not in the example"
                );
                for key in keys.keys() {
                    assert!(
                        text.contains(&format!("\n{key} ="))
                            || text.contains(&format!("\n# {key} ="))
                            || text.contains(&format!("\n[{section}.{key}]")),
                        "`{section}.{key}` is not in the example"
                    );
                }
            }
        }
        Ok(())
    });
}

#[test]
fn environment_overrides_the_file_and_the_secret_never_prints() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("RELAIS_FRANCETRAVAIL__CLIENT_SECRET", "s3cr3t-value");
        jail.set_env("RELAIS_FRANCETRAVAIL__RATE_PER_SECOND", "4");
        jail.set_env(
            "RELAIS_FRANCETRAVAIL__API_BASE_URL",
            "http://127.0.0.1:9/partenaire/offresdemploi",
        );
        let config = Config::load(Some(example())).expect("loads");
        assert_eq!(
            config.francetravail.client_secret.expose_secret(),
            "s3cr3t-value"
        );
        assert_eq!(config.francetravail.rate_per_second, 4);
        assert_eq!(
            config.francetravail.api_base_url,
            "http://127.0.0.1:9/partenaire/offresdemploi"
        );
        assert!(!format!("{config:?}").contains("s3cr3t-value"));
        assert!(
            !serde_json::to_string(&config)
                .unwrap()
                .contains("s3cr3t-value")
        );
        assert!(!format!("{:?}", config.francetravail.client_config()).contains("s3cr3t-value"));
        Ok(())
    });
}

#[test]
fn unknown_keys_are_refused() {
    figment::Jail::expect_with(|jail| {
        jail.create_file("bad.toml", "[francetravail]\nrate_per_secnd = 3\n")?;
        let error = Config::load(Some(Path::new("bad.toml"))).unwrap_err();
        assert!(format!("{error:#}").contains("rate_per_secnd"), "{error:#}");
        Ok(())
    });
}

#[test]
fn the_store_url_comes_from_the_environment_and_its_password_never_prints() {
    figment::Jail::expect_with(|jail| {
        jail.set_env(
            "RELAIS_STORAGE__URL",
            "postgres://relais:pw-s3cr3t@db.internal:6432/emploi",
        );
        let config = Config::load(Some(example())).expect("loads");
        assert_eq!(
            config.postgres_url(),
            Some("postgres://relais:pw-s3cr3t@db.internal:6432/emploi")
        );
        assert_eq!(
            config.store_location(),
            "postgres://relais@db.internal:6432/emploi"
        );
        let printed = format!("{config:?} {}", serde_json::to_string(&config).unwrap());
        assert!(!printed.contains("pw-s3cr3t"), "{printed}");
        assert!(printed.contains("postgres://relais@db.internal:6432/emploi"));

        jail.set_env("RELAIS_STORAGE__URL", "mysql://relais:pw-s3cr3t@db/emploi");
        let error = format!("{:#}", Config::load(Some(example())).unwrap_err());
        assert!(error.contains("not a PostgreSQL URL"), "{error}");
        assert!(!error.contains("pw-s3cr3t"), "{error}");
        Ok(())
    });
}

#[test]
fn without_a_store_url_the_store_is_the_sqlite_file() {
    let config = Config::load(Some(example())).expect("loads");
    assert_eq!(config.postgres_url(), None);
    assert!(config.store_location().ends_with("relais.sqlite"));
}
