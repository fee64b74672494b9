#!/usr/bin/env python3
"""Generate a large keepalived.conf for the parse benchmark:
N virtual servers x M real servers, each real server with a TCP_CHECK,
plus a few VRRP instances. Usage: gen-config.py [N] [M] > big.conf"""
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
m = int(sys.argv[2]) if len(sys.argv) > 2 else 10
out = sys.stdout
out.write("global_defs {\n    router_id bench\n}\n\n")
for i in range(4):
    out.write(f"""vrrp_instance VI_{i} {{
    state BACKUP
    interface eth0
    virtual_router_id {10 + i}
    priority 100
    advert_int 1
    virtual_ipaddress {{
        10.{i}.0.1/16
    }}
}}

""")
for v in range(n):
    a, b = divmod(v, 250)
    out.write(f"""virtual_server 10.{100 + a}.{b}.1 80 {{
    delay_loop 6
    lb_algo wrr
    lb_kind NAT
    protocol TCP

""")
    for r in range(m):
        out.write(f"""    real_server 172.16.{v % 250}.{r + 1} 8080 {{
        weight {r + 1}
        TCP_CHECK {{
            connect_timeout 3
            connect_port 8080
        }}
    }}
""")
    out.write("}\n\n")
