//! Datasource instances: one [`Federation`] per datasource, rebuilt when Grafana
//! reports newer settings (`lastUpdatedMS`). Settings errors are not cached, so
//! a fixed datasource works on the next request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use grafana_plugin_sdk::pluginv2::PluginContext;

use crate::error::{ErrorCode, FleetError};
use crate::federation::Federation;
use crate::registry::Registry;

#[derive(Default)]
pub struct Instances {
    by_datasource: Mutex<HashMap<String, (i64, Arc<Federation>)>>,
}

impl Instances {
    /// Every live instance (for CollectMetrics).
    pub fn all(&self) -> Vec<(String, Arc<Federation>)> {
        let map = self.by_datasource.lock().unwrap_or_else(|p| p.into_inner());
        map.iter().map(|(k, (_, f))| (k.clone(), f.clone())).collect()
    }

    /// The instance for the datasource in `ctx`.
    pub fn get(&self, ctx: Option<&PluginContext>) -> Result<Arc<Federation>, FleetError> {
        let settings = ctx
            .and_then(|c| c.data_source_instance_settings.as_ref())
            .ok_or_else(|| FleetError::new(ErrorCode::InvalidSettings, "request carries no datasource instance settings"))?;
        let key = if settings.uid.is_empty() { settings.id.to_string() } else { settings.uid.clone() };
        {
            let map = self.by_datasource.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((updated, fed)) = map.get(&key) {
                if *updated == settings.last_updated_ms {
                    return Ok(fed.clone());
                }
            }
        }
        let registry = Registry::from_grafana(&settings.json_data, &settings.decrypted_secure_json_data)?;
        let fed = Arc::new(Federation::new(registry));
        tracing::info!(datasource = %key, clusters = fed.registry.clusters().len(), "datasource instance (re)built");
        self.by_datasource.lock().unwrap_or_else(|p| p.into_inner()).insert(key, (settings.last_updated_ms, fed.clone()));
        Ok(fed)
    }
}
