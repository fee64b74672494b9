#!/usr/bin/env python3
"""Strip health checkers (and vrrp/bfd blocks) from a keepalived.conf, so
every real server is alive: the input of the IPVS golden comparison.
Usage: strip.py IN > OUT"""
import re, sys

CHECKERS = {"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK",
            "DNS_CHECK", "PING_CHECK", "UDP_CHECK", "FILE_CHECK", "BFD_CHECK"}
DROP_TOP = {"vrrp_instance", "vrrp_sync_group", "vrrp_script", "bfd_instance",
            "vrrp_track_process", "track_file", "vrrp_track_file", "static_ipaddress",
            "static_routes", "static_rules", "garp_group", "linkbeat_interfaces"}

def strip(text):
    out, depth, skip_until = [], 0, None
    for line in text.splitlines():
        code = re.split(r"[#!]", line, 1)[0]
        words = code.split()
        opens, closes = code.count("{"), code.count("}")
        if skip_until is None and words:
            w = words[0]
            if w in CHECKERS or (depth == 0 and w in DROP_TOP):
                if opens > closes:
                    skip_until = depth
                    depth += opens - closes
                # one-line block or a block opening on the next line: drop line
                elif opens == 0:
                    skip_until = depth  # brace expected on a later line
                continue
        if skip_until is not None:
            depth += opens - closes
            if depth <= skip_until and (opens or closes):
                skip_until = None
            continue
        depth += opens - closes
        out.append(line)
    return "\n".join(out) + "\n"

if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        sys.stdout.write(strip(f.read()))
