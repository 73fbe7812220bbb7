//! CloudWatch embedded metric format (EMF): one JSON line per record on stdout, which Lambda
//! ships to CloudWatch Logs and CloudWatch turns into metrics, with no PutMetricData call and no
//! extra permission. The template's dashboard reads these metrics.

use serde_json::{json, Map, Value};

use crate::domain::plans::{PlanReadiness, PlanStatus};

/// The metric namespace.
pub const NAMESPACE: &str = "DefenderPrereqs";

/// One EMF record: `dimensions` (name, value) pairs, all used as one dimension set plus each
/// `rollups` subset, and `metrics` (name, value, unit).
pub fn record(
    dimensions: &[(&str, &str)],
    rollups: &[&[&str]],
    metrics: &[(&str, f64, &str)],
    timestamp_ms: i64,
) -> String {
    let mut sets: Vec<Vec<&str>> = vec![dimensions.iter().map(|(k, _)| *k).collect()];
    sets.extend(rollups.iter().map(|r| r.to_vec()));
    let mut doc = Map::new();
    doc.insert(
        "_aws".into(),
        json!({
            "Timestamp": timestamp_ms,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": sets,
                "Metrics": metrics.iter().map(|(n, _, u)| json!({"Name": n, "Unit": u})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (k, v) in dimensions {
        doc.insert((*k).into(), json!(v));
    }
    for (n, v, _) in metrics {
        doc.insert((*n).into(), json!(v));
    }
    Value::Object(doc).to_string()
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A function's per-invocation counters (dimension `Function`).
pub fn invocation(function: &str, counters: &[(&str, usize)], timestamp_ms: i64) -> String {
    let metrics: Vec<(&str, f64, &str)> = counters.iter().map(|(n, v)| (*n, *v as f64, "Count")).collect();
    record(&[("Function", function)], &[], &metrics, timestamp_ms)
}

/// Readiness records, one per account × region × plan: `Ready`, `Unverified` and `Blocked` (0 or 1) and
/// `NonCompliantResources`, by (`AccountId`, `AwsRegion`, `Plan`) and by `Plan` alone.
/// NOT_APPLICABLE plans are skipped.
pub fn readiness(plans: &[PlanReadiness], timestamp_ms: i64) -> Vec<String> {
    plans
        .iter()
        .filter(|p| p.status != PlanStatus::NotApplicable)
        .map(|p| {
            let is = |status: PlanStatus| f64::from(u8::from(p.status == status));
            record(
                &[
                    ("AccountId", &p.account_id),
                    ("AwsRegion", &p.aws_region),
                    ("Plan", p.plan.as_str()),
                ],
                &[&["Plan"]],
                &[
                    ("Ready", is(PlanStatus::Ready), "None"),
                    ("Unverified", is(PlanStatus::Unverified), "None"),
                    ("Blocked", is(PlanStatus::Blocked), "None"),
                    ("NonCompliantResources", p.non_compliant_resources as f64, "Count"),
                ],
                timestamp_ms,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::vocab::{Compliance, Evaluation, Plan};

    #[test]
    fn records_follow_the_embedded_metric_format() {
        let line = invocation(
            "config-rule",
            &[("Evaluations", 3), ("Transitions", 1)],
            1_700_000_000_000,
        );
        let v: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["_aws"]["Timestamp"], 1_700_000_000_000_i64);
        let d = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(d["Namespace"], NAMESPACE);
        assert_eq!(d["Dimensions"], json!([["Function"]]));
        assert_eq!(d["Metrics"][0], json!({"Name": "Evaluations", "Unit": "Count"}));
        assert_eq!(
            (v["Function"].as_str(), v["Evaluations"].as_f64()),
            (Some("config-rule"), Some(3.0))
        );
        assert!(!line.contains('\n'));
    }

    #[test]
    fn readiness_counts_distinct_non_compliant_resources_per_region_and_plan() {
        let e = |region: &str, id: &str, check: &str, c| Evaluation {
            account_id: "111122223333".into(),
            aws_region: region.into(),
            resource_type: "AWS::EC2::Instance".into(),
            resource_id: id.into(),
            check_id: check.into(),
            plan: Plan::Servers,
            compliance: c,
            annotation: Default::default(),
            capture_time: None,
        };
        let results = [
            e("us-east-1", "i-1", "a", Compliance::NonCompliant),
            e("us-east-1", "i-1", "b", Compliance::NonCompliant),
            e("us-east-1", "i-2", "a", Compliance::Compliant),
            e("eu-west-1", "i-3", "a", Compliance::NonCompliant),
        ];
        let regions = ["us-east-1", "eu-west-1", "ap-south-1"].map(String::from).to_vec();
        let plans: Vec<PlanReadiness> = crate::domain::plans::rollup(
            &results,
            &std::collections::BTreeMap::from([("111122223333".to_owned(), regions)]),
            &crate::domain::settings::Settings::default(),
        )
        .into_iter()
        .filter(|p| p.plan == Plan::Servers)
        .collect();
        let lines = readiness(&plans, 0);
        assert_eq!(lines.len(), 2, "NOT_APPLICABLE is skipped");
        let v: Vec<Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            (v[0]["Ready"].as_f64(), v[0]["Blocked"].as_f64()),
            (Some(0.0), Some(1.0))
        );
        assert_eq!(v[0]["NonCompliantResources"], 1.0);
        assert_eq!(v[1]["NonCompliantResources"], 1.0);
        assert_eq!(
            v[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["AccountId", "AwsRegion", "Plan"], ["Plan"]])
        );
    }
}
