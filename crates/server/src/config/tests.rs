use super::*;

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |k| map.get(k).cloned()
}

#[test]
fn defaults_alone_are_valid() {
    let c = Config::from_sources(None, env(&[]), &Overrides::default()).unwrap();
    assert_eq!(c.database_url.expose(), "sqlite://switchboard.db");
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.metrics_listen.unwrap().to_string(), "127.0.0.1:9090");
    assert_eq!(c.graph.base_url, "https://graph.facebook.com");
    assert!(c.numbers.is_empty());
}

#[test]
fn a_single_number_from_the_environment_alone() {
    let c = Config::from_sources(
        None,
        env(&[
            ("SWITCHBOARD_DATABASE_URL", "postgres://sb:hunter2@db/sb"),
            ("SWITCHBOARD_LISTEN", "0.0.0.0:8000"),
            ("SWITCHBOARD_METRICS_LISTEN", "127.0.0.1:9900"),
            ("SWITCHBOARD_GRAPH_BASE_URL", "http://127.0.0.1:4000/"),
            ("SWITCHBOARD_GRAPH_API_VERSION", "v24.0"),
            ("SWITCHBOARD_APP_SECRET", "app-secret-value"),
            ("SWITCHBOARD_VERIFY_TOKEN", "verify-me"),
            ("SWITCHBOARD_PHONE_NUMBER_ID", "106540352242922"),
            ("SWITCHBOARD_WABA_ID", "102290129340398"),
            ("SWITCHBOARD_ACCESS_TOKEN", "EAAG-token-value"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.listen.to_string(), "0.0.0.0:8000");
    assert_eq!(c.graph.base_url, "http://127.0.0.1:4000");
    assert_eq!(c.graph.api_version, "v24.0");
    assert_eq!(c.numbers.len(), 1);
    let n = &c.numbers[0];
    assert_eq!(
        (
            n.phone_number_id.as_str(),
            n.waba_id.as_str(),
            n.throughput_mps
        ),
        ("106540352242922", "102290129340398", 80)
    );
    assert_eq!(n.access_token.expose_secret(), "EAAG-token-value");
    // Secrets never show in Debug.
    let debug = format!("{c:?}");
    for secret in [
        "hunter2",
        "app-secret-value",
        "verify-me",
        "EAAG-token-value",
    ] {
        assert!(
            !debug.contains(secret),
            "{secret} leaked into Debug: {debug}"
        );
        assert!(
            !c.redacted_toml().contains(secret),
            "{secret} leaked into redacted_toml"
        );
    }
    assert!(debug.contains("postgres://sb:***@db/sb"));
}

#[cfg(unix)]
#[test]
fn a_config_file_with_secrets_that_others_can_read_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.toml");
    std::fs::write(
        &path,
        "database_url = \"postgres://sb:pw@db/sb\"\n[[numbers]]\napp_secret = \"s\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let why = Config::exposed_secrets(&path).expect("named");
    assert!(
        why.contains("database_url") && why.contains("numbers[].app_secret") && why.contains("644"),
        "{why}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(Config::exposed_secrets(&path), None, "600 is fine");
    std::fs::write(&path, "listen = \"0.0.0.0:8080\"\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(Config::exposed_secrets(&path), None, "nothing secret in it");
}

#[test]
fn several_numbers_from_a_file_with_env_secrets_merged() {
    let file = r#"
        database_url = "sqlite:///var/lib/switchboard/data.db"
        [webhook]
        verify_token = "t"
        [[numbers]]
        phone_number_id = "111"
        waba_id = "900"
        display_number = "+1 555 078 3881"
        access_token = "tok-a"
        app_secret = "sec-a"
        throughput_mps = 1000
        [[numbers]]
        phone_number_id = "222"
        waba_id = "901"
        app_secret = "sec-b"
    "#;
    let c = Config::from_sources(
        Some(file),
        env(&[
            ("SWITCHBOARD_PHONE_NUMBER_ID", "222"),
            ("SWITCHBOARD_ACCESS_TOKEN", "tok-b"),
        ]),
        &Overrides {
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(c.numbers.len(), 2);
    assert_eq!(
        c.numbers[0].display_number.as_ref().unwrap().as_str(),
        "+15550783881"
    );
    assert_eq!(c.numbers[0].throughput_mps, 1000);
    assert_eq!(c.numbers[1].access_token.expose_secret(), "tok-b");
    assert_eq!(c.listen.port(), 0, "flags override");
    assert_eq!(c.app_secrets().len(), 2);
}

#[test]
fn every_problem_is_reported_at_once_naming_its_key() {
    let file = r#"
        database_url = "mysql://x"
        listen = "localhost"
        [log]
        format = "xml"
        [graph]
        api_version = "26"
        [[numbers]]
        phone_number_id = "abc"
        throughput_mps = 5000
        display_number = "555-1234"
    "#;
    let err = Config::from_sources(
        Some(file),
        env(&[("SWITCHBOARD_GRAPH_TIMEOUT_SECS", "soon")]),
        &Overrides::default(),
    )
    .unwrap_err();
    let keys: Vec<&str> = err.0.iter().map(|p| p.key.as_str()).collect();
    for key in [
        "database_url",
        "listen",
        "log.format",
        "graph.api_version",
        "graph.timeout_secs",
        "numbers[0].phone_number_id",
        "numbers[0].waba_id",
        "numbers[0].access_token",
        "numbers[0].app_secret",
        "numbers[0].display_number",
        "numbers[0].throughput_mps",
    ] {
        assert!(keys.contains(&key), "{key} not reported; got {keys:?}");
    }
    assert!(
        err.to_string()
            .contains("numbers[0].throughput_mps: is 5000; it must be between 1 and 1000"),
        "{err}"
    );
}

#[test]
fn typos_in_the_file_are_errors() {
    let err = Config::from_sources(
        Some("listn = \"0.0.0.0:1\""),
        env(&[]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("listn"), "{err}");
    let err = Config::from_sources(
        Some("[[numbers]]\nphone_id = \"1\""),
        env(&[]),
        &Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("phone_id"), "{err}");
}

#[test]
fn duplicate_numbers_are_refused() {
    let file = "[[numbers]]\nphone_number_id=\"1\"\nwaba_id=\"2\"\naccess_token=\"a\"\napp_secret=\"b\"\n\
                [[numbers]]\nphone_number_id=\"1\"\nwaba_id=\"2\"\naccess_token=\"a\"\napp_secret=\"b\"\n";
    let err = Config::from_sources(Some(file), env(&[]), &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("configured twice"), "{err}");
}

#[test]
fn the_example_file_is_valid_and_documents_every_setting() {
    let example = example_toml();
    let c = Config::from_sources(Some(&example), env(&[]), &Overrides::default()).unwrap();
    assert_eq!(c.numbers.len(), 1);
    for set in SETTINGS {
        assert!(
            example.contains(set.doc),
            "{} is not in the example",
            set.key
        );
    }
}

#[test]
fn the_committed_reference_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        committed,
        reference_markdown(),
        "docs/configuration.md is stale: run `switchboard config docs > docs/configuration.md`"
    );
}

/// A valid value for a row that differs from its default ("sample-secret" where any text will do).
fn sample(set: &Setting) -> String {
    let fixed = match set.key {
        "database_url" => "postgres://sb:sample-secret@db/sb",
        "listen" | "metrics_listen" => "10.1.2.3:4567",
        "log.format" => "json",
        "graph.base_url" => "http://sample.test",
        "graph.api_version" => "v99.0",
        _ => "",
    };
    match (fixed, set.range, set.default) {
        ("", Some((min, max)), d) if d == min.to_string() => max.to_string(),
        ("", Some((min, _)), _) => min.to_string(),
        ("", None, "false") => "true".into(),
        ("", None, "true") => "false".into(),
        ("", None, _) => "sample-secret".into(),
        (fixed, _, _) => fixed.into(),
    }
}

fn shown(c: &Config, key: &str) -> toml::Value {
    c.shown()
        .into_iter()
        .find(|(set, _)| set.key == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("{key} is not shown"))
}

#[test]
fn every_row_is_read_from_its_environment_variable_and_its_file_key() {
    let defaults = Config::from_sources(None, env(&[]), &Overrides::default()).unwrap();
    let rows = SETTINGS.iter().filter(|s| s.section() != Some("numbers[]"));
    for set in rows {
        let value = sample(set);
        let var = set.env.expect("every setting has a variable");
        let from_env = Config::from_sources(None, env(&[(var, &value)]), &Overrides::default())
            .unwrap_or_else(|e| panic!("{var}={value}: {e}"));
        let file = match set.section() {
            None => format!("{} = {}\n", set.key, (set.example_of)(&value)),
            Some(section) => format!(
                "[{section}]\n{} = {}\n",
                set.name(),
                (set.example_of)(&value)
            ),
        };
        let from_file = Config::from_sources(Some(&file), env(&[]), &Overrides::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_ne!(
            shown(&from_env, set.key),
            shown(&defaults, set.key),
            "{var} changed nothing"
        );
        assert_eq!(
            shown(&from_env, set.key),
            shown(&from_file, set.key),
            "{file}"
        );
        if set.is_secret(&toml::Value::String(value.clone())) {
            for c in [&from_env, &from_file] {
                assert!(
                    !format!("{c:?}").contains("sample-secret"),
                    "{} leaks in Debug",
                    set.key
                );
                assert!(
                    !c.redacted_toml().contains("sample-secret"),
                    "{} leaks",
                    set.key
                );
            }
        }
    }
}

#[test]
fn every_whole_number_is_held_to_its_bounds_from_either_source() {
    let ranged: Vec<&Setting> = SETTINGS.iter().filter(|s| s.range.is_some()).collect();
    assert!(ranged.len() >= 10, "the table's bounds are not read");
    for set in ranged {
        let (min, max) = set.range.unwrap();
        let var = set.env.unwrap();
        for (value, ok) in [(min - 1, false), (min, true), (max, true), (max + 1, false)] {
            let text = value.to_string();
            let from_env = Config::from_sources(None, env(&[(var, &text)]), &Overrides::default());
            let file = match set.section() {
                Some("numbers[]") => format!(
                    "[[numbers]]\nphone_number_id = \"1\"\nwaba_id = \"2\"\naccess_token = \"a\"\n\
                     app_secret = \"b\"\n{} = {value}\n",
                    set.name()
                ),
                Some(section) => format!("[{section}]\n{} = {value}\n", set.name()),
                None => format!("{} = {value}\n", set.key),
            };
            let from_file = Config::from_sources(Some(&file), env(&[]), &Overrides::default());
            let numbers = set.section() == Some("numbers[]");
            // The environment's throughput belongs to the number the environment describes.
            let sources = if numbers {
                vec![from_file]
            } else {
                vec![from_env, from_file]
            };
            for loaded in sources {
                match (loaded, ok) {
                    (Ok(_), true) => {}
                    (Err(e), false) => assert!(
                        e.to_string()
                            .contains(&format!("is {value}; it must be between {min} and {max}"))
                            && e.0.iter().all(|p| p.key.ends_with(set.name())),
                        "{}: {e}",
                        set.key
                    ),
                    (loaded, _) => panic!("{} = {value}: {:?}", set.key, loaded.err()),
                }
            }
        }
    }
}

#[test]
fn unknown_keys_and_wrong_types_in_the_file_are_reported_together() {
    let file = r#"
        listn = "0.0.0.0:1"
        [http]
        requests_per_minute = "many"
        secure_cookie = true
        [outbound]
        pair_burst = 5
        [consent]
        opt_in_keywords = "START"
        [[numbers]]
        phone_id = "1"
    "#;
    let err = Config::from_sources(Some(file), env(&[]), &Overrides::default()).unwrap_err();
    let problems: Vec<String> = err
        .0
        .iter()
        .map(|p| format!("{}: {}", p.key, p.message))
        .collect();
    for expected in [
        "listn: is not a setting Switchboard knows (a typo?); the keys here are: database_url, listen, metrics_listen",
        "http.requests_per_minute: must be a whole number, not text",
        "http.secure_cookie: is not a setting",
        "consent.opt_in_keywords: must be a list like [\"a\", \"b\"], not text",
        "numbers[0].phone_id: is not a setting",
        "numbers[0].phone_number_id: is required",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(expected)),
            "{expected}\n{problems:#?}"
        );
    }
    assert!(
        !problems.iter().any(|p| p.starts_with("outbound")),
        "{problems:#?}"
    );
}

#[test]
fn the_environment_completes_a_file_number_key_by_key() {
    let file = "[[numbers]]\nphone_number_id = \"111\"\nwaba_id = \"900\"\nthroughput_mps = 80\n";
    let c = Config::from_sources(
        Some(file),
        env(&[
            ("SWITCHBOARD_PHONE_NUMBER_ID", "111"),
            ("SWITCHBOARD_ACCESS_TOKEN", "tok"),
            ("SWITCHBOARD_APP_SECRET", "sec"),
            ("SWITCHBOARD_THROUGHPUT_MPS", "1000"),
            ("SWITCHBOARD_MONTHLY_BUDGET", "500.00"),
        ]),
        &Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.numbers.len(), 1);
    let n = &c.numbers[0];
    assert_eq!((n.waba_id.as_str(), n.throughput_mps), ("900", 1000));
    assert_eq!(n.monthly_budget_micros, Some(500_000_000));
}
