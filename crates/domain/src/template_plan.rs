//! Templates as code: what would change at Meta if a folder of template files were pushed.
//! Pure: the caller reads the files and Meta's list; this compares them in Meta's own shape
//! (component and button types compared case-insensitively, key order ignored) and says, per
//! template, create / update / delete / unchanged — or why the change cannot be made.

use serde::Serialize;
use serde_json::{Map, Value};

/// One planned change.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Change {
    Create {
        name: String,
        language: String,
        file: String,
        template: Value,
    },
    /// Meta's edit: the components (and category, for a template not yet approved).
    Update {
        name: String,
        language: String,
        file: String,
        id: String,
        /// What differs: `components`, `category`.
        fields: Vec<&'static str>,
        edit: Value,
    },
    Delete {
        name: String,
        language: String,
        id: String,
    },
    Unchanged {
        name: String,
        language: String,
    },
    /// The file asks for something Meta does not allow.
    Conflict {
        name: String,
        language: String,
        file: String,
        reason: String,
    },
}

fn key(t: &Value) -> (String, String) {
    (
        t.get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        t.get("language")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
    )
}

/// Meta's shape with the case-insensitive fields uppercased, for comparison.
fn normalise(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, x) in m {
                let x = match (k.as_str(), x) {
                    ("type" | "format", Value::String(s)) => Value::String(s.to_ascii_uppercase()),
                    _ => normalise(x),
                };
                out.insert(k.clone(), x);
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn upper(t: &Value, k: &str, default: &str) -> String {
    t.get(k)
        .and_then(Value::as_str)
        .unwrap_or(default)
        .to_ascii_uppercase()
}

/// The plan for pushing `local` (file name, template) over `remote` (Meta's list items, with
/// `id` and `status`). Templates at Meta that no file names are deleted only when `prune`.
pub fn plan(local: &[(String, Value)], remote: &[Value], prune: bool) -> Vec<Change> {
    let mut out = Vec::new();
    for (file, t) in local {
        let (name, language) = key(t);
        let Some(r) = remote
            .iter()
            .find(|r| key(r) == (name.clone(), language.clone()))
        else {
            out.push(Change::Create {
                name,
                language,
                file: file.clone(),
                template: t.clone(),
            });
            continue;
        };
        let id = r.get("id").and_then(Value::as_str).unwrap_or("").to_owned();
        let status = upper(r, "status", "");
        let mut fields = Vec::new();
        let components = |v: &Value| normalise(v.get("components").unwrap_or(&Value::Null));
        if components(t) != components(r) {
            fields.push("components");
        }
        let category_differs = upper(t, "category", "") != upper(r, "category", "");
        if category_differs {
            fields.push("category");
        }
        if upper(t, "parameter_format", "POSITIONAL") != upper(r, "parameter_format", "POSITIONAL")
        {
            out.push(Change::Conflict {
                name,
                language,
                file: file.clone(),
                reason: "The parameter format of an existing template cannot change; create it under a new name.".into(),
            });
            continue;
        }
        if fields.is_empty() {
            out.push(Change::Unchanged { name, language });
            continue;
        }
        if category_differs && status == "APPROVED" {
            out.push(Change::Conflict {
                name,
                language,
                file: file.clone(),
                reason: format!(
                    "Meta does not change the category of an approved template ({} at Meta, {} in the file); create it under a new name, or keep Meta's category.",
                    upper(r, "category", ""),
                    upper(t, "category", "")
                ),
            });
            continue;
        }
        if !matches!(status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
            out.push(Change::Conflict {
                name,
                language,
                file: file.clone(),
                reason: format!(
                    "A {} template cannot be edited; wait for its review to end.",
                    status.to_lowercase()
                ),
            });
            continue;
        }
        let mut edit = Map::new();
        edit.insert(
            "components".into(),
            t.get("components").cloned().unwrap_or(Value::Array(vec![])),
        );
        if category_differs {
            edit.insert(
                "category".into(),
                t.get("category").cloned().unwrap_or(Value::Null),
            );
        }
        out.push(Change::Update {
            name,
            language,
            file: file.clone(),
            id,
            fields,
            edit: Value::Object(edit),
        });
    }
    if prune {
        for r in remote {
            let k = key(r);
            let status = upper(r, "status", "");
            if matches!(status.as_str(), "DELETED" | "PENDING_DELETION") {
                continue;
            }
            if !local.iter().any(|(_, t)| key(t) == k) {
                out.push(Change::Delete {
                    name: k.0,
                    language: k.1,
                    id: r.get("id").and_then(Value::as_str).unwrap_or("").to_owned(),
                });
            }
        }
    }
    out
}

/// A template as it is kept in a file: Meta's create shape, without what Meta adds (id,
/// status, quality, rejection reason).
pub fn as_file(remote: &Value) -> Value {
    let mut m = Map::new();
    for k in [
        "name",
        "language",
        "category",
        "parameter_format",
        "message_send_ttl_seconds",
        "components",
    ] {
        if let Some(v) = remote.get(k) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(body: &str, category: &str) -> Value {
        json!({"name": "order_shipped", "language": "en_US", "category": category,
               "components": [{"type": "BODY", "text": body}]})
    }

    fn remote(body: &str, category: &str, status: &str) -> Value {
        let mut r = t(body, category);
        r["id"] = json!("77");
        r["status"] = json!(status);
        r["components"][0]["type"] = json!("body");
        r
    }

    #[test]
    fn create_unchanged_update_delete() {
        let local = vec![("a.json".to_owned(), t("Your order shipped.", "UTILITY"))];
        assert!(matches!(plan(&local, &[], true)[0], Change::Create { .. }));
        let same = plan(
            &local,
            &[remote("Your order shipped.", "utility", "APPROVED")],
            true,
        );
        assert!(matches!(same[0], Change::Unchanged { .. }), "{same:?}");
        let changed = plan(
            &local,
            &[remote("Your order left.", "UTILITY", "APPROVED")],
            true,
        );
        let Change::Update { fields, id, .. } = &changed[0] else {
            panic!("{changed:?}")
        };
        assert_eq!(
            (fields.as_slice(), id.as_str()),
            (&["components"][..], "77")
        );
        let mut other = remote("x", "UTILITY", "APPROVED");
        other["name"] = json!("old_one");
        let pruned = plan(&local, &[other.clone()], true);
        assert!(
            pruned
                .iter()
                .any(|c| matches!(c, Change::Delete { name, .. } if name == "old_one"))
        );
        assert!(
            !plan(&local, &[other], false)
                .iter()
                .any(|c| matches!(c, Change::Delete { .. }))
        );
    }

    #[test]
    fn meta_does_not_recategorise_an_approved_template_on_request() {
        let local = vec![("a.json".to_owned(), t("Your order shipped.", "MARKETING"))];
        let p = plan(
            &local,
            &[remote("Your order shipped.", "UTILITY", "APPROVED")],
            false,
        );
        assert!(matches!(p[0], Change::Conflict { .. }), "{p:?}");
        let p = plan(
            &local,
            &[remote("Your order shipped.", "UTILITY", "REJECTED")],
            false,
        );
        assert!(
            matches!(&p[0], Change::Update { fields, .. } if fields.contains(&"category")),
            "{p:?}"
        );
        let p = plan(
            &local,
            &[remote("Other text.", "MARKETING", "PENDING")],
            false,
        );
        assert!(matches!(p[0], Change::Conflict { .. }), "{p:?}");
    }
}
