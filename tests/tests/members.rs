#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Member accounts' credentials (`shared::aws::members`) against moto's STS over HTTP: the role is
//! assumed once per account, whatever the regions read with it, and what is called with an
//! account's configuration happens in that account (moto keeps a backend per account, chosen by
//! the assumed role's credentials).

use integration_tests::moto;
use integration_tests::proxy::{Fault, FaultProxy};
use shared::aws::members::MemberConfigs;

async fn tables(conf: &aws_config::SdkConfig) -> Vec<String> {
    aws_sdk_dynamodb::Client::new(conf)
        .list_tables()
        .send()
        .await
        .unwrap()
        .table_names()
        .to_vec()
}

#[tokio::test]
async fn a_role_is_assumed_once_per_account_and_its_credentials_serve_every_region() {
    // Everything through a proxy that counts requests by X-Amz-Target: DynamoDB has one, STS
    // (query protocol) none.
    let proxy = FaultProxy::start(moto::endpoint(), |_| Fault::Forward).await;
    let base = moto::sdk_config().to_builder().endpoint_url(&proxy.url).build();
    let members = MemberConfigs::new(&base, "DefenderPrereqsMember", "defender-prereqs-test");
    assert_eq!(
        members.role_arn("444455556666"),
        "arn:aws:iam::444455556666:role/DefenderPrereqsMember"
    );
    for (account, region) in [
        ("444455556666", "us-east-1"),
        ("444455556666", "eu-west-1"),
        ("444455556666", "ap-southeast-2"),
        ("777788889999", "us-east-1"),
    ] {
        let conf = members.config(account, Some(region)).await.unwrap();
        assert_eq!(conf.region().map(ToString::to_string).as_deref(), Some(region));
        tables(&conf).await;
    }
    let calls = proxy.count("");
    let dynamodb = proxy.count("DynamoDB_20120810.ListTables");
    assert_eq!((calls - dynamodb, dynamodb), (2, 4), "AssumeRole once per account");

    // A table made with one member's configuration is in that account only.
    let name = moto::unique("member-table");
    let a = members.config("444455556666", Some("us-east-1")).await.unwrap();
    shared::aws::dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&a), &name)
        .create_table()
        .await
        .unwrap();
    assert!(tables(&a).await.contains(&name));
    assert!(
        !tables(&members.config("777788889999", Some("us-east-1")).await.unwrap())
            .await
            .contains(&name)
    );
    assert!(!tables(&base).await.contains(&name));
}
