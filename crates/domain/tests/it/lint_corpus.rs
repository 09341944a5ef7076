//! The template linter against its corpus (`tests/lint_corpus`): templates written from Meta's
//! rules (cloud-api.md §7), approved and rejected examples, each with the set of rules it must
//! trigger. Every mismatch is reported, not only the first.

use std::collections::BTreeSet;

use serde_json::Value;
use switchboard_domain::lint::{RULES, Severity, lint};

#[test]
fn every_corpus_template_gets_exactly_its_expected_findings() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lint_corpus");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 80,
        "the corpus has {} templates",
        files.len()
    );
    let mut mismatches = Vec::new();
    let mut exercised = BTreeSet::new();
    let (mut clean, mut rejected, mut warned) = (0, 0, 0);
    for path in &files {
        let case: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expected: BTreeSet<String> = case["expect"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        let findings = lint(&case["template"]);
        let got: BTreeSet<String> = findings.iter().map(|f| f.rule.to_owned()).collect();
        for f in &findings {
            assert!(
                !f.message.is_empty() && !f.fix.is_empty() && !f.location.is_empty(),
                "{f:?}"
            );
        }
        if findings.iter().any(|f| f.severity == Severity::Error) {
            rejected += 1;
        } else if findings.is_empty() {
            clean += 1;
        } else {
            warned += 1;
        }
        exercised.extend(expected.iter().cloned());
        if got != expected {
            mismatches.push(format!(
                "{}: expected {:?}, got {:?}\n    {}",
                path.file_name().unwrap().to_string_lossy(),
                expected,
                got,
                findings
                    .iter()
                    .map(|f| format!("{} at {}: {}", f.rule, f.location, f.message))
                    .collect::<Vec<_>>()
                    .join("\n    ")
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} corpus templates disagree:\n{}",
        mismatches.len(),
        files.len(),
        mismatches.join("\n")
    );
    let unexercised: Vec<_> = RULES
        .iter()
        .map(|r| r.0)
        .filter(|r| !exercised.contains(*r))
        .collect();
    assert!(
        unexercised.is_empty(),
        "rules no corpus template exercises: {unexercised:?}"
    );
    assert!(
        clean >= 25 && rejected >= 35 && warned >= 10,
        "clean {clean}, rejected {rejected}, warnings only {warned}"
    );
}
