//! LVS blocks: virtual_server_group, virtual_server, real_server, the checkers, SSL.
use super::{Cx, KeywordInfo};
use crate::config::ast::Node;
use crate::config::model::Config;

pub fn apply_virtual_server_group(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_virtual_server(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}
pub fn apply_ssl(_cfg: &mut Config, _node: &Node, _cx: &mut Cx) {}

/// Keywords of the blocks below the LVS top-level blocks.
pub fn keywords(_out: &mut Vec<KeywordInfo>) {}

/// Checks that need the whole configuration.
pub fn validate(_cfg: &Config, _cx: &mut Cx) {}
