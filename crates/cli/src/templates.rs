//! `switchboard templates lint|diff|push|pull`: templates kept as files in git, in Meta's own
//! create-template JSON, checked offline and synchronised with Meta.

use std::io::{BufRead, Write};

use anyhow::{Context, bail};
use switchboard_domain::lint::{Severity, lint};
use switchboard_domain::template_plan::{Change, plan};
use switchboard_server::config::NumberConfig;
use switchboard_server::template_files;

use crate::{TemplatesArgs, TemplatesCommand, load_config};

fn read(dir: &std::path::Path) -> anyhow::Result<Vec<(String, serde_json::Value)>> {
    template_files::read_dir(dir).map_err(|problems| anyhow::anyhow!("{}", problems.join("\n")))
}

/// Lints the files; prints findings; returns the number of errors.
fn lint_files(files: &[(String, serde_json::Value)], json: bool) -> usize {
    let mut errors = 0;
    let mut report = Vec::new();
    for (file, t) in files {
        let findings = lint(t);
        errors += findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .count();
        if json {
            report.push(serde_json::json!({"file": file, "findings": findings}));
        } else {
            for f in &findings {
                let sev = match f.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                };
                println!(
                    "{file}: {sev}[{}] {}: {}\n    fix: {}",
                    f.rule, f.location, f.message, f.fix
                );
            }
        }
    }
    if json {
        println!("{}", serde_json::json!({"files": report, "errors": errors}));
    } else {
        println!("{} file(s), {errors} error(s)", files.len());
    }
    errors
}

struct Remote {
    graph: switchboard_graph::GraphClient,
    number: NumberConfig,
}

fn connect(args: &TemplatesArgs) -> anyhow::Result<Remote> {
    let config = load_config(&args.config)?;
    let number = match &args.number {
        Some(id) => config
            .numbers
            .iter()
            .find(|n| &n.phone_number_id == id)
            .cloned(),
        None if config.numbers.len() == 1 => config.numbers.first().cloned(),
        None => None,
    }
    .context(
        "say which configured number's account to use with --number (or configure exactly one)",
    )?;
    let graph = switchboard_graph::GraphClient::new(
        &config.graph.base_url,
        &config.graph.api_version,
        std::time::Duration::from_secs(config.graph.timeout_secs),
    );
    Ok(Remote { graph, number })
}

pub async fn run(command: TemplatesCommand) -> anyhow::Result<()> {
    match command {
        TemplatesCommand::Lint { dir, format } => {
            let files = read(&dir)?;
            if lint_files(&files, format == "json") > 0 {
                std::process::exit(1);
            }
        }
        TemplatesCommand::Diff(args) => {
            let files = read(&args.dir)?;
            let r = connect(&args)?;
            let remote = template_files::remote(&r.graph, &r.number)
                .await
                .context("reading Meta's templates")?;
            for c in plan(&files, &remote, true) {
                println!("{}", template_files::describe(&c));
            }
        }
        TemplatesCommand::Push { args, prune, yes } => {
            let files = read(&args.dir)?;
            if lint_files(&files, false) > 0 {
                bail!(
                    "not pushing: fix the errors above first (Meta would reject those templates)"
                );
            }
            let r = connect(&args)?;
            let remote = template_files::remote(&r.graph, &r.number)
                .await
                .context("reading Meta's templates")?;
            let changes = plan(&files, &remote, prune);
            let deletes: Vec<&Change> = changes
                .iter()
                .filter(|c| matches!(c, Change::Delete { .. }))
                .collect();
            if !deletes.is_empty() && !yes {
                for d in &deletes {
                    eprintln!("{}", template_files::describe(d));
                }
                eprint!(
                    "Delete these {} template(s) at Meta? Deleted names cannot be reused for 30 days. [y/N] ",
                    deletes.len()
                );
                std::io::stderr().flush()?;
                let mut answer = String::new();
                std::io::stdin().lock().read_line(&mut answer)?;
                if !matches!(answer.trim(), "y" | "Y" | "yes") {
                    bail!("nothing was changed");
                }
            }
            let mut failed = 0;
            for c in &changes {
                println!("{}", template_files::describe(c));
                if let Err(e) = template_files::apply(&r.graph, &r.number, c).await {
                    failed += 1;
                    println!("    failed: {e}");
                }
            }
            let conflicts = changes
                .iter()
                .filter(|c| matches!(c, Change::Conflict { .. }))
                .count();
            if failed + conflicts > 0 {
                bail!("{failed} change(s) failed at Meta and {conflicts} could not be made");
            }
        }
        TemplatesCommand::Pull(args) => {
            let r = connect(&args)?;
            let remote = template_files::remote(&r.graph, &r.number)
                .await
                .context("reading Meta's templates")?;
            let written = template_files::write_dir(&args.dir, &remote)
                .with_context(|| format!("writing {}", args.dir.display()))?;
            println!(
                "{} template file(s) written to {}",
                written.len(),
                args.dir.display()
            );
        }
    }
    Ok(())
}
