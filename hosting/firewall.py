"""Host firewall rules that keep site containers away from what they must not reach, for IPv4 and IPv6.

Nothing on a site bridge may open a connection to this host (Redis, the database, dockerd, the
portal, other sites' published ports), to another container, nor to private, unique-local and
link-local networks (other hosts, cloud metadata). Outbound SMTP (port 25) is refused except from
the bridges of plans that allow it. Replies to connections the host opened still pass, DNS to the
host's resolvers passes, and everything else (the internet) is forwarded as usual.

The rules live in chains of our own, written in one `iptables-restore --noflush` transaction per
address family, so a refresh swaps the whole rule set at once: there is no moment with an empty
chain, and nothing of dockerd's or anybody else's is touched. The last rule of each chain carries a
digest of the whole rule set; `firewall_problems` reads one `iptables-save` per family and
compares (about 5 ms), which is cheap enough for every heartbeat. That is how the rules come back
after a reboot, a flush or a firewall reload (they empty the tables, and dockerd re-creates only its
own chains when it starts), after a rewrite by another version of this code, and when dockerd's
DOCKER-USER jump no longer leads FORWARD. (A plain restart of dockerd 20.10 keeps DOCKER-USER's
rules and so ours: tests/security/test_firewall_repair.py shows each case with a real dockerd.)
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass

from core.commands import run
from core.errors import PlatformError

INPUT_CHAIN = "HOSTING-SITES-IN"
FORWARD_CHAIN = "HOSTING-SITES-OUT"
MARKER = "hosting-firewall"
SMTP_PORT = "25"

# ICMPv6 neighbour discovery (router solicitation/advertisement, neighbour solicitation/advertisement):
# without it a container cannot even find the bridge's address, so IPv6 to the internet would fail too.
NEIGHBOUR_DISCOVERY = ("133", "134", "135", "136")


@dataclass(frozen=True)
class Family:
    name: str  # "ipv4" or "ipv6"
    save: str
    restore: str
    # dockerd's chain for user rules (IPv4 always; IPv6 only when dockerd manages ip6tables). Our
    # jump goes there so dockerd's own ACCEPT rules, which it inserts at the top of FORWARD, come after.
    docker_user_chain: str | None


IPV4 = Family("ipv4", "iptables-save", "iptables-restore", "DOCKER-USER")
IPV6 = Family("ipv6", "ip6tables-save", "ip6tables-restore", None)


@dataclass(frozen=True)
class SiteBridge:
    """A site network's bridge; sites on it may send mail (port 25) only when its plan allows."""

    name: str
    smtp_allowed: bool = False


def _run(binary: str, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    path = shutil.which(binary)
    if path is None:
        raise PlatformError(f"{binary} is not installed; run `make run` to install it.")
    return run([path, *args], doing=f"{binary} {' '.join(args)}", timeout=30, input=stdin, check=check)


def _reject(*match: str) -> list[list[str]]:
    # TCP gets a reset (an immediate "connection refused"), anything else an ICMP error.
    return [[*match, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"], [*match, "-j", "REJECT"]]


def host_nameservers(resolv_conf: str = "/etc/resolv.conf", family: str = "ipv4") -> list[str]:
    """The host's DNS servers: Docker's embedded DNS forwards to them from inside the container."""
    try:
        lines = open(resolv_conf).read().splitlines()
    except OSError:
        return []
    servers = [line.split()[1] for line in lines if line.startswith("nameserver") and len(line.split()) > 1]
    if family == "ipv6":
        return [server.split("%")[0] for server in servers if ":" in server and server != "::1"]
    return [server for server in servers if ":" not in server and not server.startswith("127.")]


def site_rules(blocked_networks: list[str], nameservers: list[str], bridges: list[SiteBridge] | None = None,
               family: str = "ipv4") -> dict[str, list[list[str]]]:
    """Our two chains' rules for one address family, in order."""
    bridges = bridges or []
    established = ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]
    to_host = [established]
    if family == "ipv6":
        to_host += [["-p", "icmpv6", "--icmpv6-type", kind, "-j", "RETURN"] for kind in NEIGHBOUR_DISCOVERY]
    to_host += _reject()

    forward = [established]
    for server in nameservers:  # often on a private address, so allowed before the blocks
        forward += [["-d", server, "-p", proto, "--dport", "53", "-j", "RETURN"] for proto in ("udp", "tcp")]
    for bridge in bridges:
        # Container to container, whatever Docker's inter-container setting (IPv6 has none at all).
        forward += _reject("-o", bridge.name)
    for bridge in bridges:
        if not bridge.smtp_allowed:
            forward.append(["-i", bridge.name, "-p", "tcp", "--dport", SMTP_PORT,
                            "-j", "REJECT", "--reject-with", "tcp-reset"])
    for network in blocked_networks:
        forward += _reject("-d", network)
    return {INPUT_CHAIN: to_host, FORWARD_CHAIN: forward}


def ruleset_digest(rules: dict[str, list[list[str]]], jumps: list[tuple[str, list[str]]]) -> str:
    text = repr(sorted(rules.items())) + repr(jumps)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def marker_rule(digest: str) -> list[str]:
    return ["-m", "comment", "--comment", f"{MARKER} {digest}", "-j", "RETURN"]


@dataclass
class RuleSet:
    """What one address family's rules should be: our chains, our jumps into them, and their digest."""

    family: Family
    rules: dict[str, list[list[str]]]
    jumps: list[tuple[str, list[str]]]  # (parent chain, rule): each must lead its parent chain
    digest: str


def ruleset_for(family: Family, bridges: list[SiteBridge], blocked_networks: list[str], nameservers: list[str],
                saved: str) -> RuleSet:
    docker_user = family.docker_user_chain
    if family is IPV6 and _has_chain(saved, "DOCKER-USER"):
        docker_user = "DOCKER-USER"  # dockerd manages ip6tables here (its ip6tables option)
    rules = site_rules(blocked_networks, nameservers, bridges, family.name)
    jumps: list[tuple[str, list[str]]] = []
    for bridge in bridges:
        jumps.append(("INPUT", ["-i", bridge.name, "-j", INPUT_CHAIN]))
        jumps.append((docker_user or "FORWARD", ["-i", bridge.name, "-j", FORWARD_CHAIN]))
    return RuleSet(family, rules, jumps, ruleset_digest(rules, jumps))


def _has_chain(saved: str, chain: str) -> bool:
    return any(line.startswith(f":{chain} ") for line in saved.splitlines())


def _rules_of(saved: str, chain: str) -> list[str]:
    prefix = f"-A {chain} "
    return [line[len(prefix):] for line in saved.splitlines() if line.startswith(prefix)]


def _jump_text(rule: list[str]) -> str:
    return " ".join(rule)  # iptables-save prints our jump rules exactly like this


def _jumps_by_parent(ruleset: RuleSet) -> dict[str, list[str]]:
    parents: dict[str, list[str]] = {}
    for parent, rule in ruleset.jumps:
        parents.setdefault(parent, []).append(_jump_text(rule))
    return parents


def problems(ruleset: RuleSet, saved: str) -> list[str]:
    """What differs between `saved` (iptables-save output) and the rule set; empty when intact."""
    found = []
    for chain in ruleset.rules:
        rules = _rules_of(saved, chain)
        if not rules or f'--comment "{MARKER} {ruleset.digest}"' not in rules[-1]:
            found.append(f"{chain} is missing or not ours")
    parents = _jumps_by_parent(ruleset)
    for parent, wanted in parents.items():
        if sorted(_rules_of(saved, parent)[: len(wanted)]) != sorted(wanted):
            found.append(f"our jumps do not lead {parent}")
    if "DOCKER-USER" in parents and _rules_of(saved, "FORWARD")[:1] != ["-j DOCKER-USER"]:
        found.append("FORWARD does not start with dockerd's DOCKER-USER jump")
    return found


def restore_script(ruleset: RuleSet, saved: str) -> str:
    """One transaction: declare (and so empty) our chains, fill them, put our jumps at the top of
    their parent chains (removing copies further down)."""
    lines = ["*filter"]
    lines += [f":{chain} - [0:0]" for chain in ruleset.rules]
    for chain, rules in ruleset.rules.items():
        lines += [f"-A {chain} " + " ".join(_quoted(rule)) for rule in rules]
        lines.append(f"-A {chain} " + " ".join(_quoted(marker_rule(ruleset.digest))))
    parents = _jumps_by_parent(ruleset)
    for parent, wanted in parents.items():
        for text in _rules_of(saved, parent):
            if text.endswith((f"-j {INPUT_CHAIN}", f"-j {FORWARD_CHAIN}")):
                lines.append(f"-D {parent} {text}")  # ours, of any version or bridge: re-added at the top below
        for text in reversed(wanted):
            lines.append(f"-I {parent} 1 {text}")
    if "DOCKER-USER" in parents and _rules_of(saved, "FORWARD")[:1] != ["-j DOCKER-USER"]:
        # What dockerd itself does on start: its user chain must come before its own ACCEPT rules.
        if "-j DOCKER-USER" in _rules_of(saved, "FORWARD"):
            lines.append("-D FORWARD -j DOCKER-USER")
        lines.append("-I FORWARD 1 -j DOCKER-USER")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _quoted(rule: list[str]) -> list[str]:
    return [f'"{part}"' if " " in part else part for part in rule]


def read_rules(family: Family) -> str | None:
    """The filter table as iptables-save prints it; None when this family is unavailable here
    (IPv6 switched off in the kernel, or ip6tables not installed)."""
    if family is IPV6 and shutil.which(family.save) is None:
        return None
    result = _run(family.save, "-t", "filter", check=family is IPV4)
    return result.stdout if result.returncode == 0 else None


def rulesets(bridges: list[SiteBridge], blocked: dict[str, list[str]]) -> list[tuple[RuleSet, str]]:
    found = []
    for family in (IPV4, IPV6):
        saved = read_rules(family)
        if saved is not None:
            nameservers = host_nameservers(family=family.name)
            found.append((ruleset_for(family, bridges, blocked[family.name], nameservers, saved), saved))
    return found


def apply_site_firewall(bridges: list[SiteBridge], blocked: dict[str, list[str]]) -> None:
    """Install (or refresh) the rules for containers on `bridges`, atomically per family.

    `blocked` maps "ipv4"/"ipv6" to the networks sites may never reach. IPv4 needs dockerd's
    DOCKER-USER chain (dockerd creates it on start)."""
    for ruleset, saved in rulesets(bridges, blocked):
        if ruleset.family.docker_user_chain and not _has_chain(saved, ruleset.family.docker_user_chain):
            raise PlatformError("dockerd's DOCKER-USER chain is missing: is dockerd running with iptables on?")
        _run(ruleset.family.restore, "-w", "10", "--noflush", stdin=restore_script(ruleset, saved))


def firewall_problems(bridges: list[SiteBridge], blocked: dict[str, list[str]]) -> list[str]:
    """What is wrong with the rules now (one iptables-save per family); empty when all is in place."""
    return [f"{ruleset.family.name}: {problem}"
            for ruleset, saved in rulesets(bridges, blocked) for problem in problems(ruleset, saved)]
