#!/usr/bin/env python3
"""keepalived.conf with N TCP virtual servers (wrr, NAT) x M real servers,
no checkers (real servers are up at once, in keepalived and keepalived-rs),
at the addresses of examples/ipvs_floor.rs. With --changed I: real server 0
of virtual server I at weight 2 (the reload benchmark's one change).
Usage: ipvs-gen.py N M [--changed I] > file.conf"""
import sys

n, m = int(sys.argv[1]), int(sys.argv[2])
changed = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--changed" else -1
out = []
out.append("global_defs {\n    router_id ipvs_bench\n}\n")
for i in range(n):
    out.append(f"virtual_server 10.{100 + i // 65536}.{i // 256 % 256}.{i % 256} 80 {{\n"
               "    lb_algo wrr\n    lb_kind NAT\n    protocol TCP\n")
    for j in range(m):
        w = 2 if (i == changed and j == 0) else 1
        out.append(f"    real_server 172.{16 + i // 256 % 16}.{i % 256}.{1 + j} 8080 {{\n"
                   f"        weight {w}\n    }}\n")
    out.append("}\n")
sys.stdout.write("".join(out))
