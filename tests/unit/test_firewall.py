from __future__ import annotations

from hosting.firewall import (
    FORWARD_CHAIN,
    INPUT_CHAIN,
    IPV4,
    IPV6,
    SiteBridge,
    host_nameservers,
    plan_for,
    problems,
    restore_script,
    site_rules,
)

BRIDGES = [SiteBridge("hsites0"), SiteBridge("hsites1", smtp_allowed=True)]
DOCKER_V4 = ":DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A FORWARD -o hsites0 -j ACCEPT\n-A DOCKER-USER -j RETURN\n"


def test_it_rejects_new_connections_to_the_host_and_keeps_replies():
    rules = site_rules(["10.0.0.0/8"], [])[INPUT_CHAIN]
    assert rules[0] == ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]
    assert all("REJECT" in rule for rule in rules[1:])


def test_it_lets_ipv6_neighbour_discovery_reach_the_host_and_nothing_else():
    rules = site_rules([], [], BRIDGES, "ipv6")[INPUT_CHAIN]
    allowed = [rule for rule in rules[1:] if "RETURN" in rule]
    assert {rule[rule.index("--icmpv6-type") + 1] for rule in allowed} == {"133", "134", "135", "136"}
    assert rules[-1] == ["-j", "REJECT"]


def test_it_allows_dns_to_the_hosts_resolvers_before_blocking_private_networks():
    rules = site_rules(["10.0.0.0/8", "169.254.0.0/16"], ["10.255.255.53"])[FORWARD_CHAIN]
    dns = rules.index(["-d", "10.255.255.53", "-p", "udp", "--dport", "53", "-j", "RETURN"])
    block = rules.index(["-d", "10.0.0.0/8", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"])
    assert dns < block
    assert ["-d", "169.254.0.0/16", "-j", "REJECT"] in rules


def test_it_refuses_smtp_except_from_the_bridges_of_plans_that_allow_it():
    for family in ("ipv4", "ipv6"):
        rules = site_rules([], [], BRIDGES, family)[FORWARD_CHAIN]
        smtp = [rule for rule in rules if "25" in rule]
        assert smtp == [["-i", "hsites0", "-p", "tcp", "--dport", "25", "-j", "REJECT", "--reject-with", "tcp-reset"]]


def test_it_refuses_container_to_container_traffic_on_every_site_bridge():
    rules = site_rules([], [], BRIDGES, "ipv6")[FORWARD_CHAIN]
    assert ["-o", "hsites0", "-j", "REJECT"] in rules and ["-o", "hsites1", "-j", "REJECT"] in rules


def test_it_reads_nameservers_of_each_family(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example\nnameserver 10.0.0.2\nnameserver 127.0.0.53\nnameserver ::1\nnameserver fd00::53\n")
    assert host_nameservers(str(conf)) == ["10.0.0.2"]
    assert host_nameservers(str(conf), family="ipv6") == ["fd00::53"]


def applied(plan, saved: str) -> str:
    """What iptables-save would print after the restore script ran (enough of it for `problems`)."""
    lines = [line for line in saved.splitlines() if not any(
        line.startswith(f"-A {parent} ") and line.endswith(text) for parent, rule in plan.jumps for text in [" ".join(rule)])]
    script = restore_script(plan, saved).splitlines()
    jumps = [line.replace("-I ", "-A ", 1).replace(" 1 ", " ", 1) for line in script if line.startswith("-I ")]
    body = [line for line in script if line.startswith("-A ")]
    if any(line == "-A FORWARD -j DOCKER-USER" for line in jumps):
        lines = [line for line in lines if line != "-A FORWARD -j DOCKER-USER"]
    marker = [line for line in body if "--comment" in line]
    return "\n".join(jumps + lines + [line for line in body if "--comment" not in line] + marker) + "\n"


def test_a_fresh_host_needs_everything_and_an_applied_one_nothing():
    plan = plan_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    assert len(problems(plan, DOCKER_V4)) == 4
    assert problems(plan, applied(plan, DOCKER_V4)) == []


def test_it_notices_dockerd_putting_its_rules_above_ours_after_a_restart():
    plan = plan_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    good = applied(plan, DOCKER_V4)
    restarted = good.replace("-A FORWARD -j DOCKER-USER\n", "") + "-A FORWARD -j DOCKER-USER\n"
    assert problems(plan, restarted) == ["FORWARD does not start with dockerd's DOCKER-USER jump"]
    assert "-I FORWARD 1 -j DOCKER-USER" in restore_script(plan, restarted)


def test_it_notices_rules_written_by_another_version():
    plan = plan_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    other = plan_for(IPV4, BRIDGES, ["192.168.0.0/16"], [], DOCKER_V4)
    assert problems(plan, applied(other, DOCKER_V4)) == [f"{INPUT_CHAIN} is missing or not ours", f"{FORWARD_CHAIN} is missing or not ours"]


def test_ipv6_jumps_from_forward_unless_dockerd_manages_ip6tables():
    without = plan_for(IPV6, BRIDGES, [], [], "")
    with_docker = plan_for(IPV6, BRIDGES, [], [], DOCKER_V4)
    assert {parent for parent, _ in without.jumps} == {"INPUT", "FORWARD"}
    assert {parent for parent, _ in with_docker.jumps} == {"INPUT", "DOCKER-USER"}
