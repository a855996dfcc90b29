from __future__ import annotations

from hosting.firewall import FORWARD_CHAIN, INPUT_CHAIN, host_nameservers, site_rules


def test_it_rejects_new_connections_to_the_host_and_keeps_replies():
    rules = site_rules(["10.0.0.0/8"], [])[INPUT_CHAIN]
    assert rules[0] == ["-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"]
    assert all("REJECT" in rule for rule in rules[1:])


def test_it_allows_dns_to_the_hosts_resolvers_before_blocking_private_networks():
    rules = site_rules(["10.0.0.0/8", "169.254.0.0/16"], ["10.255.255.53"])[FORWARD_CHAIN]
    dns = rules.index(["-d", "10.255.255.53", "-p", "udp", "--dport", "53", "-j", "RETURN"])
    block = rules.index(["-d", "10.0.0.0/8", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"])
    assert dns < block
    assert ["-d", "169.254.0.0/16", "-j", "REJECT"] in rules


def test_it_reads_ipv4_nameservers(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("search example\nnameserver 10.0.0.2\nnameserver 127.0.0.53\nnameserver ::1\n")
    assert host_nameservers(str(conf)) == ["10.0.0.2"]
