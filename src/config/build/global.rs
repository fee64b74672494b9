//! `global_defs` and the top-level process options.
use super::{Cx, KeywordInfo};
use crate::config::ast::Node;
use crate::config::model::Config;

pub fn apply_global_defs(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_top_net_namespace(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_top_net_namespace_ipvs(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_top_namespace_with_ipsets(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_top_instance(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_top_use_pid_dir(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_top_child_wait_time(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}

/// Keywords of the blocks below global_defs.
pub fn keywords(_out: &mut Vec<KeywordInfo>) {}

/// Checks that need the whole configuration.
pub fn validate(_cfg: &Config, _cx: &mut Cx) {}
