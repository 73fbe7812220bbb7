//! The functions' path (collect a changed resource, its dependants and their neighbourhoods
//! through the Config API, then evaluate) must agree with a full snapshot scan.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use shared::app::collect::{collect, evaluate_targets};
use shared::app::memory::MemoryReader;
use shared::domain::engine::scan;
use shared::domain::settings::Settings;
use shared::domain::snapshot;
use shared::domain::vocab::Evaluation;

fn key(e: &Evaluation) -> (String, String, String, String) {
    (
        e.account_id.to_string(),
        e.resource_type.to_string(),
        e.resource_id.to_string(),
        e.check_id.to_string(),
    )
}

#[tokio::test]
async fn live_collection_of_any_changed_item_matches_the_snapshot_scan() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let (items, _) = snapshot::load(&dir.join("demo-snapshot.json"), false).unwrap();
    let settings = Settings::from_file(&dir.join("demo-settings.toml")).unwrap();
    let full: BTreeMap<_, _> = scan(items.clone(), &settings)
        .evaluations
        .into_iter()
        .map(|e| (key(&e), e))
        .collect();
    let recorded: Vec<String> = items
        .iter()
        .map(|i| i.resource_type.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let reader = MemoryReader::new(items.clone());
    let mut compared = 0;
    for changed in &items {
        let c = collect(&reader, vec![changed.clone()], &settings, true, &recorded)
            .await
            .unwrap();
        for e in evaluate_targets(&c, &settings) {
            let want = full
                .get(&key(&e))
                .unwrap_or_else(|| panic!("{:?} not in the full scan", key(&e)));
            assert_eq!(
                (e.compliance, &e.annotation),
                (want.compliance, &want.annotation),
                "{} changed: {:?}",
                changed.resource_id,
                key(&e)
            );
            compared += 1;
        }
    }
    assert!(compared > 300, "compared {compared}");
}

#[tokio::test]
async fn a_role_change_reaches_the_instances_using_it_and_the_account() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let (items, _) = snapshot::load(&dir.join("demo-snapshot.json"), false).unwrap();
    let settings = Settings::default();
    let role = items
        .iter()
        .find(|i| i.resource_name.as_deref() == Some("web-ssm-role"))
        .unwrap()
        .clone();
    let c = collect(&MemoryReader::new(items), vec![role], &settings, true, &[])
        .await
        .unwrap();
    let mut targets: Vec<&str> = c
        .targets
        .iter()
        .map(|&t| c.graph.item(t).resource_id.as_str())
        .collect();
    targets.sort_unstable();
    assert!(
        targets.contains(&"i-0web000000000001")
            && targets.contains(&"i-0sql000000000003")
            && targets.contains(&"111122223333"),
        "{targets:?}"
    );
    assert!(
        !targets.contains(&"i-0bat000000000002"),
        "batch-1 has no profile: {targets:?}"
    );
}
