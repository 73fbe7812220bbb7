//! Scan throughput: configuration items per second on a synthetic 100,000-item snapshot,
//! including JSON parsing, graph building, every check and the plan rollup (one thread).
//!
//! `cargo bench -p shared --bench scan`; set `SCAN_BENCH_ITEMS` for another size, `SCAN_BENCH_WRITE`
//! to a path to also write the snapshot there (the Python baseline and `bench/cli.py` scan the
//! same file), `SCAN_BENCH_ACCOUNTS` to spread the items over that many accounts of equal size
//! (an organization; default one account), `SCAN_BENCH_WRITE_ONLY=1` to write the file and stop,
//! `SCAN_BENCH_WRITE_BUCKET` to a directory to write the same items as a synced Config bucket
//! instead (a snapshot per account and region) and stop.

#![allow(clippy::expect_used)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shared::domain::engine::scan_graph;
use shared::domain::graph::ResourceGraph;
use shared::domain::settings::Settings;
use shared::domain::snapshot;

const ONE_ACCOUNT: &str = "111122223333";

/// A snapshot with the mix a real account shows: mostly EC2 and its SSM inventory, then roles,
/// network, EKS, RDS and types no check reads; over `accounts` accounts of equal size, one after
/// another (one account: 111122223333).
fn synthetic_snapshot(n: usize, accounts: usize) -> String {
    snapshot_of(synthetic_items(n, accounts).iter().map(|(_, _, item)| item.as_str()))
}

/// A snapshot file's text holding `items`.
fn snapshot_of<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let mut out = String::from(r#"{"fileVersion":"1.0","configSnapshotId":"bench","configurationItems":["#);
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push_str("]}");
    out
}

/// Writes the synthetic items as a synced Config bucket below `dir`: one snapshot per account
/// and region, named as the delivery channel names them (global items in us-east-1's).
fn write_bucket(dir: &std::path::Path, n: usize, accounts: usize) {
    let mut files: std::collections::BTreeMap<(String, &str), Vec<String>> = std::collections::BTreeMap::new();
    for (account, region, item) in synthetic_items(n, accounts) {
        files.entry((account, region)).or_default().push(item);
    }
    for ((account, region), items) in files {
        let at = dir.join(format!("AWSLogs/{account}/Config/{region}/2026/11/20/ConfigSnapshot"));
        std::fs::create_dir_all(&at).expect("create the bucket's folders");
        let name = format!("{account}_Config_{region}_ConfigSnapshot_20261120T090000Z_bench.json");
        std::fs::write(at.join(name), snapshot_of(items.iter().map(String::as_str))).expect("write a snapshot");
    }
}

/// The items of [`synthetic_snapshot`], each with its account and the region whose snapshot
/// holds it.
fn synthetic_items(n: usize, accounts: usize) -> Vec<(String, &'static str, String)> {
    let mut items = Vec::with_capacity(n);
    let regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    let per_account = n.div_ceil(accounts.max(1));
    let mut i = 0;
    while items.len() < n {
        #[allow(non_snake_case)]
        let ACCOUNT = if accounts <= 1 {
            ONE_ACCOUNT.to_owned()
        } else {
            format!("{:012}", 100_000_000_000 + i / per_account)
        };
        let region = regions[i % regions.len()];
        let vpc = format!("vpc-{:08x}", i / 200);
        let subnet = format!("subnet-{:08x}", i / 50);
        let t = "2026-11-20T08:15:42.517Z";
        let env = |ty: &str, id: &str, region: &str| {
            format!(
                r#""configurationItemVersion":"1.3","configurationItemCaptureTime":"{t}","configurationStateId":1763626542517,"awsAccountId":"{ACCOUNT}","configurationItemStatus":"OK","resourceType":"{ty}","resourceId":"{id}","awsRegion":"{region}","availabilityZone":"{region}a","tags":{{"env":"prod","team":"t{}"}},"supplementaryConfiguration":{{}}"#,
                i % 17
            )
        };
        let item = match i % 20 {
            0..=7 => {
                let id = format!("i-{i:017x}");
                let profile = if i % 5 == 0 {
                    String::new()
                } else {
                    format!(
                        r#","iamInstanceProfile":{{"arn":"arn:aws:iam::{ACCOUNT}:instance-profile/p{}","id":"AIPA{i}"}}"#,
                        i % 300
                    )
                };
                format!(
                    r#"{{{},"ARN":"arn:aws:ec2:{region}:{ACCOUNT}:instance/{id}","relationships":[{{"resourceType":"AWS::EC2::Subnet","resourceId":"{subnet}","name":"Is contained in Subnet"}},{{"resourceType":"AWS::EC2::VPC","resourceId":"{vpc}","name":"Is contained in Vpc"}}],"configuration":{{"instanceId":"{id}","imageId":"ami-0abc","state":{{"code":16,"name":"running"}},"privateDnsName":"ip-10-0-0-1.ec2.internal","instanceType":"m5.large","launchTime":"2026-01-01T00:00:00.000Z","placement":{{"availabilityZone":"{region}a","tenancy":"default"}},"monitoring":{{"state":"disabled"}},"subnetId":"{subnet}","vpcId":"{vpc}","privateIpAddress":"10.0.0.1","architecture":"x86_64","rootDeviceType":"ebs","rootDeviceName":"/dev/xvda","blockDeviceMappings":[{{"deviceName":"/dev/xvda","ebs":{{"status":"attached","volumeId":"vol-0abc","deleteOnTermination":true}}}}],"ebsOptimized":true,"enaSupport":true,"hypervisor":"xen","networkInterfaces":[{{"networkInterfaceId":"eni-0abc","subnetId":"{subnet}","vpcId":"{vpc}","status":"in-use","privateIpAddress":"10.0.0.1"}}],"securityGroups":[{{"groupName":"web","groupId":"sg-0abc"}}],"platformDetails":"{}","productCodes":[],"metadataOptions":{{"httpTokens":"required","httpEndpoint":"enabled"}}{profile}}}}}"#,
                    env("AWS::EC2::Instance", &id, region),
                    if i % 40 == 3 {
                        "Windows with SQL Server Standard"
                    } else {
                        "Linux/UNIX"
                    }
                )
            }
            8..=11 => {
                let id = format!("i-{:017x}", i - 8);
                format!(
                    r#"{{{},"relationships":[{{"resourceId":"{id}","resourceType":"AWS::EC2::Instance","name":"Is associated with "}}],"configuration":{{"AWS:InstanceInformation":{{"SchemaVersion":"1.0","Content":{{"{id}":{{"AgentType":"amazon-ssm-agent","AgentVersion":"3.3.40.0","PlatformName":"Amazon Linux","PlatformType":"Linux","PlatformVersion":"2","ResourceType":"EC2Instance","InstanceStatus":"Active"}}}}}}}}}}"#,
                    env("AWS::SSM::ManagedInstanceInventory", &id, region)
                )
            }
            12 => {
                let name = format!("role-{i}");
                format!(
                    r#"{{{},"resourceName":"{name}","relationships":[],"configuration":{{"path":"/","roleName":"{name}","roleId":"AROA{i}","arn":"arn:aws:iam::{ACCOUNT}:role/{name}","assumeRolePolicyDocument":"%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Service%22%3A%22ec2.amazonaws.com%22%7D%2C%22Action%22%3A%22sts%3AAssumeRole%22%7D%5D%7D","instanceProfileList":[{{"instanceProfileName":"p{}","arn":"arn:aws:iam::{ACCOUNT}:instance-profile/p{}"}}],"rolePolicyList":[],"attachedManagedPolicies":[{{"policyName":"AmazonSSMManagedInstanceCore","policyArn":"arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"}}]}}}}"#,
                    env("AWS::IAM::Role", &format!("AROA{i}"), "global"),
                    i % 300,
                    i % 300
                )
            }
            13 => format!(
                r#"{{{},"relationships":[],"configuration":{{"routeTableId":"rtb-{i}","vpcId":"{vpc}","associations":[{{"main":false,"subnetId":"{subnet}"}}],"routes":[{{"destinationCidrBlock":"10.0.0.0/16","gatewayId":"local","state":"active"}},{{"destinationCidrBlock":"0.0.0.0/0","natGatewayId":"nat-0abc","state":"active"}}]}}}}"#,
                env("AWS::EC2::RouteTable", &format!("rtb-{i}"), region)
            ),
            14 => format!(
                r#"{{{},"relationships":[],"configuration":{{"vpcEndpointId":"vpce-{i}","vpcEndpointType":"Interface","vpcId":"{vpc}","serviceName":"com.amazonaws.{region}.ssm","state":"available","privateDnsEnabled":true}}}}"#,
                env("AWS::EC2::VPCEndpoint", &format!("vpce-{i}"), region)
            ),
            15 => format!(
                r#"{{{},"relationships":[],"configuration":{{"Arn":"arn:aws:eks:{region}:{ACCOUNT}:cluster/c{i}","Name":"c{i}","Version":"1.3{}","ClusterStatus":"ACTIVE","ResourcesVpcConfig":{{"SubnetIds":["{subnet}"],"EndpointPublicAccess":true,"EndpointPrivateAccess":true,"PublicAccessCidrs":["0.0.0.0/0"]}},"Logging":{{"ClusterLogging":{{"EnabledTypes":[{{"Type":"api"}},{{"Type":"audit"}}]}}}}}}}}"#,
                env("AWS::EKS::Cluster", &format!("c{i}"), region),
                i % 4
            ),
            16 => format!(
                r#"{{{},"relationships":[],"configuration":{{"dBInstanceIdentifier":"db{i}","engine":"{}","engineVersion":"8.0.35","dBInstanceStatus":"available","dBParameterGroups":[{{"dBParameterGroupName":"custom","parameterApplyStatus":"in-sync"}}],"optionGroupMemberships":[{{"optionGroupName":"og{i}","status":"in-sync"}}],"enabledCloudwatchLogsExports":[]}}}}"#,
                env("AWS::RDS::DBInstance", &format!("db-{i}"), region),
                if i % 3 == 0 { "mysql" } else { "postgres" }
            ),
            _ => format!(
                r#"{{{},"relationships":[],"configuration":{{"name":"bucket-{i}","owner":{{"id":"abc"}},"creationDate":"2026-01-01T00:00:00.000Z"}}}}"#,
                env("AWS::S3::Bucket", &format!("bucket-{i}"), region)
            ),
        };
        items.push((ACCOUNT, if i % 20 == 12 { "us-east-1" } else { region }, item));
        i += 1;
    }
    items
}

fn scan_text(text: &str, settings: &Settings) -> usize {
    let raw = snapshot::split(text, "bench").expect("split");
    let (items, errors) = snapshot::parse_items(&raw, false, |_| {}).expect("parse");
    assert!(errors.is_empty());
    let graph = ResourceGraph::build(items);
    scan_graph(&graph, settings, |_| {}).evaluations.len()
}

fn bench(c: &mut Criterion) {
    let n: usize = std::env::var("SCAN_BENCH_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let accounts: usize = std::env::var("SCAN_BENCH_ACCOUNTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    if let Some(dir) = std::env::var_os("SCAN_BENCH_WRITE_BUCKET") {
        write_bucket(std::path::Path::new(&dir), n, accounts);
        return;
    }
    let text = synthetic_snapshot(n, accounts);
    // The same snapshot for the Python baseline (bench/run).
    if let Some(path) = std::env::var_os("SCAN_BENCH_WRITE") {
        std::fs::write(&path, &text).expect("write SCAN_BENCH_WRITE");
        if std::env::var_os("SCAN_BENCH_WRITE_ONLY").is_some() {
            return;
        }
    }
    let settings = Settings::default();
    eprintln!(
        "synthetic snapshot: {n} items, {:.1} MB, {} evaluations",
        text.len() as f64 / 1e6,
        scan_text(&text, &settings)
    );
    let mut g = c.benchmark_group("scan");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(10);
    g.measurement_time(std::time::Duration::from_secs(15));
    g.bench_function(format!("{n}_items_parse_and_evaluate"), |b| {
        b.iter(|| scan_text(&text, &settings))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
