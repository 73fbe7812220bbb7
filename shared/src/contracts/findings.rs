//! AWS Security Hub findings of recorded results, in the AWS Security Finding Format (ASFF): one
//! finding per resource × check, its id stable so that every later import updates it. Which
//! results become findings: by default only NON_COMPLIANT ones; a finding whose result leaves the
//! imported statuses is updated once more (resolved: `Compliance.Status` PASSED and `RecordState`
//! ARCHIVED; undecided: NOT_AVAILABLE, still ACTIVE, since unverified is not resolved).

use chrono::{DateTime, SecondsFormat, Utc};

use crate::domain::checks;
use crate::domain::state::{EvalKey, Recorded};
use crate::domain::vocab::{partition, Compliance, Plan, ACCOUNT_TYPE};

/// The ASFF schema version.
pub const SCHEMA_VERSION: &str = "2018-10-08";

/// The finding type (ASFF `namespace/category/classifier`).
pub const FINDING_TYPE: &str =
    "Software and Configuration Checks/Industry and Regulatory Standards/Defender for Cloud prerequisites";

/// BatchImportFindings takes at most this many findings a call.
pub const BATCH: usize = 100;

/// One finding, as BatchImportFindings takes it (the adapter maps it to the SDK's type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// `Id`: `defender-prereqs/<account>/<region>/<type>/<id>/<check>`.
    pub id: String,
    /// `ProductArn`: the account's default product (`arn:<partition>:securityhub:<region>:<account>:product/<account>/default`).
    pub product_arn: String,
    /// `GeneratorId`: `defender-prereqs/<check>`.
    pub generator_id: String,
    /// `AwsAccountId`.
    pub account_id: String,
    /// The Security Hub region the finding is imported in (the result's, or `home` for global ones).
    pub region: String,
    /// `CreatedAt` and `UpdatedAt`: when the result was recorded.
    pub updated_at: String,
    /// `Severity.Label`.
    pub severity: &'static str,
    /// `Title`: the check's title.
    pub title: String,
    /// `Description`: the result's annotation.
    pub description: String,
    /// `Remediation.Recommendation.Text`.
    pub remediation_text: String,
    /// `Remediation.Recommendation.Url`.
    pub remediation_url: &'static str,
    /// `ProductFields`: plan, check, compliance, gating.
    pub product_fields: Vec<(String, String)>,
    /// `Resources[0].Type`.
    pub resource_type: &'static str,
    /// `Resources[0].Id`: an ARN where the result's key gives one, else `<type>/<id>`.
    pub resource_id: String,
    /// `Resources[0].Partition`.
    pub partition: &'static str,
    /// `Compliance.Status`: FAILED, PASSED or NOT_AVAILABLE.
    pub compliance_status: &'static str,
    /// `RecordState`: ACTIVE or ARCHIVED.
    pub record_state: &'static str,
}

impl Finding {
    /// The finding as ASFF JSON (`BatchImportFindings`' `Findings` entries, and what
    /// `aws securityhub batch-import-findings --findings file://...` reads): the same fields the
    /// Security Hub adapter sets through the SDK.
    pub fn to_asff(&self) -> serde_json::Value {
        let product_fields: serde_json::Map<String, serde_json::Value> = self
            .product_fields
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect();
        serde_json::json!({
            "SchemaVersion": SCHEMA_VERSION,
            "Id": self.id,
            "ProductArn": self.product_arn,
            "GeneratorId": self.generator_id,
            "AwsAccountId": self.account_id,
            "Region": self.region,
            "Types": [FINDING_TYPE],
            "CreatedAt": self.updated_at,
            "UpdatedAt": self.updated_at,
            "Severity": {"Label": self.severity},
            "Title": self.title,
            "Description": self.description,
            "Remediation": {"Recommendation": {"Text": self.remediation_text, "Url": self.remediation_url}},
            "ProductFields": product_fields,
            "Resources": [{
                "Type": self.resource_type,
                "Id": self.resource_id,
                "Partition": self.partition,
                "Region": self.region,
            }],
            "Compliance": {"Status": self.compliance_status},
            "RecordState": self.record_state,
        })
    }
}

/// The Microsoft Learn page a plan's prerequisites are documented on.
pub fn documentation(plan: Plan) -> &'static str {
    match plan {
        Plan::Containers => "https://learn.microsoft.com/azure/defender-for-cloud/defender-for-containers-enable",
        Plan::Servers => "https://learn.microsoft.com/azure/defender-for-cloud/plan-defender-for-servers",
        _ => "https://learn.microsoft.com/azure/defender-for-cloud/quickstart-onboard-aws",
    }
}

/// Whether a transition from `previous` to `current` concerns Security Hub: it enters or leaves
/// the imported statuses.
pub fn concerns(previous: Option<Compliance>, current: Compliance, imported: &[Compliance]) -> bool {
    imported.contains(&current) || previous.is_some_and(|p| imported.contains(&p))
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The finding of one result as recorded now (`None`: no longer recorded, its resource gone),
/// recorded at `at`. Global results (IAM, the account) are imported in `home`.
pub fn finding(key: &EvalKey, recorded: Option<&Recorded>, at: DateTime<Utc>, home: &str) -> Finding {
    let region = if key.aws_region == "global" || key.aws_region.is_empty() {
        home.to_owned()
    } else {
        key.aws_region.to_string()
    };
    let part = partition(&region);
    let check = checks::by_id(&key.check_id);
    let compliance = recorded.map(|r| r.compliance);
    let (compliance_status, record_state) = match compliance {
        Some(Compliance::NonCompliant) => ("FAILED", "ACTIVE"),
        // Undecided (imported as such, or after failing): open, but not known to fail.
        Some(Compliance::InsufficientData) => ("NOT_AVAILABLE", "ACTIVE"),
        Some(Compliance::Compliant | Compliance::NotApplicable) | None => ("PASSED", "ARCHIVED"),
    };
    let gating = check.is_some_and(|c| c.gating);
    let severity = match (compliance_status, gating) {
        ("FAILED", true) => "HIGH",
        ("FAILED", false) => "LOW",
        ("NOT_AVAILABLE", _) => "MEDIUM",
        _ => "INFORMATIONAL",
    };
    let plan = recorded.map(|r| r.plan).or_else(|| check.map(|c| c.plan));
    let (resource_type, resource_id) = match key.resource_type.as_str() {
        "AWS::EC2::Instance" => (
            "AwsEc2Instance",
            format!(
                "arn:{part}:ec2:{region}:{}:instance/{}",
                key.account_id, key.resource_id
            ),
        ),
        "AWS::EKS::Cluster" => (
            "AwsEksCluster",
            format!("arn:{part}:eks:{region}:{}:cluster/{}", key.account_id, key.resource_id),
        ),
        t if t == ACCOUNT_TYPE => ("AwsAccount", format!("AWS::::Account:{}", key.resource_id)),
        t => ("Other", format!("{t}/{}", key.resource_id)),
    };
    let description = match recorded {
        Some(r) if !r.annotation.is_empty() => r.annotation.clone(),
        Some(r) => r.compliance.as_str().to_owned().into(),
        None => "The resource is no longer recorded.".to_owned().into(),
    };
    let mut product_fields = vec![
        ("defender-prereqs/checkId".to_owned(), key.check_id.to_string()),
        (
            "defender-prereqs/compliance".to_owned(),
            compliance.map_or("NOT_RECORDED", Compliance::as_str).to_owned(),
        ),
        ("defender-prereqs/gating".to_owned(), gating.to_string()),
    ];
    if let Some(p) = plan {
        product_fields.push(("defender-prereqs/plan".to_owned(), p.as_str().to_owned()));
    }
    Finding {
        id: format!(
            "defender-prereqs/{}/{}/{}/{}/{}",
            key.account_id, key.aws_region, key.resource_type, key.resource_id, key.check_id
        ),
        product_arn: format!(
            "arn:{part}:securityhub:{region}:{0}:product/{0}/default",
            key.account_id
        ),
        generator_id: format!("defender-prereqs/{}", key.check_id),
        account_id: key.account_id.to_string(),
        region,
        updated_at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
        severity,
        title: cut(check.map_or(key.check_id.as_str(), |c| c.title), 256),
        description: cut(&description, 1024),
        remediation_text: cut(check.map_or("", |c| c.remediation), 512),
        remediation_url: documentation(plan.unwrap_or(Plan::Cspm)),
        product_fields,
        resource_type,
        resource_id,
        partition: part,
        compliance_status,
        record_state,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(t: &str, id: &str, region: &str) -> EvalKey {
        EvalKey {
            account_id: "111122223333".into(),
            aws_region: region.into(),
            resource_type: t.into(),
            resource_id: id.into(),
            check_id: "servers.instance-profile".into(),
        }
    }

    fn recorded(c: Compliance) -> Recorded {
        Recorded {
            plan: Plan::Servers,
            compliance: c,
            annotation: "no instance profile".into(),
            capture_time: None,
        }
    }

    #[test]
    fn a_failing_result_is_an_active_failed_finding_of_its_account() {
        let at = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let f = finding(
            &key("AWS::EC2::Instance", "i-0abc", "eu-west-1"),
            Some(&recorded(Compliance::NonCompliant)),
            at,
            "us-east-1",
        );
        assert_eq!(
            f.product_arn,
            "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"
        );
        assert_eq!(f.region, "eu-west-1");
        assert_eq!((f.compliance_status, f.record_state), ("FAILED", "ACTIVE"));
        assert_eq!(f.resource_type, "AwsEc2Instance");
        assert_eq!(f.resource_id, "arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc");
        assert_eq!(f.updated_at, "2026-12-01T10:00:00.000Z");
        assert!(f
            .product_fields
            .contains(&("defender-prereqs/plan".into(), "servers".into())));
        assert!(f.remediation_url.starts_with("https://learn.microsoft.com/"));
        assert!(f.title.len() <= 256 && f.description.len() <= 1024 && f.remediation_text.len() <= 512 * 3);
        assert!(!f.remediation_text.is_empty());
    }

    #[test]
    fn resolved_or_deleted_results_archive_their_finding_and_undecided_ones_stay_open() {
        let at = Utc::now();
        let k = key("AWS::IAM::Role", "AROAEXAMPLE", "global");
        for r in [
            Some(recorded(Compliance::Compliant)),
            Some(recorded(Compliance::NotApplicable)),
            None,
        ] {
            let f = finding(&k, r.as_ref(), at, "us-east-1");
            assert_eq!((f.compliance_status, f.record_state), ("PASSED", "ARCHIVED"), "{r:?}");
            assert_eq!(f.region, "us-east-1", "global results go to the home region");
        }
        let f = finding(&k, Some(&recorded(Compliance::InsufficientData)), at, "us-east-1");
        assert_eq!((f.compliance_status, f.record_state), ("NOT_AVAILABLE", "ACTIVE"));
        assert_eq!(f.resource_id, "AWS::IAM::Role/AROAEXAMPLE");
    }

    #[test]
    fn only_transitions_into_or_out_of_the_imported_statuses_concern_security_hub() {
        let nc = [Compliance::NonCompliant];
        assert!(concerns(None, Compliance::NonCompliant, &nc));
        assert!(concerns(Some(Compliance::NonCompliant), Compliance::Compliant, &nc));
        assert!(!concerns(
            Some(Compliance::InsufficientData),
            Compliance::Compliant,
            &nc
        ));
        assert!(!concerns(None, Compliance::Compliant, &nc));
    }
}
