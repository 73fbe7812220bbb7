//! The Azure half of a scan: read with Microsoft's SDK (feature `azure`), one progress line per
//! step on standard error. Nothing here fails the scan: what could not be read is recorded where
//! it failed and the `azure.*` checks say INSUFFICIENT_DATA for it.

use shared::domain::azure::AzureSide;
use shared::domain::settings::Settings;

fn failed(settings: &Settings, why: &str) -> AzureSide {
    AzureSide::failed(&settings.azure.subscriptions, why)
}

/// Reads the subscriptions the settings ask for.
#[cfg(feature = "azure")]
pub fn read(settings: &Settings) -> AzureSide {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return failed(settings, &format!("no async runtime: {e}")),
    };
    let (credential, kind) = match shared::azure::credential(&settings.azure, settings.azure_tenant_id.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("azure: no credential ({e}); the azure.* checks are INSUFFICIENT_DATA");
            return failed(settings, &format!("no credential: {e}"));
        }
    };
    eprintln!(
        "azure: reading {} with the {kind} credential",
        settings.azure.subscriptions.join(", ")
    );
    let reader = shared::azure::AzureReader::new(&settings.azure, credential);
    rt.block_on(reader.read(&settings.azure, |line| eprintln!("{line}")))
}

/// Without the `azure` feature: every subscription asked for is unreadable.
#[cfg(not(feature = "azure"))]
pub fn read(settings: &Settings) -> AzureSide {
    eprintln!("azure: this build has no Azure support (feature `azure`); the azure.* checks are INSUFFICIENT_DATA");
    failed(settings, "this build has no Azure support (feature `azure`)")
}
