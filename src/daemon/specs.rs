//! From the configuration model to the engines' run-time descriptions.
use crate::config::model::Config;
use crate::vrrp::engine::EngineConfig;

/// Build the VRRP engine's configuration.
pub fn engine_config(_cfg: &Config) -> Result<EngineConfig, String> {
    Ok(EngineConfig::default())
}
