//! Templates as code, the I/O half: read a folder of template files (Meta's create JSON, one
//! template per `.json` file, or the same shape as `.yaml`/`.yml`), read Meta's current templates, and apply a plan from
//! `domain::template_plan`. The `switchboard templates` commands call these.

use std::path::Path;

use serde_json::Value;
use switchboard_domain::template_plan::{Change, as_file};
use switchboard_graph::{GraphCallError, GraphClient};

use crate::config::NumberConfig;

/// Reads every `*.json`, `*.yaml` and `*.yml` file of `dir` (sorted by name). Problems (unreadable, not JSON, not an
/// object) are collected, so one run reports them all.
pub fn read_dir(dir: &Path) -> Result<Vec<(String, Value)>, Vec<String>> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| vec![format!("{}: cannot read the folder: {e}", dir.display())])?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "json" || x == "yaml" || x == "yml")
        })
        .collect();
    paths.sort();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for p in paths {
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let yaml = p.extension().is_some_and(|x| x != "json");
        let parsed = std::fs::read_to_string(&p)
            .map_err(|e| e.to_string())
            .and_then(|s| {
                if yaml {
                    serde_norway::from_str::<Value>(&s).map_err(|e| e.to_string())
                } else {
                    serde_json::from_str::<Value>(&s).map_err(|e| e.to_string())
                }
            });
        match parsed {
            Ok(v) if v.is_object() => out.push((name, v)),
            Ok(_) => problems.push(format!(
                "{name}: the file must hold one template (a JSON object)"
            )),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Every template of the number's account at Meta (all pages).
pub async fn remote(
    graph: &GraphClient,
    number: &NumberConfig,
) -> Result<Vec<Value>, GraphCallError> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..1_000 {
        let page = graph
            .list_templates(&number.waba_id, &number.access_token, 100, after.as_deref())
            .await?;
        let items = page["data"].as_array().cloned().unwrap_or_default();
        let next = page["paging"]["cursors"]["after"]
            .as_str()
            .map(str::to_owned);
        let last = items.is_empty() || next.is_none() || page["paging"]["next"].is_null();
        out.extend(items);
        if last {
            break;
        }
        after = next;
    }
    Ok(out)
}

/// File name for a template: `name.language.json`.
pub fn file_name(t: &Value) -> String {
    format!(
        "{}.{}.json",
        t.get("name").and_then(Value::as_str).unwrap_or("template"),
        t.get("language").and_then(Value::as_str).unwrap_or("xx")
    )
}

/// Writes Meta's templates into `dir` as files; returns the files written.
pub fn write_dir(dir: &Path, remote: &[Value]) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for t in remote {
        if matches!(
            t.get("status").and_then(Value::as_str),
            Some("DELETED" | "PENDING_DELETION")
        ) {
            continue;
        }
        let name = file_name(t);
        let mut text = serde_json::to_string_pretty(&as_file(t)).unwrap_or_default();
        text.push('\n');
        std::fs::write(dir.join(&name), text)?;
        written.push(name);
    }
    Ok(written)
}

/// Applies one change at Meta.
pub async fn apply(
    graph: &GraphClient,
    number: &NumberConfig,
    change: &Change,
) -> Result<(), GraphCallError> {
    match change {
        Change::Create { template, .. } => {
            graph
                .create_template(&number.waba_id, &number.access_token, template)
                .await?;
        }
        Change::Update { id, edit, .. } => {
            graph.edit_template(id, &number.access_token, edit).await?;
        }
        Change::Delete { name, id, .. } => {
            graph
                .delete_template_in(&number.waba_id, &number.access_token, name, Some(id))
                .await?;
        }
        Change::Unchanged { .. } | Change::Conflict { .. } => {}
    }
    Ok(())
}

/// One line for people.
pub fn describe(change: &Change) -> String {
    match change {
        Change::Create {
            name,
            language,
            file,
            ..
        } => format!("+ create  {name} ({language})  from {file}"),
        Change::Update {
            name,
            language,
            file,
            fields,
            ..
        } => format!(
            "~ update  {name} ({language})  {} from {file}; it goes back to review",
            fields.join(", ")
        ),
        Change::Delete { name, language, .. } => {
            format!("- delete  {name} ({language})  (no file names it)")
        }
        Change::Unchanged { name, language } => format!("= same    {name} ({language})"),
        Change::Conflict {
            name,
            language,
            file,
            reason,
        } => format!("! cannot  {name} ({language})  from {file}: {reason}"),
    }
}
