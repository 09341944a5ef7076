//! What is generated from the table for people: `docs/configuration.md` (a test fails when the
//! committed file differs) and the commented example file of `switchboard config example`.

use std::collections::BTreeMap;

use super::settings::SETTINGS;
use super::table::Setting;

/// `docs/configuration.md`, generated from [`SETTINGS`].
pub fn reference_markdown() -> String {
    let flags: Vec<String> = SETTINGS
        .iter()
        .filter_map(|s| s.flag)
        .map(|f| format!("`{f}`"))
        .collect();
    let flags = match flags.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    };
    let mut s = format!(
        "# Configuration\n\n\
         <!-- Generated from crates/server/src/config/settings.rs (SETTINGS) by `switchboard config docs`; a test fails when it differs. -->\n\n\
         Switchboard reads, in order, each overriding the one before: built-in defaults, a TOML file \
         (`switchboard serve --config FILE`, or `SWITCHBOARD_CONFIG`), environment variables, and the \
         flags {flags}. Every problem is reported at start-up \
         at once, naming the key. Unknown keys in the file are an error, so a typo is never ignored.\n\n\
         A single number can be configured by environment alone (`SWITCHBOARD_PHONE_NUMBER_ID`, \
         `SWITCHBOARD_WABA_ID`, `SWITCHBOARD_ACCESS_TOKEN`, `SWITCHBOARD_APP_SECRET`); several numbers, of \
         one or several WABAs and apps, go in the file as `[[numbers]]` tables. When the environment names \
         a number the file also has, the environment's values win key by key, so the file can hold \
         everything but the secrets.\n\n\
         `switchboard config example` prints a commented example file; `switchboard config check` \
         validates the configuration and prints it with secrets redacted.\n\n\
         | key | environment | default | meaning |\n|---|---|---|---|\n",
    );
    for set in SETTINGS {
        let default = if set.default.is_empty() {
            "—".to_owned()
        } else {
            format!("`{}`", set.default)
        };
        s.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            set.key,
            set.env.map(|e| format!("`{e}`")).unwrap_or_default(),
            default,
            set.doc
        ));
    }
    s
}

/// A commented example file, generated from [`SETTINGS`].
pub fn example_toml() -> String {
    let mut sections: BTreeMap<&str, Vec<&Setting>> = BTreeMap::new();
    for set in SETTINGS {
        sections
            .entry(set.section().unwrap_or(""))
            .or_default()
            .push(set);
    }
    let mut s = String::from(
        "# Switchboard configuration. Every key is optional unless marked required;\n# environment variables override the file, flags override both.\n",
    );
    let write = |s: &mut String, set: &Setting| {
        s.push_str(&format!("\n# {}\n", set.doc));
        if let Some(e) = set.env {
            s.push_str(&format!("# Environment: {e}\n"));
        }
        s.push_str(&format!("{} = {}\n", set.name(), set.example_value()));
    };
    for set in sections.get("").into_iter().flatten() {
        write(&mut s, set);
    }
    for (section, sets) in &sections {
        if section.is_empty() {
            continue;
        }
        if *section == "numbers[]" {
            s.push_str(
                "\n# One table per sending number; repeat [[numbers]] for more.\n[[numbers]]\n",
            );
        } else {
            s.push_str(&format!("\n[{section}]\n"));
        }
        for set in sets {
            write(&mut s, set);
        }
    }
    s
}
