//! VRRP: the packet codec ([`packet`]), the sans-IO state machine ([`fsm`]).
