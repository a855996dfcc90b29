from __future__ import annotations

from hosting.firewall import (
    FORWARD_CHAIN,
    INPUT_CHAIN,
    IPV4,
    IPV6,
    SiteBridge,
    host_nameservers,
    ruleset_for,
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


def test_a_fresh_host_lacks_both_chains_and_both_jumps():
    plan = ruleset_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    assert problems(plan, DOCKER_V4) == [f"{INPUT_CHAIN} is missing or not ours", f"{FORWARD_CHAIN} is missing or not ours",
                                         "our jumps do not lead INPUT", "our jumps do not lead DOCKER-USER"]


def test_one_transaction_fills_our_chains_and_puts_our_jumps_first():
    plan = ruleset_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    old_jump = "-A DOCKER-USER -i hsites0 -j HOSTING-SITES-OUT\n"
    script = restore_script(plan, DOCKER_V4 + old_jump).splitlines()

    assert script[0] == "*filter" and script[-1] == "COMMIT"
    assert f":{INPUT_CHAIN} - [0:0]" in script  # declaring a chain in --noflush mode empties it
    assert "-D DOCKER-USER -i hsites0 -j HOSTING-SITES-OUT" in script  # the old copy goes...
    assert "-I DOCKER-USER 1 -i hsites0 -j HOSTING-SITES-OUT" in script  # ...and comes back first
    assert script.count(f'-A {FORWARD_CHAIN} -m comment --comment "hosting-firewall {plan.digest}" -j RETURN') == 1


def test_it_notices_dockerd_putting_its_rules_above_ours():
    plan = ruleset_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    moved = DOCKER_V4.replace("-A FORWARD -j DOCKER-USER\n", "") + "-A FORWARD -j DOCKER-USER\n"
    assert "FORWARD does not start with dockerd's DOCKER-USER jump" in problems(plan, moved)
    assert "-I FORWARD 1 -j DOCKER-USER" in restore_script(plan, moved)


def test_the_digest_changes_with_any_rule():
    one = ruleset_for(IPV4, BRIDGES, ["10.0.0.0/8"], [], DOCKER_V4)
    other = ruleset_for(IPV4, BRIDGES, ["192.168.0.0/16"], [], DOCKER_V4)
    no_smtp = ruleset_for(IPV4, [SiteBridge("hsites0"), SiteBridge("hsites1")], ["10.0.0.0/8"], [], DOCKER_V4)
    assert len({one.digest, other.digest, no_smtp.digest}) == 3


def test_ipv6_jumps_from_forward_unless_dockerd_manages_ip6tables():
    without = ruleset_for(IPV6, BRIDGES, [], [], "")
    with_docker = ruleset_for(IPV6, BRIDGES, [], [], DOCKER_V4)
    assert {parent for parent, _ in without.jumps} == {"INPUT", "FORWARD"}
    assert {parent for parent, _ in with_docker.jumps} == {"INPUT", "DOCKER-USER"}
