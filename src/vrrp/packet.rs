//! VRRPv2/v3 packet codec (sans-IO).
