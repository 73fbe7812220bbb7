//! RDS DB instances as the open-source database checks see them.

use crate::domain::checks::{Ctx, Outcome};
use crate::domain::model::{RdsInstance, Resource};

pub(crate) fn instance<'a>(ctx: &Ctx<'a>) -> Result<(&'a RdsInstance, &'a str), Outcome> {
    let Resource::RdsInstance(db) = &ctx.item.resource else {
        return Err(Outcome::not_applicable("not an RDS DB instance"));
    };
    let Some(engine) = db.engine.as_deref() else {
        return Err(Outcome::unknown("engine is not in the configuration item"));
    };
    let s = &ctx.settings.oss;
    if !s.engines.iter().any(|e| e == engine) {
        return Err(Outcome::not_applicable(format!(
            "engine {engine} is not supported by the plan"
        )));
    }
    if s.excluded_regions.contains(&ctx.item.region) {
        return Err(Outcome::not_applicable(format!(
            "the plan is not available in {}",
            ctx.item.region
        )));
    }
    // Scope follows membership: an instance of a DB cluster the plan does not support (a
    // Multi-AZ DB cluster, whose members run a non-Aurora engine) is out of scope with its
    // cluster (oss.multiaz-cluster), whatever its own engine allows. The cluster's engine when
    // its item is read, else the member's (an Aurora cluster's members run Aurora engines).
    if let Some(cluster_id) = db.db_cluster_identifier.as_deref() {
        let cluster_engine = ctx
            .graph
            .rds_cluster(&ctx.item.account_id, &ctx.item.region, cluster_id)
            .and_then(|c| match &c.resource {
                Resource::RdsCluster(c) => c.engine.as_deref(),
                _ => None,
            })
            .unwrap_or(engine);
        if !cluster_engine.starts_with("aurora") {
            return Err(Outcome::not_applicable(format!(
                "member of DB cluster {cluster_id}, a Multi-AZ DB cluster ({cluster_engine}) the plan does not \
                 support (oss.multiaz-cluster)"
            )));
        }
    }
    Ok((db, engine))
}
