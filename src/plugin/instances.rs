//! Datasource instances: one [`Live`] federation per datasource (its discovery
//! sources running beside it), rebuilt when Grafana reports newer settings
//! (`lastUpdatedMS`; the old one's sources stop when it is dropped). Settings
//! errors are not cached, so a fixed datasource works on the next request.
//! Each request takes the instance's current [`Federation`] once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use grafana_plugin_sdk::pluginv2::PluginContext;

use crate::discovery::Live;
use crate::error::{ErrorCode, FleetError};
use crate::federation::Federation;
use crate::registry::Registry;

#[derive(Default)]
pub struct Instances {
    by_datasource: Mutex<HashMap<String, (i64, Arc<Live>)>>,
}

impl Instances {
    /// Every live instance (for CollectMetrics).
    pub fn all(&self) -> Vec<(String, Arc<Federation>)> {
        let map = self.by_datasource.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(k, (_, live))| (k.clone(), live.current())).collect()
    }

    /// The current federation of the datasource in `ctx`.
    pub fn get(&self, ctx: Option<&PluginContext>) -> Result<Arc<Federation>, FleetError> {
        self.live(ctx).map(|l| l.current())
    }

    /// The live instance of the datasource in `ctx` (Save & test waits for its sources).
    pub fn live(&self, ctx: Option<&PluginContext>) -> Result<Arc<Live>, FleetError> {
        let settings = ctx
            .and_then(|c| c.data_source_instance_settings.as_ref())
            .ok_or_else(|| FleetError::new(ErrorCode::InvalidSettings, "request carries no datasource instance settings"))?;
        let key = if settings.uid.is_empty() { settings.id.to_string() } else { settings.uid.clone() };
        {
            let map = self.by_datasource.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((updated, live)) = map.get(&key)
                && *updated == settings.last_updated_ms
            {
                return Ok(live.clone());
            }
        }
        let registry = Registry::from_grafana(&settings.json_data, &settings.decrypted_secure_json_data)?;
        let sources = registry.settings.discovery.len();
        let live = Arc::new(Live::new(registry));
        tracing::info!(datasource = %key, clusters = live.current().registry.clusters().len(), sources, "datasource instance (re)built");
        self.by_datasource.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (settings.last_updated_ms, live.clone()));
        Ok(live)
    }
}
