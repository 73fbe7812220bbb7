//! Creating the table as the SAM template declares it (local runs and tests).

use super::super::port_error;
use super::DynamoStore;
use crate::app::ports::PortError;

impl DynamoStore {
    /// Creates the table (on-demand, both GSIs, TTL on `expiresAt`, a stream of new and old images) as the SAM template does:
    /// for local runs and tests.
    pub async fn create_table(&self) -> Result<(), PortError> {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
            ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
        };
        let bad = |e: aws_sdk_dynamodb::error::BuildError| PortError {
            operation: "dynamodb:CreateTable",
            message: e.to_string(),
            retryable: false,
        };
        let attr = |n: &str| {
            AttributeDefinition::builder()
                .attribute_name(n)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(bad)
        };
        let key = |n: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(n)
                .key_type(t)
                .build()
                .map_err(bad)
        };
        let gsi = |name: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex, PortError> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(bad)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .set_attribute_definitions(Some(
                ["PK", "SK", "GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK"]
                    .iter()
                    .map(|n| attr(n))
                    .collect::<Result<_, _>>()?,
            ))
            .key_schema(key("PK", KeyType::Hash)?)
            .key_schema(key("SK", KeyType::Range)?)
            .global_secondary_indexes(gsi("GSI1", "GSI1PK", "GSI1SK")?)
            .global_secondary_indexes(gsi("GSI2", "GSI2PK", "GSI2SK")?)
            .stream_specification(
                aws_sdk_dynamodb::types::StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| port_error("dynamodb:CreateTable", e))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name("expiresAt")
                    .enabled(true)
                    .build()
                    .map_err(bad)?,
            )
            .send()
            .await
            .map_err(|e| port_error("dynamodb:UpdateTimeToLive", e))?;
        Ok(())
    }
}
