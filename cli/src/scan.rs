//! `defender-prereqs scan`, as the list of its phases, each a function from the previous phase's
//! type to its own: the settings ([`Setup`]), the inputs read ([`Read`]), the inputs merged with
//! what the store holds ([`Merged`]), the evaluation ([`Evaluated`]), the recording, the output.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shared::domain::engine::{self, ScanResult};
use shared::domain::graph::ResourceGraph;
use shared::domain::model::ConfigurationItem;
use shared::domain::settings::Settings;

use crate::inputs::{self, Input};
use crate::{azure, formats, live, mirror, names, output, report, s3, store, suppress, Format};

/// What `scan` is asked to do.
pub struct ScanArgs {
    /// Files, directories, `s3://` prefixes, `-`.
    pub paths: Vec<PathBuf>,
    /// A live read of AWS Config, if asked.
    pub live: Option<live::LiveArgs>,
    /// The settings file.
    pub settings: Option<PathBuf>,
    /// The suppressions file.
    pub suppressions: Option<PathBuf>,
    /// Azure subscriptions to read besides the settings' own.
    pub azure_subscriptions: Vec<String>,
    /// What to print.
    pub format: Format,
    /// The store (None: record nothing).
    pub db: Option<PathBuf>,
    /// Skip what cannot be read, and list it.
    pub keep_going: bool,
    /// Exit 1 when a plan is BLOCKED.
    pub fail_on_blocked: bool,
    /// Exit 1 when a plan is UNVERIFIED.
    pub fail_on_unverified: bool,
    /// List unverified checks and every change.
    pub verbose: bool,
    /// What to show.
    pub filter: output::Filter,
    /// Text: the summary (Some(true)), everything (Some(false)), or by size.
    pub summary: Option<bool>,
}

/// Scans: every phase in turn. Filters and accepted exceptions act in [`render`] only, after
/// everything was evaluated and recorded.
pub fn scan(args: ScanArgs) -> Result<ExitCode, String> {
    let setup = setup(&args)?;
    let expanded = inputs::expand(&args.paths)?;
    let mut store = args
        .db
        .as_deref()
        .map(store::Store::open)
        .transpose()
        .map_err(|e| e.to_string())?;
    let by_account = if args.live.is_some() || !expanded.s3.is_empty() {
        None
    } else if let Some(accounts) = inputs::by_account(&expanded.paths) {
        Some(ByAccount::Deliveries(accounts))
    } else {
        match expanded.paths.as_slice() {
            // One file of several accounts (an export, a merged file) is read an account at a
            // time too; one that cannot be read is read again below, and said as always.
            [path] if path.as_os_str() != "-" => match read_accounts(&args, &setup.settings, path) {
                Ok(inputs::Accounts::Several(spilled)) => Some(ByAccount::Spilled(spilled)),
                Ok(inputs::Accounts::One(input)) => {
                    return scan_together(&args, &setup, store.as_mut(), expanded, Some(input))
                }
                Err(_) => None,
            },
            _ => None,
        }
    };
    if let Some(by_account) = by_account {
        return scan_by_account(&args, setup, store.as_mut(), expanded.notes, by_account);
    }
    scan_together(&args, &setup, store.as_mut(), expanded, None)
}

/// The inputs of [`scan_by_account`], by account.
enum ByAccount {
    /// A synced Config bucket's deliveries (their names say whose).
    Deliveries(BTreeMap<String, Vec<PathBuf>>),
    /// One file holding several accounts, indexed.
    Spilled(inputs::Spilled),
}

impl ByAccount {
    fn accounts(&self) -> Vec<String> {
        match self {
            Self::Deliveries(by) => by.keys().cloned().collect(),
            Self::Spilled(s) => s.accounts().map(str::to_owned).collect(),
        }
    }

    /// What is read of `account`.
    fn read(&self, args: &ScanArgs, settings: &Settings, account: &str) -> Result<Read, String> {
        match self {
            Self::Deliveries(by) => read_files(args, settings, by.get(account).map_or(&[][..], Vec::as_slice)),
            Self::Spilled(s) => Ok(Read {
                inputs: vec![s.read(account, reading(args), &settings.recorded_types)?],
                notes: Vec::new(),
                failures: Vec::new(),
            }),
        }
    }

    /// The inputs, to be read together.
    fn paths(self) -> Vec<PathBuf> {
        match self {
            Self::Deliveries(by) => by.into_values().flatten().collect(),
            Self::Spilled(s) => vec![s.path().to_owned()],
        }
    }
}

/// Reads one file, telling whether it holds several accounts ([`inputs::read_accounts`]).
fn read_accounts(args: &ScanArgs, settings: &Settings, path: &std::path::Path) -> Result<inputs::Accounts, String> {
    let mut pb: Option<ProgressBar> = None;
    let read = inputs::read_accounts(path, reading(args), &settings.recorded_types, |done, total| {
        pb.get_or_insert_with(|| bytes_bar(total, "reading")).set_position(done);
    });
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    read
}

/// [`scan`] of every input at once: each phase over all of them.
fn scan_together(
    args: &ScanArgs,
    setup: &Setup,
    mut store: Option<&mut store::Store>,
    expanded: inputs::Expanded,
    read_already: Option<Input>,
) -> Result<ExitCode, String> {
    let read = match read_already {
        // The one file, read.
        Some(input) => Read {
            inputs: vec![input],
            notes: expanded.notes,
            failures: Vec::new(),
        },
        None => read(args, &setup.settings, expanded)?,
    };
    let mut merged = merge(store.as_deref(), read)?;
    let mut shaping = Shaping::new(args, setup)?;
    let mut names = names::Names::default();
    let mut open = begin(store.as_deref_mut())?;
    let evaluated = evaluate_recorded(
        args,
        &setup.settings,
        store.as_deref_mut().zip(open.as_mut()),
        &mut merged,
        &mut names,
        &mut shaping,
    );
    let (evaluated, recording) = match evaluated {
        Ok(done) => done,
        Err(e) => {
            if let Some(s) = store {
                s.rollback_scan();
            }
            return Err(e);
        }
    };
    let mut shown = Shown::default();
    shown.add(merged);
    commit(store, open, &shown)?;
    shaping.add(&names, evaluated)?;
    render(args, &shown, shaping.finish(names)?, recording.as_ref())
}

/// Why [`scan_by_account`] stopped before its last account.
enum Stopped {
    /// A failure: the scan fails with it.
    Failed(String),
    /// A delivery holds items of another account than its name says: the accounts cannot be
    /// taken one at a time, and the inputs are read together instead.
    Mixed,
}

impl From<String> for Stopped {
    fn from(e: String) -> Self {
        Self::Failed(e)
    }
}

/// [`scan`] of a synced Config bucket (every input a snapshot or history file AWS Config
/// delivered, their names saying whose): one account at a time, read, merged, evaluated and
/// recorded before the next is read, so that memory holds one account's items, not the
/// organization's. The store records the accounts in one transaction, as one scan.
fn scan_by_account(
    args: &ScanArgs,
    setup: Setup,
    mut store: Option<&mut store::Store>,
    notes: Vec<String>,
    accounts: ByAccount,
) -> Result<ExitCode, String> {
    let mut open = begin(store.as_deref_mut())?;
    let mut shown = Shown {
        notes,
        ..Shown::default()
    };
    let mut shaping = Shaping::new(args, &setup)?;
    let mut names = names::Names::default();
    let mut parts = || -> Result<Option<store::Recording>, Stopped> {
        let mut recording: Option<store::Recording> = None;
        for account in accounts.accounts() {
            let read = accounts.read(args, &setup.settings, &account)?;
            let mut merged = merge(store.as_deref(), read)?;
            // A delivery holding items of another account than its name says: the accounts
            // cannot be taken one at a time.
            if merged.accounts.len() > 1 {
                return Err(Stopped::Mixed);
            }
            let (part, recorded) = evaluate_recorded(
                args,
                &setup.settings,
                store.as_deref_mut().zip(open.as_mut()),
                &mut merged,
                &mut names,
                &mut shaping,
            )?;
            if let Some(r) = recorded {
                match &mut recording {
                    None => recording = Some(r),
                    Some(all) => all.absorb(r),
                }
            }
            shaping.add(&names, part)?;
            shown.add(merged);
        }
        Ok(recording)
    };
    let recording = match parts() {
        Ok(recording) => recording,
        Err(stopped) => {
            if let Some(s) = store.as_deref_mut() {
                s.rollback_scan();
            }
            if let Stopped::Failed(e) = stopped {
                return Err(e);
            }
            // Nothing was recorded: the inputs are read together instead.
            let expanded = inputs::Expanded {
                paths: accounts.paths(),
                notes: shown.notes,
                s3: Vec::new(),
            };
            return scan_together(args, &setup, store, expanded, None);
        }
    };
    commit(store, open, &shown)?;
    render(args, &shown, shaping.finish(names)?, recording.as_ref())
}

/// The scan the store records, begun (None without a store).
fn begin(store: Option<&mut store::Store>) -> Result<Option<store::OpenScan>, String> {
    store
        .map(store::Store::begin_scan)
        .transpose()
        .map_err(|e| e.to_string())
}

/// Ends the scan the store records, naming the inputs shown.
fn commit(store: Option<&mut store::Store>, open: Option<store::OpenScan>, shown: &Shown) -> Result<(), String> {
    if let (Some(s), Some(o)) = (store, open) {
        let sources: Vec<&str> = shown.inputs.iter().map(|i| i.source.as_str()).collect();
        s.commit_scan(o, &sources.join(", "), source(&shown.inputs).1.as_deref())
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The transitions the output shows: the JSON document every one, the text report those since
/// the previous scan (a first scan is the starting state), the other formats none.
fn listing(format: Format) -> store::Listing {
    match format {
        Format::Json => store::Listing::Every,
        Format::Text => store::Listing::AfterFirstScan,
        _ => store::Listing::None,
    }
}

/// The settings (with the Azure half read when asked) and the accepted exceptions.
struct Setup {
    settings: Settings,
    suppressions: Option<suppress::Suppressions>,
}

fn setup(args: &ScanArgs) -> Result<Setup, String> {
    let mut settings = match &args.settings {
        Some(p) => Settings::from_file(p).map_err(|e| e.to_string())?,
        None => Settings::default(),
    };
    shared::domain::settings::check_subscriptions(&args.azure_subscriptions, "--azure-subscription")?;
    settings
        .azure
        .subscriptions
        .extend(args.azure_subscriptions.iter().cloned());
    if settings.azure_requested() {
        settings.azure_side = Some(std::sync::Arc::new(azure::read(&settings)));
    }
    let suppressions = args
        .suppressions
        .as_deref()
        .map(suppress::Suppressions::from_file)
        .transpose()?;
    // Checked here, not in `Settings::validate`: the settings sit below the type catalog.
    if let Some(t) = settings
        .recorded_types
        .iter()
        .find(|t| !shared::domain::model::types::is_recorded_type(t))
    {
        return Err(format!(
            "settings recorded_types: `{t}` is not a resource type the checks read"
        ));
    }
    Ok(Setup { settings, suppressions })
}

/// The inputs read: files and directories, a Config bucket, AWS Config itself.
struct Read {
    inputs: Vec<Input>,
    /// What the inputs cannot show.
    notes: Vec<String>,
    /// What could not be read at all (with --keep-going).
    failures: Vec<String>,
}

fn read(args: &ScanArgs, settings: &Settings, expanded: inputs::Expanded) -> Result<Read, String> {
    let inputs::Expanded { paths, mut notes, s3 } = expanded;
    let mut read = Vec::with_capacity(paths.len());
    let mut live_failures = Vec::new();
    if let Some(live) = &args.live {
        let spinner = ProgressBar::new_spinner();
        spinner.enable_steady_tick(std::time::Duration::from_millis(120));
        spinner.set_message("reading AWS Config");
        let got = live::read(live, &settings.recorded_types, &spinner)?;
        spinner.finish_and_clear();
        // Without credentials nothing can be read, and --keep-going would not help.
        #[cfg(feature = "aws")]
        if !got.failures.is_empty() && got.failures.iter().all(|f| f.contains(shared::aws::NO_CREDENTIALS)) {
            return Err(shared::aws::NO_CREDENTIALS.to_owned());
        }
        if !got.failures.is_empty() && !args.keep_going {
            return Err(format!(
                "could not read {} (nothing recorded; --keep-going scans what could be read and lists the rest):\n  {}",
                if got.failures.len() == 1 {
                    "one region".to_owned()
                } else {
                    format!("{} regions", got.failures.len())
                },
                got.failures.join("\n  ")
            ));
        }
        live_failures = got.failures;
        notes.extend(got.notes);
        read.extend(got.inputs);
    }
    if !s3.is_empty() {
        let bucket = s3::read(&s3, reading(args), &settings.recorded_types)?;
        notes.extend(bucket.notes);
        read.extend(bucket.inputs);
    }
    let files = read_files(args, settings, &paths)?;
    read.extend(files.inputs);
    live_failures.extend(files.failures);
    Ok(Read {
        inputs: read,
        notes,
        failures: live_failures,
    })
}

/// How inputs are read: without a store nothing records the items' text, so only the parsed
/// items are kept.
fn reading(args: &ScanArgs) -> inputs::Reading {
    inputs::Reading {
        keep_going: args.keep_going,
        keep_text: args.db.is_some(),
    }
}

/// Reads files (and standard input).
fn read_files(args: &ScanArgs, settings: &Settings, paths: &[PathBuf]) -> Result<Read, String> {
    let (mut read, mut failures) = (Vec::with_capacity(paths.len()), Vec::new());
    for path in paths {
        let mut pb: Option<ProgressBar> = None;
        let input = inputs::read(path, reading(args), &settings.recorded_types, |done, total| {
            pb.get_or_insert_with(|| bytes_bar(total, "reading")).set_position(done);
        });
        if let Some(pb) = pb {
            pb.finish_and_clear();
        }
        match input {
            Ok(input) => read.push(input),
            // An input that cannot be read at all is listed, and the others are scanned: it
            // contributes nothing, so nothing is concluded from what it would have held.
            Err(e) if args.keep_going => failures.push(e),
            Err(e) => return Err(format!("{e} (--keep-going scans the other inputs and lists this one)")),
        }
    }
    Ok(Read {
        inputs: read,
        notes: Vec::new(),
        failures,
    })
}

/// Per input, per item: its JSON text and the live facts read with it.
type Texts = (Box<str>, Option<Box<str>>);

/// The inputs merged with what the store holds: the newest item of every resource of the
/// accounts concerned, and what to write.
struct Merged {
    read: Read,
    accounts: BTreeSet<String>,
    mirror: mirror::Merged,
    /// Items skipped with --keep-going (type, id).
    unreadable: HashSet<(String, String)>,
    /// The items to evaluate, per account, each account's in one order whatever the inputs'
    /// (taken by [`evaluate`]).
    items: BTreeMap<String, Vec<ConfigurationItem>>,
    bodies: Vec<Vec<Texts>>,
    /// Items read, for progress.
    total: usize,
}

fn merge(store: Option<&store::Store>, read: Read) -> Result<Merged, String> {
    let Read {
        inputs: mut read,
        notes,
        failures,
    } = read;
    let accounts = mirror::accounts(&read);
    let total: usize = read.iter().map(|i| i.read).sum();
    let phase = spinner(total, "reading the store");
    let (stored, coverage) = match &store {
        Some(s) => (
            s.stored_items(&accounts).map_err(|e| e.to_string())?,
            s.coverage(&accounts).map_err(|e| e.to_string())?,
        ),
        None => Default::default(),
    };
    let merged = mirror::merge(stored, coverage, &read);
    let unreadable: HashSet<(String, String)> = read
        .iter()
        .flat_map(|i| &i.errors)
        .filter_map(|e| match e {
            shared::Error::Item { location, .. } => {
                Some((location.resource_type.clone()?, location.resource_id.clone()?))
            }
            _ => None,
        })
        .collect();
    let readable = |k: &mirror::Key| !unreadable.contains(&(k.1.clone(), k.2.clone()));
    // The newest item of every resource of the accounts concerned: from the inputs, else the store.
    let from_store: HashSet<&mirror::Key> = merged
        .newest
        .iter()
        .filter(|(k, n)| !n.deleted && n.holder == mirror::Holder::Stored && readable(k))
        .map(|(k, _)| k)
        .collect();
    phase.set_message("reading recorded items");
    // Which item of the inputs each kept resource is (input, index -> key): the newest of every
    // resource of the accounts concerned, from the inputs, else the store.
    let mut kept: Vec<Vec<Option<&mirror::Key>>> = read.iter().map(|i| vec![None; i.items.len()]).collect();
    // Per account, how many items it gets (and its account item): each account's items are
    // moved once into a vector of their number, not grown by doubling or copied between phases.
    let mut per_account: HashMap<&str, usize> = HashMap::new();
    for k in &from_store {
        *per_account.entry(k.0.as_str()).or_insert(1) += 1;
    }
    for (k, n) in &merged.newest {
        if let (false, mirror::Holder::Input(i, j)) = (n.deleted, n.holder) {
            if readable(k) {
                kept[i][j] = Some(k);
                *per_account.entry(k.0.as_str()).or_insert(1) += 1;
            }
        }
    }
    // An account whose items all come from one input holding no other account's (its own
    // delivery, a file of one account) and nothing from the store: its items stay in the vector
    // they were read into (a second vector of them was an eighth of a large account's peak).
    let mut sole: HashMap<usize, &str> = HashMap::new();
    for (i, kept) in kept.iter().enumerate() {
        let mut accounts = kept.iter().flatten().map(|k| k.0.as_str());
        let Some(first) = accounts.next() else { continue };
        // How many items it keeps, when all are of `first`.
        let count = accounts.try_fold(1, |n, a| (a == first).then_some(n + 1));
        // An account's count includes its account item.
        if count.is_some_and(|n| per_account.get(first) == Some(&(n + 1))) {
            sole.insert(i, first);
        }
    }
    let mut items: BTreeMap<String, Vec<ConfigurationItem>> = per_account
        .iter()
        .map(|(a, n)| {
            let room = if sole.values().any(|s| s == a) { 0 } else { *n };
            ((*a).to_owned(), Vec::with_capacity(room))
        })
        .collect();
    let place = |item: ConfigurationItem, items: &mut BTreeMap<String, Vec<ConfigurationItem>>| match items
        .get_mut(&item.account_id)
    {
        Some(mine) => mine.push(item),
        None => items.entry(item.account_id.clone()).or_default().push(item),
    };
    if let Some(s) = store.filter(|_| !from_store.is_empty()) {
        for item in s.items_of(&from_store).map_err(|e| e.to_string())? {
            place(item, &mut items);
        }
    }
    // Service-API facts a live read recorded stay with their resource when an input brings its
    // item without them (a file holds none): the item is evaluated, and recorded, with them.
    let keep_facts: HashSet<&mirror::Key> = merged
        .newest
        .iter()
        .filter(|(_, n)| {
            n.stored_facts
                && !n.deleted
                && matches!(n.holder, mirror::Holder::Input(i, j) if read[i].items[j].facts.is_none())
        })
        .map(|(k, _)| k)
        .collect();
    let stored_facts = match &store {
        Some(s) if !keep_facts.is_empty() => s.facts_of(&keep_facts).map_err(|e| e.to_string())?,
        _ => HashMap::new(),
    };
    let mut bodies: Vec<Vec<Texts>> = Vec::with_capacity(read.len());
    for (i, (input, kept)) in read.iter_mut().zip(&kept).enumerate() {
        let mut texts = Vec::with_capacity(input.items.len());
        let mut failed = None;
        // Each item with the facts the store holds for it, its texts set apart; None when
        // it is not kept.
        let mut take = |(j, incoming): (usize, inputs::Incoming)| {
            let inputs::Incoming {
                mut item,
                body,
                mut facts,
            } = incoming;
            let kept = kept[j].map(|k| {
                if let Some(text) = stored_facts.get(k) {
                    let applied = serde_json::from_str::<shared::domain::model::LiveFacts>(text)
                        .map_err(|e| e.to_string())
                        .and_then(|live| item.resource.apply_live(live).map_err(|e| e.to_string()));
                    match applied {
                        Ok(()) => facts = Some(text.clone().into()),
                        Err(e) => failed = Some(format!("the store's facts of {} {}: {e}", k.1, k.2)),
                    }
                }
                item
            });
            texts.push((body, facts));
            kept
        };
        let incoming = std::mem::take(&mut input.items).into_iter().enumerate();
        match sole.get(&i) {
            // Collected in place: the vector read is the account's.
            Some(account) => {
                let mut mine: Vec<ConfigurationItem> = incoming.filter_map(&mut take).collect();
                // Room for the items only (the graph adds the account's own).
                mine.shrink_to(mine.len() + 1);
                items.insert((*account).to_owned(), mine);
            }
            None => incoming.filter_map(&mut take).for_each(|item| place(item, &mut items)),
        }
        if let Some(e) = failed {
            return Err(e);
        }
        bodies.push(texts);
    }
    drop(kept);
    // One order whatever the inputs' order (joins that name one item take the last).
    for mine in items.values_mut() {
        mine.sort_unstable_by(|a, b| {
            (&a.region, &a.resource_type, &a.resource_id).cmp(&(&b.region, &b.resource_type, &b.resource_id))
        });
    }
    phase.finish_and_clear();
    Ok(Merged {
        read: Read {
            inputs: read,
            notes,
            failures,
        },
        accounts,
        mirror: merged,
        unreadable,
        items,
        bodies,
        total,
    })
}

/// The results.
struct Evaluated {
    result: ScanResult,
}

impl Default for Evaluated {
    fn default() -> Self {
        Self {
            result: ScanResult {
                evaluations: Vec::new(),
                plans: Vec::new(),
                ignored_types: BTreeMap::new(),
                items: 0,
                azure: Vec::new(),
            },
        }
    }
}

impl Evaluated {
    /// Adds the evaluation of other accounts.
    fn absorb(&mut self, part: Evaluated) {
        let (r, p) = (&mut self.result, part.result);
        if r.evaluations.is_empty() {
            r.evaluations = p.evaluations;
        } else {
            r.evaluations.extend(p.evaluations);
        }
        r.plans.extend(p.plans);
        for (t, n) in p.ignored_types {
            *r.ignored_types.entry(t).or_default() += n;
        }
        r.items += p.items;
        r.azure.extend(p.azure);
    }
}

/// Results handed on as they come ([`evaluate`]), with the names of their resources.
type Parts<'a> = &'a mut dyn FnMut(&names::Names, Vec<shared::domain::vocab::Evaluation>) -> Result<(), String>;

/// How many results [`evaluate`] hands on at a time.
const PART: usize = 10_000;

/// Evaluates the merged accounts; their resources' names are added to `names`. With `parts`,
/// the results are handed to it as they come instead of being kept (the result returned holds
/// the plans and no evaluations): a large account's results are never all held.
fn evaluate(
    items: BTreeMap<String, Vec<ConfigurationItem>>,
    merged: &Merged,
    settings: &Settings,
    names: &mut names::Names,
    mut parts: Option<Parts<'_>>,
) -> Result<Evaluated, String> {
    let pb = progress_bar(items.values().map(Vec::len).sum(), "evaluating");
    // Room for every account's results at once: a vector grown by doubling holds up to twice
    // what it needs (six million results of a thousand accounts are several hundred MB each).
    // With one account, its results are taken as they come instead (no second vector).
    let at_most = match (items.len(), &parts) {
        (_, Some(_)) | (0 | 1, _) => 0,
        (n, None) => engine::evaluations_at_most_of(items.values().flatten(), n),
    };
    let (mut evaluations, mut plans, mut azure) = (Vec::with_capacity(at_most), Vec::new(), Vec::new());
    let mut done = 0;
    // One account at a time: the checks read within an account, and an account's graph and
    // items are dropped once its results are out, so memory follows the largest account, not
    // the organization.
    for (account, mine) in items {
        let mut graph = ResourceGraph::build(mine);
        // Absence is evidence only inside the complete recordings seen for each account and
        // region.
        graph.mark_partial();
        // The account's own rows only (the map is ordered by account, then region).
        let own = merged
            .mirror
            .coverage
            .range((account.clone(), String::new())..)
            .take_while(|((a, _), _)| *a == account);
        for ((_, region), c) in own {
            graph.mark_complete(&account, region, c.types.iter().map(String::as_str));
        }
        // Items skipped with --keep-going were there: no check may conclude from their absence.
        for (t, id) in &merged.unreadable {
            graph.mark_unreadable(t, id);
        }
        names.add(&graph);
        let progress = |n| pb.set_position((done + n) as u64);
        let part = match parts.as_mut() {
            Some(each) => {
                let mut failed = None;
                let part = engine::scan_graph_parts(&graph, settings, progress, PART, |p| {
                    if failed.is_none() {
                        failed = each(names, p).err();
                    }
                });
                if let Some(e) = failed {
                    return Err(e);
                }
                part
            }
            None => engine::scan_graph(&graph, settings, progress),
        };
        done += part.items;
        if evaluations.capacity() == 0 {
            evaluations = part.evaluations;
        } else {
            evaluations.extend(part.evaluations);
        }
        plans.extend(part.plans);
        azure.extend(part.azure);
    }
    pb.finish_and_clear();
    let mut result = ScanResult {
        evaluations,
        plans,
        ignored_types: BTreeMap::new(),
        items: 0,
        azure,
    };
    result.items = merged.read.inputs.iter().map(|i| i.read).sum();
    for input in &merged.read.inputs {
        for (t, n) in &input.ignored {
            *result.ignored_types.entry(t.clone()).or_default() += n;
        }
    }
    Ok(Evaluated { result })
}

/// How many parts of results may wait for the store's recorder (see [`evaluate_recorded`]).
const PARTS_WAITING: usize = 4;

/// What [`evaluate_recorded`] hands the store's recorder.
enum ToRecord {
    /// Results as they come.
    Results(Arc<Vec<shared::domain::vocab::Evaluation>>),
    /// The accounts' plan rows and how many items they had: the evaluation is over.
    End(Vec<shared::domain::plans::PlanReadiness>, usize),
}

/// Why the evaluation stopped handing results on: the recorder stopped (its error is the one
/// shown).
const RECORDER_STOPPED: &str = "the store's recorder stopped";

/// [`evaluate`] of the merged accounts, recorded in the store's open scan when there is one:
/// the results are compared and written on another thread as they come (at most
/// [`PARTS_WAITING`] parts waiting), and the items compressed on a third while the accounts
/// are evaluated, then written between two parts. Without a suppressions file, nothing needs
/// an account's results whole: they go to `shaping` as they come.
fn evaluate_recorded(
    args: &ScanArgs,
    settings: &Settings,
    recorder: Option<(&mut store::Store, &mut store::OpenScan)>,
    merged: &mut Merged,
    names: &mut names::Names,
    shaping: &mut Shaping<'_>,
) -> Result<(Evaluated, Option<store::Recording>), String> {
    let items = std::mem::take(&mut merged.items);
    if recorder.is_none() {
        // What the store would write (every resource's key and where its newest item is) is
        // not needed without one: freed before the accounts are evaluated (a fifth of a large
        // account's peak).
        merged.mirror.newest = HashMap::new();
    }
    let merged = &*merged;
    let takes_parts = shaping.takes_parts();
    let Some((store, open)) = recorder else {
        let evaluated = if takes_parts {
            evaluate(
                items,
                merged,
                settings,
                names,
                Some(&mut |n, p| shaping.add_rows(n, &p)),
            )
        } else {
            evaluate(items, merged, settings, names, None)
        };
        return Ok((evaluated?, None));
    };
    let writes = item_writes(merged);
    let packer = store.packer(open, &writes).map_err(|e| e.to_string())?;
    let record = scan_record(merged, writes, listing(args.format));
    let (to_record, parts) = std::sync::mpsc::sync_channel::<ToRecord>(PARTS_WAITING);
    // An account's results, when the output needs them whole.
    let mut kept = Vec::new();
    let (evaluated, recorded) = std::thread::scope(|threads| {
        let packing = threads.spawn(|| packer.pack(&record.items));
        let record = &record;
        let recording = threads.spawn(move || {
            let failed = |e: store::StoreError| e.to_string();
            let mut recorder = store.recorder(open, record).map_err(failed)?;
            let mut packing = Some(packing);
            let items = |recorder: &mut store::PartRecorder<'_>, packing: std::thread::ScopedJoinHandle<'_, _>| {
                let packed = packing
                    .join()
                    .map_err(|_| "compressing the items to record failed".to_owned())?;
                recorder.items(packed).map_err(failed)
            };
            loop {
                // The items as soon as they are compressed, between two parts of results.
                if let Some(done) = packing.take_if(|p| p.is_finished()) {
                    items(&mut recorder, done)?;
                }
                match parts.recv() {
                    Ok(ToRecord::Results(part)) => recorder.results(&part).map_err(failed)?,
                    Ok(ToRecord::End(plans, evaluated)) => {
                        if let Some(packing) = packing.take() {
                            items(&mut recorder, packing)?;
                        }
                        let recorded = recorder.finish(open, &plans, evaluated).map_err(failed)?;
                        return Ok((recorded, plans));
                    }
                    // The evaluation failed: its error is the one shown, and nothing is recorded.
                    Err(_) => return Err(String::new()),
                }
            }
        });
        let mut each = |names: &names::Names, part: Vec<shared::domain::vocab::Evaluation>| {
            let part = Arc::new(part);
            to_record
                .send(ToRecord::Results(Arc::clone(&part)))
                .map_err(|_| RECORDER_STOPPED.to_owned())?;
            if takes_parts {
                shaping.add_rows(names, &part)
            } else {
                kept.push(part);
                Ok(())
            }
        };
        let evaluated = evaluate(items, merged, settings, names, Some(&mut each)).and_then(|mut e| {
            let plans = std::mem::take(&mut e.result.plans);
            to_record
                .send(ToRecord::End(plans, e.result.items))
                .map_err(|_| RECORDER_STOPPED.to_owned())?;
            Ok(e)
        });
        drop(to_record);
        let phase = spinner(merged.total, "recording");
        let recorded: Result<_, String> = recording
            .join()
            .unwrap_or_else(|_| Err("recording the scan failed".to_owned()));
        phase.finish_and_clear();
        (evaluated, recorded)
    });
    match (evaluated, recorded) {
        (Ok(mut evaluated), Ok((recording, plans))) => {
            evaluated.result.plans = plans;
            evaluated.result.evaluations = kept.into_iter().flat_map(Arc::unwrap_or_clone).collect();
            Ok((evaluated, Some(recording)))
        }
        (Err(e), _) if e != RECORDER_STOPPED => Err(e),
        (_, Err(e)) => Err(e),
        (Err(e), Ok(_)) => Err(e),
    }
}

/// The one input's name and snapshot id, or how many inputs there were.
fn source(inputs: &[InputLine]) -> (String, Option<String>) {
    match inputs {
        [one] => (one.source.clone(), one.snapshot_id.clone()),
        many => (format!("{} inputs", many.len()), None),
    }
}

/// The items and tombstones the store writes of merged accounts, in key order.
fn item_writes(merged: &Merged) -> Vec<store::ItemWrite<'_>> {
    let bodies = &merged.bodies;
    let mut writes: Vec<store::ItemWrite<'_>> = merged
        .mirror
        .newest
        .iter()
        .filter(|(_, n)| n.write)
        .map(|(k, n)| store::ItemWrite {
            key: k,
            region: &n.region,
            capture_time: n.capture_time,
            body: match (n.deleted, n.holder) {
                (false, mirror::Holder::Input(i, j)) => Some(&*bodies[i][j].0),
                _ => None,
            },
            facts: match (n.deleted, n.holder) {
                (false, mirror::Holder::Input(i, j)) => bodies[i][j].1.as_deref(),
                _ => None,
            },
        })
        .collect();
    writes.sort_unstable_by_key(|w| w.key);
    writes
}

/// What the store records of merged accounts and their items' writes.
fn scan_record<'a>(
    merged: &'a Merged,
    items: Vec<store::ItemWrite<'a>>,
    listing: store::Listing,
) -> store::ScanRecord<'a> {
    store::ScanRecord {
        accounts: &merged.accounts,
        items,
        coverage: merged
            .mirror
            .coverage
            .iter()
            .filter(|(k, _)| merged.mirror.coverage_changed.contains(*k))
            .collect(),
        stale: merged.mirror.stale,
        tombstoned: merged.mirror.tombstoned,
        unreadable: &merged.unreadable,
        listing,
    }
}

/// What the report says of the inputs, gathered from each merge (one, or one per account).
#[derive(Default)]
struct Shown {
    inputs: Vec<InputLine>,
    /// Items that could not be read (with --keep-going).
    errors: Vec<String>,
    notes: Vec<String>,
    /// What could not be read at all (with --keep-going).
    failures: Vec<String>,
    /// Complete recordings by account.
    complete: BTreeMap<String, Vec<String>>,
}

/// One input, as the report names it.
struct InputLine {
    source: String,
    shape: &'static str,
    read: usize,
    snapshot_id: Option<String>,
}

impl Shown {
    fn add(&mut self, merged: Merged) {
        let Merged { read, mirror, .. } = merged;
        self.errors
            .extend(read.inputs.iter().flat_map(|i| &i.errors).map(ToString::to_string));
        for i in read.inputs {
            match self.inputs.last_mut() {
                // One file read an account at a time: one line.
                Some(last) if last.source == i.source && last.shape == i.shape => last.read += i.read,
                _ => self.inputs.push(InputLine {
                    source: i.source,
                    shape: i.shape,
                    read: i.read,
                    snapshot_id: i.snapshot_id,
                }),
            }
        }
        self.notes.extend(read.notes);
        self.failures.extend(read.failures);
        self.complete.extend(report::complete_regions(&mirror.coverage));
    }
}

/// The evaluation as it is shown: accepted exceptions marked (what was evaluated and recorded
/// stays as it is), filters applied, and for the outputs that print no result rows (text,
/// JUnit) the results counted instead of kept.
struct Shaped {
    result: ScanResult,
    names: names::Names,
    applied: Option<suppress::Applied>,
    /// Results by compliance, where they were counted and not kept.
    counted: Option<BTreeMap<shared::domain::vocab::Compliance, usize>>,
    /// The result rows (JSON, JSON Lines, CSV) and plan rows (JSON) already written, where they
    /// were not kept.
    rows: Option<(std::fs::File, Option<std::fs::File>)>,
    /// The text report's blockers, tallied as the accounts came.
    tally: Option<report::BlockerTally>,
}

/// Result rows written as each part is shaped, into an unnamed temporary file that is copied to
/// standard output once the scan has succeeded (an error prints no half document).
struct Rows {
    out: std::io::BufWriter<std::fs::File>,
    first: bool,
    /// The JSON document's plan rows.
    plans: Option<(std::io::BufWriter<std::fs::File>, bool)>,
}

impl Rows {
    fn new(args: &ScanArgs, suppressions: bool) -> Result<Option<Self>, String> {
        if !matches!(args.format, Format::Json | Format::Jsonl | Format::Csv) {
            return Ok(None);
        }
        let temporary = || {
            tempfile::tempfile()
                .map(|f| std::io::BufWriter::with_capacity(1 << 16, f))
                .map_err(|e| format!("a temporary file for the output: {e}"))
        };
        let mut rows = Self {
            out: temporary()?,
            first: true,
            plans: match args.format {
                Format::Json => Some((temporary()?, true)),
                _ => None,
            },
        };
        match args.format {
            Format::Json => rows.out.write_all(output::JSON_START.as_bytes()),
            Format::Csv => output::write_csv_header(suppressions, &mut rows.out),
            _ => Ok(()),
        }
        .map_err(Self::failed)?;
        Ok(Some(rows))
    }

    fn write_rows(
        &mut self,
        args: &ScanArgs,
        rows: &[shared::domain::vocab::Evaluation],
        applied: Option<&suppress::Applied>,
        names: &names::Names,
    ) -> Result<(), String> {
        match args.format {
            Format::Json => output::write_json_rows(rows, applied, Some(names), &mut self.first, &mut self.out),
            Format::Jsonl => output::write_jsonl(rows, applied, Some(names), &mut self.out),
            _ => output::write_csv_rows(rows, applied, &mut self.out),
        }
        .map_err(Self::failed)
    }

    fn write_plans(
        &mut self,
        plans: &[shared::domain::plans::PlanReadiness],
        applied: Option<&suppress::Applied>,
    ) -> Result<(), String> {
        if let Some((out, first)) = &mut self.plans {
            output::write_json_plans(plans, applied, first, out).map_err(Self::failed)?;
        }
        Ok(())
    }

    /// The rows written, from their start.
    fn finish(self) -> Result<(std::fs::File, Option<std::fs::File>), String> {
        use std::io::Seek as _;
        let rewound = |out: std::io::BufWriter<std::fs::File>| {
            let mut file = out.into_inner().map_err(|e| Self::failed(e.into_error()))?;
            file.rewind().map_err(Self::failed)?;
            Ok::<_, String>(file)
        };
        Ok((rewound(self.out)?, self.plans.map(|(p, _)| rewound(p)).transpose()?))
    }

    fn failed(e: std::io::Error) -> String {
        format!("writing the output to a temporary file: {e}")
    }
}

/// [`Shaped`] a part (whole accounts) at a time.
struct Shaping<'a> {
    args: &'a ScanArgs,
    settings: &'a Settings,
    applying: Option<suppress::Applying<'a>>,
    counted: Option<BTreeMap<shared::domain::vocab::Compliance, usize>>,
    rows: Option<Rows>,
    /// The text report's blockers, tallied as the accounts come: once the report is sure to be
    /// a summary, which lists none, the plan rows keep none.
    tally: Option<report::BlockerTally>,
    /// Whether the plan rows kept keep no blockers any more (see `tally`).
    stripped: bool,
    shaped: Evaluated,
}

impl<'a> Shaping<'a> {
    fn new(args: &'a ScanArgs, setup: &'a Setup) -> Result<Self, String> {
        Ok(Self {
            args,
            settings: &setup.settings,
            applying: setup
                .suppressions
                .as_ref()
                .map(|s| s.applying(chrono::Utc::now().date_naive())),
            counted: matches!(args.format, Format::Text | Format::Junit).then(BTreeMap::new),
            rows: Rows::new(args, setup.suppressions.is_some())?,
            tally: (args.format == Format::Text).then(report::BlockerTally::default),
            stripped: false,
            shaped: Evaluated::default(),
        })
    }

    /// Whether results may be handed on as they come ([`evaluate`]'s parts): nothing needs a
    /// whole account's results (no suppressions file; the store takes them as they come too)
    /// and the output writes or counts them.
    fn takes_parts(&self) -> bool {
        self.applying.is_none() && (self.counted.is_some() || self.rows.is_some())
    }

    /// Takes results as they come (see [`Shaping::takes_parts`]).
    fn add_rows(&mut self, names: &names::Names, rows: &[shared::domain::vocab::Evaluation]) -> Result<(), String> {
        let filtered: Vec<shared::domain::vocab::Evaluation>;
        let rows = if rows.iter().all(|e| self.args.filter.evaluation(e)) {
            rows
        } else {
            filtered = rows
                .iter()
                .filter(|e| self.args.filter.evaluation(e))
                .cloned()
                .collect();
            &filtered
        };
        if let Some(counted) = &mut self.counted {
            for e in rows {
                *counted.entry(e.compliance).or_default() += 1;
            }
        } else if let Some(out) = &mut self.rows {
            out.write_rows(self.args, rows, None, names)?;
        }
        Ok(())
    }

    /// Takes whole accounts' evaluation (its results, if not handed on already, and its plans).
    fn add(&mut self, names: &names::Names, part: Evaluated) -> Result<(), String> {
        if let Some(a) = &mut self.applying {
            a.add(&part.result, self.settings);
        }
        // Filters choose what is shown, after everything was evaluated and recorded.
        let mut result = self.args.filter.apply(part.result);
        if let Some(counted) = &mut self.counted {
            for e in &result.evaluations {
                *counted.entry(e.compliance).or_default() += 1;
            }
            result.evaluations = Vec::new();
        }
        if let Some(rows) = &mut self.rows {
            let applied = self.applying.as_ref().map(suppress::Applying::current);
            rows.write_rows(self.args, &result.evaluations, applied, names)?;
            rows.write_plans(&result.plans, applied)?;
            result.evaluations = Vec::new();
            // Written (JSON) or not shown (JSON Lines, CSV): what a row's blockers and
            // unverified checks are is not kept, only its status (the exit status reads it).
            for p in &mut result.plans {
                p.blockers = Vec::new();
                p.unverified = Vec::new();
            }
        }
        if let Some(tally) = &mut self.tally {
            tally.add(&result.plans);
            let summary = self.args.summary.unwrap_or(tally.lines > report::SUMMARY_ABOVE);
            if summary {
                // What the summary shows of a row is its status (the tally has its blockers):
                // the rows kept so far once, then each part's.
                let kept = if std::mem::replace(&mut self.stripped, true) {
                    &mut [][..]
                } else {
                    &mut self.shaped.result.plans[..]
                };
                for p in kept.iter_mut().chain(&mut result.plans) {
                    p.blockers = Vec::new();
                    p.unverified = Vec::new();
                }
            }
        }
        self.shaped.absorb(Evaluated { result });
        Ok(())
    }

    fn finish(self, names: names::Names) -> Result<Shaped, String> {
        Ok(Shaped {
            result: self.shaped.result,
            names,
            applied: self.applying.map(suppress::Applying::finish),
            counted: self.counted,
            rows: self.rows.map(Rows::finish).transpose()?,
            tally: self.tally,
        })
    }
}

/// Prints the scan in the format asked (filters and accepted exceptions applied here), and the
/// exit status.
fn render(
    args: &ScanArgs,
    shown: &Shown,
    shaped: Shaped,
    recording: Option<&store::Recording>,
) -> Result<ExitCode, String> {
    let Shaped {
        result,
        names,
        applied,
        counted,
        rows,
        tally,
    } = shaped;
    let (source, snapshot_id) = source(&shown.inputs);
    let mut notes = shown.notes.clone();
    let input_lines: Vec<String> = shown
        .inputs
        .iter()
        .map(|i| format!("{}: {}, {} items", i.source, i.shape, i.read))
        .collect();
    let complete = &shown.complete;
    let mut error_messages = shown.errors.clone();
    error_messages.extend(shown.failures.iter().map(|f| format!("not read: {f}")));
    if let Some(a) = &applied {
        for n in &a.notes {
            eprintln!("warning: {n}");
        }
        notes.extend(a.notes.iter().cloned());
    }
    let applied = applied.as_ref();
    let transitions: Vec<&shared::domain::state::Transition> = recording
        .into_iter()
        .flat_map(|r| &r.diff.transitions)
        .filter(|t| args.filter.transition(t))
        .collect();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = match args.format {
        Format::Json => {
            let doc = output::Document {
                evaluations: output::Marked {
                    rows: &result.evaluations,
                    applied,
                    names: Some(&names),
                },
                plans: output::Marked {
                    rows: &result.plans,
                    applied,
                    names: Some(&names),
                },
                changes: recording.map(|rec| output::Changes {
                    since: rec.previous_scan,
                    transitions: transitions.clone(),
                    plan_transitions: rec
                        .plan_transitions
                        .iter()
                        .filter(|t| args.filter.plan_transition(t))
                        .collect(),
                    stale: rec.diff.stale,
                }),
                errors: args.keep_going.then_some(error_messages.as_slice()),
                notes: &notes,
                azure: &result.azure,
            };
            match rows {
                // The rows written as the accounts were shaped, then the rest of the document
                // (its `evaluations` and `plans` empty, cut where the written rows go).
                Some((mut rows, Some(mut plans))) => serde_json::to_vec(&output::Document {
                    plans: output::Marked {
                        rows: &[],
                        applied,
                        names: Some(&names),
                    },
                    ..doc
                })
                .map_err(std::io::Error::from)
                .and_then(|rest| {
                    std::io::copy(&mut rows, &mut out)?;
                    out.write_all(b"],\"plans\":[")?;
                    std::io::copy(&mut plans, &mut out)?;
                    out.write_all(b"]")?;
                    let cut = output::JSON_EMPTY_START.len();
                    out.write_all(rest.get(cut..).unwrap_or_default())?;
                    writeln!(out)?;
                    out.flush()
                }),
                _ => serde_json::to_writer(&mut out, &doc)
                    .map_err(std::io::Error::from)
                    .and_then(|()| writeln!(out)),
            }
        }
        Format::Jsonl | Format::Csv if rows.is_some() => rows.map_or(Ok(()), |(mut rows, _)| {
            std::io::copy(&mut rows, &mut out)?;
            out.flush()
        }),
        Format::Jsonl => output::write_jsonl(&result.evaluations, applied, Some(&names), &mut out),
        Format::Csv => output::write_csv(&result.evaluations, applied, &mut out),
        Format::Junit => output::write_junit(&result.plans, applied, &mut out),
        Format::Sarif => output_origin(&args.paths, &source, &names, |o| {
            formats::write_sarif(&result.evaluations, applied, o, &mut out)
        }),
        Format::Ocsf => output_origin(&args.paths, &source, &names, |o| {
            formats::write_ocsf(&result.evaluations, applied, o, &mut out)
        }),
        Format::Asff => {
            let home = formats::home_regions(&result.plans);
            output_origin(&args.paths, &source, &names, |o| {
                formats::write_asff(&result.evaluations, applied, &home, o, &mut out)
            })
        }
        Format::Text => {
            // Shaping tallies the text report's blockers; a tally of the rows otherwise.
            let tally = tally.unwrap_or_else(|| report::BlockerTally::of(&result.plans));
            let mut command = vec!["defender-prereqs scan".to_owned()];
            command.extend(args.paths.iter().map(|p| shell_word(&p.display().to_string())));
            if let Some(s) = &args.settings {
                command.push(format!("--settings {}", shell_word(&s.display().to_string())));
            }
            let command = command.join(" ");
            let input = report::ReportInput {
                source: &source,
                snapshot_id: snapshot_id.as_deref(),
                recording,
                errors: &error_messages,
                inputs: &input_lines,
                complete,
                notes: &notes,
                applied,
                names: Some(&names),
                verbose: args.verbose,
                summary: args.summary.unwrap_or(tally.lines > report::SUMMARY_ABOVE),
                command: &command,
                counted: counted.as_ref(),
                tally: &tally,
            };
            write!(out, "{}", report::render(&result, &input)).and_then(|()| out.flush())
        }
    };
    match written {
        Ok(()) => {}
        // A closed pipe (`| head`) is the reader's choice, not a failure.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("writing the output: {e}")),
    }
    // The exit status follows each row's status with its accepted exceptions set aside.
    let status = |p: &shared::domain::plans::PlanReadiness| applied.map_or(p.status, |a| a.status(p));
    let any = |s| result.plans.iter().any(|p| status(p) == s);
    use shared::domain::plans::PlanStatus;
    Ok(
        if (args.fail_on_blocked && any(PlanStatus::Blocked))
            || (args.fail_on_unverified && any(PlanStatus::Unverified))
        {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

fn progress_bar(len: usize, message: &'static str) -> ProgressBar {
    // Only worth drawing for large inputs; indicatif hides it when stderr is not a terminal.
    if len < 20_000 {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} items ({per_sec})") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message);
    pb
}

/// A bar of the bytes of one input read (hidden below 20 MB, and when stderr is not a terminal).
fn bytes_bar(len: u64, message: &'static str) -> ProgressBar {
    if len < 20 << 20 {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec})") {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(message);
    pb
}

/// A spinner naming the phase, for inputs large enough to wait on (hidden when stderr is not a
/// terminal).
fn spinner(items: usize, message: &'static str) -> ProgressBar {
    if items < 20_000 {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.enable_steady_tick(std::time::Duration::from_millis(120));
    pb.set_message(message);
    pb
}

/// Runs `write` with the scan's origin: the one input path given, else the report's name for
/// the inputs, and now.
fn output_origin(
    paths: &[PathBuf],
    source: &str,
    names: &names::Names,
    write: impl FnOnce(&formats::Origin<'_>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let one = match paths {
        [one] => Some(one.display().to_string()),
        _ => None,
    };
    write(&formats::Origin {
        source: one.as_deref().unwrap_or(source),
        at: chrono::Utc::now(),
        names: Some(names),
    })
}

/// `word` as a shell would need it in a suggested command.
fn shell_word(word: &str) -> String {
    if word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
