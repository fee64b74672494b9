//! `global_defs` and the top-level process options.
use serde::{Deserialize, Serialize};

/// `global_defs { ... }`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalDefs {}
