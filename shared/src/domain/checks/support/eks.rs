//! EKS clusters as the containers checks see them.

use crate::domain::checks::{Ctx, Outcome};
use crate::domain::model::{EksCluster, Resource};

pub(crate) fn cluster<'a>(ctx: &Ctx<'a>) -> Result<&'a EksCluster, Outcome> {
    let Resource::EksCluster(c) = &ctx.item.resource else {
        return Err(Outcome::not_applicable("not an EKS cluster"));
    };
    match c.cluster_status.as_deref() {
        Some(s @ ("CREATING" | "DELETING")) => Err(Outcome::not_applicable(format!("cluster is {s}"))),
        _ => Ok(c),
    }
}
