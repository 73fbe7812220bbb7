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
    Ok((db, engine))
}
