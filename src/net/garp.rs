//! Gratuitous ARP and unsolicited neighbour advertisement frames (sans-IO).
