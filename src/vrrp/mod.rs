//! VRRP: the packet codec ([`packet`]) and the sans-IO state machine ([`fsm`]).
pub mod fsm;
pub mod packet;
