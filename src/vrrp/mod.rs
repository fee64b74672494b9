//! VRRP: the packet codec ([`packet`]), the sans-IO state machine ([`fsm`]),
//! the run-time description of instances ([`spec`]) and the engine that drives
//! them with real sockets and timers ([`engine`]).
pub mod engine;
pub mod fsm;
pub mod notify_fifo;
pub mod packet;
pub mod plan;
pub mod spec;
pub mod track;
