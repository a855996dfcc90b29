"""Host firewall rules that keep site containers away from what they must not reach.

Docker's own `enable_icc=false` keeps containers of the site bridge from talking to each other.
These rules add the rest: nothing from the bridge may open a connection to this host (Redis, the
database, dockerd, the portal, other sites' published ports), nor to private and link-local
networks (other hosts, cloud metadata). Replies to connections the host opened still pass, and
everything else (the internet) is forwarded as usual. The rules live in chains of our own, so
applying them again replaces them instead of piling up duplicates.
"""
from __future__ import annotations

import shutil
import subprocess

from hosting.errors import PlatformError

INPUT_CHAIN = "HOSTING-SITES-IN"
FORWARD_CHAIN = "HOSTING-SITES-OUT"


def _iptables(*args: str, check: bool = True) -> bool:
    binary = shutil.which("iptables")
    if binary is None:
        raise PlatformError("iptables is not installed; run `make run` to install it.")
    result = subprocess.run([binary, "-w", "10", *args], capture_output=True, text=True, timeout=30)
    if check and result.returncode != 0:
        raise PlatformError(f"iptables {' '.join(args)} failed: {result.stderr.strip()}")
    return result.returncode == 0


def _reject(*match: str) -> list[list[str]]:
    # TCP gets a reset (an immediate "connection refused"), anything else an ICMP error.
    return [[*match, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"], [*match, "-j", "REJECT"]]


def host_nameservers(resolv_conf: str = "/etc/resolv.conf") -> list[str]:
    """The host's DNS servers: Docker's embedded DNS forwards to them from inside the container."""
    try:
        lines = open(resolv_conf).read().splitlines()
    except OSError:
        return []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]
    return [server for server in servers if ":" not in server and not server.startswith("127.")]


def site_rules(blocked_networks: list[str], nameservers: list[str]) -> dict[str, list[list[str]]]:
    established = ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]
    forward = [established]
    for server in nameservers:  # often on a private address, so allowed before the blocks
        forward += [["-d", server, "-p", proto, "--dport", "53", "-j", "RETURN"] for proto in ("udp", "tcp")]
    for network in blocked_networks:
        forward += _reject("-d", network)
    return {INPUT_CHAIN: [established, *_reject()], FORWARD_CHAIN: forward}


def apply_site_firewall(bridge: str, blocked_networks: list[str]) -> None:
    """Install (or refresh) the rules for containers on `bridge`. Needs dockerd's DOCKER-USER chain."""
    for chain, rules in site_rules(blocked_networks, host_nameservers()).items():
        _iptables("-N", chain, check=False)  # exists already on a refresh
        _iptables("-F", chain)
        for rule in rules:
            _iptables("-A", chain, *rule)
    for parent, chain in (("INPUT", INPUT_CHAIN), ("DOCKER-USER", FORWARD_CHAIN)):
        jump = ["-i", bridge, "-j", chain]
        if not _iptables("-C", parent, *jump, check=False):
            _iptables("-I", parent, "1", *jump)
