//! `defender-prereqs`: checks whether AWS accounts meet the prerequisites of Microsoft Defender
//! for Cloud's plans, from an AWS Config snapshot, before anything is deployed.

mod azure;
mod formats;
mod html;
mod inputs;
mod live;
mod mirror;
mod names;
mod output;
mod report;
mod s3;
mod scan;
mod store;
mod suppress;

use std::path::PathBuf;

/// mimalloc: a scan makes and frees millions of small strings (items, results); glibc's
/// allocator spent about a quarter of a 100,000-item scan in malloc and free (bench/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use shared::domain::checks::{Trigger, ALL};
use shared::domain::settings::Settings;

#[derive(Parser)]
#[command(
    name = "defender-prereqs",
    version,
    about = "Check AWS accounts against the prerequisites of Microsoft Defender for Cloud's plans"
)]
struct Cli {
    /// When to use colour.
    #[arg(long, value_enum, default_value_t = Color::Auto, global = true)]
    color: Color,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The report for people (a summary when it would be long).
    Text,
    /// One JSON document: evaluations, plans, and changes when recorded.
    Json,
    /// One evaluation per line, as JSON, streamed.
    Jsonl,
    /// The evaluations as CSV, streamed.
    Csv,
    /// JUnit XML for CI test reports: a test per account, region and plan; BLOCKED fails with
    /// its blockers, UNVERIFIED and NOT_APPLICABLE are skipped with why.
    Junit,
    /// SARIF 2.1.0 (GitHub code scanning): a result per NON_COMPLIANT or INSUFFICIENT_DATA
    /// evaluation, a rule per check.
    Sarif,
    /// OCSF 1.5 Compliance Findings, one per line: every evaluation but NOT_APPLICABLE.
    Ocsf,
    /// AWS Security Finding Format (Security Hub), one JSON array: NON_COMPLIANT and
    /// INSUFFICIENT_DATA evaluations.
    Asff,
}

/// A plan on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PlanArg {
    Cspm,
    Servers,
    Sql,
    Containers,
    Oss,
}

impl PlanArg {
    fn plan(self) -> shared::domain::vocab::Plan {
        use shared::domain::vocab::Plan;
        match self {
            Self::Cspm => Plan::Cspm,
            Self::Servers => Plan::Servers,
            Self::Sql => Plan::Sql,
            Self::Containers => Plan::Containers,
            Self::Oss => Plan::Oss,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ChecksFormat {
    Text,
    Json,
    Md,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Evaluate AWS Config snapshots (one per account and region, as Config delivers them), or
    /// other inputs holding configuration items (.gz accepted), merged by newest capture.
    Scan {
        /// Inputs: files, directories (every .json and .json.gz below them), `-` for standard input.
        #[arg(value_name = "FILE", required_unless_present_any = ["snapshot", "live"])]
        files: Vec<PathBuf>,
        /// Read AWS Config itself (with the usual AWS credentials) instead of, or besides, files.
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long)]
        live: bool,
        /// --live: the named profile of the shared AWS config files.
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "NAME", requires = "live")]
        profile: Option<String>,
        /// --live: regions to read, comma-separated, or `all` [default: the profile's region].
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(
            long,
            value_name = "LIST",
            value_delimiter = ',',
            requires = "live",
            conflicts_with = "aggregator"
        )]
        regions: Vec<String>,
        /// --live: read the whole organization through this AWS Config aggregator.
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "NAME", requires = "live")]
        aggregator: Option<String>,
        /// --live --aggregator: assume this role in every source account to read it in full.
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "ROLE", requires = "aggregator")]
        assume_role: Option<String>,
        /// --live: regions read at once.
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "N", default_value_t = 4, requires = "live")]
        concurrency: usize,
        /// An input file (same as giving it as FILE).
        #[arg(long, value_name = "FILE")]
        snapshot: Vec<PathBuf>,
        /// Settings file (TOML or JSON): plans switched on, roles, audiences, declared facts.
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        /// Accepted exceptions (TOML `[[suppress]]` entries: check, resource, account or region
        /// pattern, reason, expires): shown as accepted in every output, left out of the exit
        /// status; results and the store are unchanged.
        #[arg(long, value_name = "FILE")]
        suppressions: Option<PathBuf>,
        /// Read the Azure half from these subscriptions (repeatable or comma-separated; `all`:
        /// every subscription the identity can see): the AWS connectors, their offerings and
        /// health, the principal's roles. Credentials: AZURE_CLIENT_SECRET, workload identity,
        /// else the Azure CLI.
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        azure_subscription: Vec<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// State database [default: $DEFENDER_PREREQS_DB, else $XDG_STATE_HOME/defender-prereqs/state.db].
        #[arg(long, value_name = "PATH")]
        db: Option<PathBuf>,
        /// Do not record state (and so report no changes).
        #[arg(long)]
        no_store: bool,
        /// Skip invalid configuration items (listed in the output) instead of failing.
        #[arg(long)]
        keep_going: bool,
        /// Exit with status 1 when any plan is BLOCKED.
        #[arg(long)]
        fail_on_blocked: bool,
        /// Exit with status 1 when any plan is UNVERIFIED too (nothing blocks it, but some of its
        /// checks could not be decided): a pipeline that wants proof, not the absence of a blocker.
        #[arg(long)]
        fail_on_unverified: bool,
        /// List unverified checks and every change.
        #[arg(long, short)]
        verbose: bool,
        /// Show only these plans (repeatable or comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        plan: Vec<PlanArg>,
        /// Show only these accounts (repeatable or comma-separated).
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        account: Vec<String>,
        /// Show only these regions (repeatable or comma-separated; account-level and IAM results
        /// count in every region).
        #[arg(long, value_name = "REGION", value_delimiter = ',')]
        region: Vec<String>,
        /// Show only plan rows with these statuses (repeatable or comma-separated).
        #[arg(long, value_enum, value_delimiter = ',')]
        status: Vec<output::Status>,
        /// Show only evaluations with these results (repeatable), e.g. `--only non-compliant`.
        #[arg(long, value_enum)]
        only: Vec<output::Only>,
        /// Text: counts per account and plan and the top blockers, whatever the size.
        #[arg(long, conflicts_with = "full")]
        summary: bool,
        /// Text: every blocker, whatever the size (the default below 60 blocker lines).
        #[arg(long)]
        full: bool,
    },
    /// List the prerequisite checks.
    Checks {
        /// Output format (`md`: the Markdown table docs/checks.md shows).
        #[arg(long, value_enum, default_value_t = ChecksFormat::Text)]
        format: ChecksFormat,
    },
    /// Print the default settings as TOML, to start a settings file from.
    Settings,
    /// What the local store holds, and forgetting it: `store list`, `store forget ACCOUNT...`,
    /// `store reset --yes`.
    Store {
        #[command(subcommand)]
        action: StoreAction,
        /// State database [default: as for scan].
        #[arg(long, value_name = "PATH", global = true)]
        db: Option<PathBuf>,
    },
    /// Write a self-contained HTML report of the recorded state: readiness per plan and account,
    /// the blocking resources and how to fix them. Reads the local store, or with --table the
    /// deployed stack's DynamoDB table.
    Report {
        /// The deployed stack's state table (credentials and region from the usual AWS
        /// environment and profile).
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "NAME")]
        table: Option<String>,
        /// Endpoint for the table, e.g. a local DynamoDB-compatible server (AWS_ENDPOINT_URL works too).
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "URL", requires = "table")]
        endpoint_url: Option<String>,
        /// State database [default: as for scan].
        #[arg(long, value_name = "PATH", conflicts_with = "table")]
        db: Option<PathBuf>,
        /// Where to write the report.
        #[arg(long, short, value_name = "FILE", default_value = "defender-prereqs-report.html")]
        output: PathBuf,
        /// Also write every NON_COMPLIANT and INSUFFICIENT_DATA result of every account as CSV
        /// (the columns of `scan --format csv`) to this file.
        #[arg(long, value_name = "FILE")]
        csv: Option<PathBuf>,
        /// How many days of recorded changes the report lists.
        #[arg(long, value_name = "N", default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
        /// Only the accounts of this organizational unit and the OUs below it (AWS Organizations,
        /// with the management account's or a delegated administrator's credentials); repeatable
        /// or comma-separated.
        #[cfg_attr(not(feature = "aws"), arg(hide = true))]
        #[arg(long, value_name = "OU_ID", value_delimiter = ',')]
        ou: Vec<String>,
        /// Only this account; repeatable or comma-separated (with --ou: the accounts of either).
        #[arg(long, value_name = "ID", value_delimiter = ',')]
        account: Vec<String>,
    },
}

#[derive(Subcommand)]
enum StoreAction {
    /// Every account recorded: its regions, resources, results and when it was last scanned.
    List,
    /// Remove everything recorded of these accounts (items, results, readiness, changes).
    Forget {
        /// Account ids (repeatable or comma-separated).
        #[arg(required = true, value_delimiter = ',')]
        accounts: Vec<String>,
    },
    /// Remove everything recorded (the store starts empty).
    Reset {
        /// Confirm: nothing is removed without it.
        #[arg(long)]
        yes: bool,
    },
}

fn store_command(action: StoreAction, db: Option<PathBuf>) -> Result<ExitCode, String> {
    let path = db.unwrap_or_else(default_db);
    if !path.exists() {
        println!(
            "{}: no store yet (a scan without --no-store creates it)",
            path.display()
        );
        return Ok(ExitCode::SUCCESS);
    }
    let mut store = store::Store::open(&path).map_err(|e| e.to_string())?;
    match action {
        StoreAction::List => {
            let accounts = store.accounts().map_err(|e| e.to_string())?;
            if accounts.is_empty() {
                println!("{}: empty", path.display());
            }
            for a in accounts {
                println!(
                    "{}  {} region(s) with a complete recording, {} resource(s), {} result(s), last scanned {}",
                    report::safe(&a.account_id),
                    a.recorded_regions,
                    a.resources,
                    a.results,
                    a.last_scan
                        .map_or_else(|| "never".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                );
            }
        }
        StoreAction::Forget { accounts } => {
            let removed = store.forget(&accounts).map_err(|e| e.to_string())?;
            println!(
                "{}: removed {removed} row(s) of {}",
                path.display(),
                accounts.join(", ")
            );
        }
        StoreAction::Reset { yes } => {
            if !yes {
                return Err(format!(
                    "{}: store reset removes everything recorded; run it again with --yes",
                    path.display()
                ));
            }
            let removed = store.reset().map_err(|e| e.to_string())?;
            println!("{}: removed {removed} row(s); the store is empty", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What the report shows, from any store: every readiness row, and the results of the accounts
/// they name.
async fn report_data<R: shared::app::ports::ReadinessReader>(
    store: &R,
    source: String,
    days: u32,
    only: Option<&std::collections::BTreeSet<String>>,
) -> Result<html::ReportData, String> {
    let mut readiness = store.readiness().await.map_err(|e| format!("{source}: {e}"))?;
    if let Some(only) = only {
        readiness.retain(|r| only.contains(&r.account_id));
    }
    let accounts: std::collections::BTreeSet<&str> = readiness.iter().map(|r| r.account_id.as_str()).collect();
    let mut results = Vec::new();
    for a in accounts {
        results.extend(store.results(a).await.map_err(|e| format!("{source}: {e}"))?);
    }
    let generated_at = chrono::Utc::now();
    let mut changes = store
        .changes(generated_at - chrono::Duration::days(i64::from(days)))
        .await
        .map_err(|e| format!("{source}: {e}"))?;
    if let Some(only) = only {
        changes.retain(|c| only.contains(&c.account_id));
    }
    Ok(html::ReportData {
        source,
        generated_at,
        readiness,
        results,
        changes,
        days,
    })
}

/// Which accounts a report covers (none given: every account recorded).
struct Scope {
    ou: Vec<String>,
    account: Vec<String>,
}

impl Scope {
    /// The accounts, resolving OUs with AWS Organizations; `None`: every account. The second
    /// value says what the report is limited to.
    async fn accounts(
        &self,
        endpoint_url: Option<&str>,
    ) -> Result<Option<(std::collections::BTreeSet<String>, String)>, String> {
        if self.ou.is_empty() && self.account.is_empty() {
            return Ok(None);
        }
        // Extended with the OUs' accounts (a build with AWS).
        #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
        let mut accounts: std::collections::BTreeSet<String> = self.account.iter().cloned().collect();
        #[cfg_attr(not(feature = "aws"), allow(unused_mut))]
        let mut what: Vec<String> = self.account.iter().map(|a| format!("account {a}")).collect();
        if !self.ou.is_empty() {
            #[cfg(feature = "aws")]
            {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                if let Some(url) = endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                let found = live::accounts_in_ous(&loader.load().await, &self.ou).await?;
                what.extend(self.ou.iter().map(|o| format!("organizational unit {o}")));
                what.push(format!("{} accounts", found.len()));
                accounts.extend(found);
            }
            #[cfg(not(feature = "aws"))]
            {
                let _ = endpoint_url;
                return Err(live::NO_AWS.to_owned());
            }
        }
        Ok(Some((accounts, what.join(", "))))
    }
}

fn write_report(
    table: Option<String>,
    endpoint_url: Option<String>,
    db: Option<PathBuf>,
    output: &std::path::Path,
    csv: Option<&std::path::Path>,
    days: u32,
    scope: &Scope,
) -> Result<ExitCode, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let data = rt.block_on(async {
        let only = scope.accounts(endpoint_url.as_deref()).await?;
        let limited = |source: String| match &only {
            Some((_, what)) => format!("{source}, limited to {what}"),
            None => source,
        };
        let only = only.as_ref().map(|(a, _)| a);
        match table {
            #[cfg(feature = "aws")]
            Some(table) => {
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
                // The credentials checked first, in seconds (as before a live read), unless the
                // table is a local stand-in at an endpoint of its own.
                let local = endpoint_url.is_some() || std::env::var_os("AWS_ENDPOINT_URL").is_some();
                if let Some(url) = endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                let sdk = loader.load().await;
                if !local {
                    shared::aws::identity::caller_account(&sdk).await?;
                }
                let store = shared::aws::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
                report_data(&store, limited(format!("DynamoDB table {table}")), days, only).await
            }
            #[cfg(not(feature = "aws"))]
            Some(_) => {
                let _ = endpoint_url;
                Err(live::NO_AWS.to_owned())
            }
            None => {
                let path = db.unwrap_or_else(default_db);
                if !path.exists() {
                    return Err(format!(
                        "no state recorded at {}: run `defender-prereqs scan` first, or pass --table",
                        path.display()
                    ));
                }
                let store = store::Store::open(&path).map_err(|e| e.to_string())?;
                report_data(&store, limited(path.display().to_string()), days, only).await
            }
        }
    })?;
    let page = html::render(&data);
    std::fs::write(output, page).map_err(|e| format!("{}: {e}", output.display()))?;
    if let Some(path) = csv {
        use shared::domain::vocab::Compliance;
        let mut open: Vec<shared::domain::vocab::Evaluation> = data
            .results
            .iter()
            .filter(|e| matches!(e.compliance, Compliance::NonCompliant | Compliance::InsufficientData))
            .cloned()
            .collect();
        open.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
        output::write_csv(&open, None, &mut std::io::BufWriter::new(file))
            .map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("wrote {} ({} results)", path.display(), open.len());
    }
    eprintln!(
        "wrote {} ({} plan rows, {} results)",
        output.display(),
        data.readiness.len(),
        data.results.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn default_db() -> PathBuf {
    if let Some(p) = std::env::var_os("DEFENDER_PREREQS_DB") {
        return PathBuf::from(p);
    }
    let state = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
    match state {
        Some(dir) => dir.join("defender-prereqs/state.db"),
        None => PathBuf::from("defender-prereqs.db"),
    }
}

/// The default settings (`toml`, as serialized) with one comment line per key and section, and
/// the declared facts, which have no default, listed commented out.
fn commented_settings(toml: &str) -> String {
    use shared::domain::settings::KEY_DOCS;
    let doc = |key: &str| KEY_DOCS.iter().find(|(k, _)| *k == key).map(|(_, d)| *d);
    let mut out = String::from(
        "# defender-prereqs settings (TOML). Every key is optional: a missing key keeps the default shown.\n\n",
    );
    let mut section = String::new();
    for line in toml.lines() {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_owned();
            if let Some(d) = doc(name) {
                out.push_str(&format!("# {d}\n"));
            }
            out.push_str(line);
            out.push('\n');
            if name == "facts" {
                for (k, d) in KEY_DOCS
                    .iter()
                    .filter_map(|(k, d)| Some((k.strip_prefix("facts.")?, d)))
                {
                    out.push_str(&format!("# {d}\n# {k} = true\n"));
                }
            }
            if name == "accounts" {
                out.push_str("# [accounts.\"111122223333\"]\n# arc_egress_allowed = false\n");
            }
            if name == "azure" {
                // No default: the signed-in identity, and AZURE_AUTHORITY_HOST or the public cloud.
                out.push_str(&format!(
                    "# {}\n# principal_id = \"00000000-0000-0000-0000-000000000000\"\n# {}\n# authority_host = \"https://login.microsoftonline.com\"\n",
                    doc("azure.principal_id").unwrap_or_default(),
                    doc("azure.authority_host").unwrap_or_default()
                ));
            }
            continue;
        }
        let key = line.split_once(" = ").map(|(k, _)| k).filter(|k| !k.starts_with(' '));
        if let Some(d) = key.and_then(|k| {
            if section.is_empty() {
                doc(k)
            } else {
                doc(&format!("{section}.{k}"))
            }
        }) {
            out.push_str(&format!("# {d}\n"));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn trigger_text(t: &Trigger) -> String {
    match t {
        Trigger::ConfigChange(ty) => format!("config:{ty}"),
        Trigger::CloudTrail(src, ev) => format!("cloudtrail:{src}:{ev}"),
        Trigger::Ec2StateChange => "ec2:state-change".to_owned(),
        Trigger::Periodic => "periodic".to_owned(),
    }
}

fn list_checks(format: ChecksFormat) {
    match format {
        ChecksFormat::Md => {
            println!("| id | plan | reports on | what it checks |");
            println!("|---|---|---|---|");
            for c in ALL {
                let types: Vec<&str> = c
                    .resource_types
                    .iter()
                    .map(|t| t.strip_prefix("AWS::").unwrap_or(t))
                    .collect();
                println!(
                    "| `{}` | {} | {} | {}{} |",
                    c.id,
                    c.plan,
                    types.join(", "),
                    c.title,
                    if c.inferred { " *(inferred parts)*" } else { "" }
                );
            }
        }
        ChecksFormat::Json => {
            let checks: Vec<_> = ALL
                .iter()
                .map(|c| {
                    json!({
                        "id": c.id, "plan": c.plan, "title": c.title, "resourceTypes": c.resource_types,
                        "triggers": c.triggers.iter().map(trigger_text).collect::<Vec<_>>(),
                        "permissions": c.permissions, "inferred": c.inferred, "gating": c.gating, "remediation": c.remediation,
                    })
                })
                .collect();
            println!("{}", json!({ "checks": checks }));
        }
        ChecksFormat::Text => {
            for c in ALL {
                println!(
                    "{:<30} {:<10} {}{}",
                    c.id,
                    c.plan.as_str(),
                    c.title,
                    if c.inferred { " [inferred]" } else { "" }
                );
                let triggers: Vec<String> = c.triggers.iter().map(trigger_text).collect();
                println!("    reports on   {}", c.resource_types.join(", "));
                println!("    triggers     {}", triggers.join(", "));
                if !c.permissions.is_empty() {
                    println!("    permissions  {}", c.permissions.join(", "));
                }
                if !c.gating {
                    println!("    advisory     gates no plan");
                }
                println!("    fix          {}\n", c.remediation);
            }
            println!("\n{} checks; plans: {}", ALL.len(), report::plan_names());
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.color {
        Color::Always => console::set_colors_enabled(true),
        Color::Never => console::set_colors_enabled(false),
        Color::Auto => {}
    }
    let outcome = match cli.command {
        Command::Scan {
            mut files,
            snapshot,
            live,
            profile,
            regions,
            aggregator,
            assume_role,
            concurrency,
            settings,
            suppressions,
            azure_subscription,
            format,
            db,
            no_store,
            keep_going,
            fail_on_blocked,
            fail_on_unverified,
            verbose,
            plan,
            account,
            region,
            status,
            only,
            summary,
            full,
        } => {
            files.extend(snapshot);
            let db = if no_store {
                None
            } else {
                Some(db.unwrap_or_else(default_db))
            };
            scan::scan(scan::ScanArgs {
                paths: files,
                live: live.then_some(live::LiveArgs {
                    profile,
                    regions,
                    aggregator,
                    assume_role,
                    concurrency,
                }),
                settings,
                suppressions,
                azure_subscriptions: azure_subscription,
                format,
                db,
                keep_going,
                fail_on_blocked,
                fail_on_unverified,
                verbose,
                filter: output::Filter {
                    plans: plan.into_iter().map(PlanArg::plan).collect(),
                    accounts: account,
                    regions: region,
                    statuses: status,
                    only,
                },
                summary: if summary {
                    Some(true)
                } else if full {
                    Some(false)
                } else {
                    None
                },
            })
        }
        Command::Store { action, db } => store_command(action, db),
        Command::Checks { format } => {
            list_checks(format);
            Ok(ExitCode::SUCCESS)
        }
        Command::Settings => toml::to_string_pretty(&Settings::default())
            .map(|s| {
                print!("{}", commented_settings(&s));
                ExitCode::SUCCESS
            })
            .map_err(|e| e.to_string()),
        Command::Report {
            table,
            endpoint_url,
            db,
            output,
            csv,
            days,
            ou,
            account,
        } => write_report(
            table,
            endpoint_url,
            db,
            &output,
            csv.as_deref(),
            days,
            &Scope { ou, account },
        ),
    };
    match outcome {
        Ok(code) => code,
        Err(message) => {
            eprintln!("defender-prereqs: error: {message}");
            ExitCode::from(2)
        }
    }
}
