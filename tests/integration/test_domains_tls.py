"""Custom domains end to end: verification through the edge, a certificate from Pebble by
HTTP-01, HTTPS with it, and removal taking route and certificate away."""
from __future__ import annotations

import stat
import subprocess

import pytest
from cryptography import x509

from tests.integration.support.deploying import (
    api,
    create_site,
    finished_deployment,
    push,
    served,
    workdir_with,
)
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def curl_https(platform, hostname: str, root, path: str = "/") -> subprocess.CompletedProcess:
    return subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", str(root), "--resolve", f"{hostname}:{platform.https_port}:127.0.0.1",
         f"https://{hostname}:{platform.https_port}{path}"],
        capture_output=True, text=True, timeout=30,
    )


def test_a_verified_custom_domain_gets_a_certificate_and_https(deploy_env, tmp_path, pebble):
    from proxy.certificate_files import certificate_dir
    from proxy.models import Certificate

    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "tls")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "hello over tls\n"}), site)
    hostname = f"www.{site}.customer-test.example"

    added = api(platform, owner, "POST", f"sites/{site}/domains/", json={"hostname": hostname.upper() + "."})
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["hostname"] == hostname and body["verified"] is False
    token = body["verification"]["http_body"]
    restarted = api(platform, owner, "POST", f"sites/{site}/restart/")  # the site's routes are written again
    assert restarted.status_code == 202, restarted.text
    assert finished_deployment(platform, owner, site, restarted.json()["id"])["state"] == "succeeded"
    unverified = platform.edge_get(hostname)  # the name reaches the edge, as it would once DNS points at it
    assert unverified.status_code == 404 and "hello over tls" not in unverified.text  # never routed unverified
    assert platform.edge_get(hostname, "/.well-known/hosting-verification").text == token

    verified = api(platform, owner, "POST", f"sites/{site}/domains/{hostname}/verify/")
    assert verified.status_code == 200 and verified.json()["verified"] is True, verified.text
    assert platform.edge_get(hostname).text == "hello over tls\n"

    def certificate_state():
        certificate = api(platform, owner, "GET", f"sites/{site}/domains/{hostname}/").json()["certificate"]
        return certificate and certificate["state"] in ("issued", "failed") and certificate

    certificate = wait_for(certificate_state, 180, "the certificate from Pebble", interval=1)
    assert certificate["state"] == "issued", certificate["error"]
    root = pebble.root_certificate(tmp_path / "pebble-root.pem")
    wait_for(lambda: curl_https(platform, hostname, root).returncode == 0, 30, "the edge to serve the new certificate")
    assert curl_https(platform, hostname, root).stdout == "hello over tls\n"
    files = certificate_dir(hostname)  # where the edge's config names the certificate and its key
    issued = x509.load_pem_x509_certificate((files / "fullchain.pem").read_bytes())
    assert hostname in issued.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName)
    key = (files / "privkey.pem").stat()
    assert key.st_uid == 0 and stat.S_IMODE(key.st_mode) & 0o077 in (0, 0o040)  # root's; only nginx's group reads it

    assert api(platform, owner, "DELETE", f"sites/{site}/domains/{hostname}/").status_code == 204
    assert platform.edge_get(hostname).status_code == 404
    assert not Certificate.objects.filter(hostname=hostname).exists()
    wait_for(lambda: not certificate_dir(hostname).exists(), 60, "the certificate files to go")
    wait_for(lambda: curl_https(platform, hostname, root).returncode != 0, 30, "HTTPS for the name to stop verifying")


def test_domain_rules(deploy_env):
    platform, customers, _ = deploy_env
    owner, outsider = customers["owner"], customers["outsider"]
    site = create_site(deploy_env, "rules")
    other = api(platform, outsider, "POST", "sites/", json={"name": f"other-{site}"})
    assert other.status_code == 201
    deploy_env[2].append(f"other-{site}")

    def add(customer, name, hostname):
        return api(platform, customer, "POST", f"sites/{name}/domains/", json={"hostname": hostname})

    assert add(owner, site, f"bücher-{site}.example").json()["hostname"] == f"xn--bcher-{site}-9db.example".replace(
        f"xn--bcher-{site}-9db", __import__("idna").encode(f"bücher-{site}").decode())
    taken = add(outsider, f"other-{site}", f"BÜCHER-{site}.example")
    assert taken.status_code == 400 and "already in use" in taken.text
    for bad, message in ((f"*.{site}.example", "Wildcard"), (f"x.{site}.apps.localhost", "belong to the platform"),
                         ("10.0.0.1", "IP address"), ("a.com;evil", "not a valid domain"), ("a b.com", "not a valid"),
                         ("a.com\nserver {", "not a valid"), ("$host.com", "not a valid"), ("a.com}", "not a valid")):
        response = add(owner, site, bad)
        assert response.status_code == 400 and message in response.text, (bad, response.text)
    assert add(owner, site, f"second-{site}.example").status_code == 201
    over = add(owner, site, f"third-{site}.example")
    assert over.status_code == 400 and "allows 2 custom domains" in over.text
    assert api(platform, outsider, "GET", f"sites/{site}/domains/").status_code == 404


def test_https_redirect_and_hsts_are_per_site(deploy_env, tmp_path):
    import requests
    import urllib3

    urllib3.disable_warnings()
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "secure")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "secure\n"}), site)
    hostname = f"{site}.apps.localhost"
    assert served(platform, site).text == "secure\n"

    changed = api(platform, owner, "PATCH", f"sites/{site}/", json={"force_https": True, "hsts": True})
    assert changed.status_code == 200 and changed.json()["force_https"] is True

    redirect = platform.edge_get(hostname, "/page?x=1", allow_redirects=False)
    assert redirect.status_code == 301 and redirect.headers["Location"] == f"https://{hostname}:{platform.https_port}/page?x=1"
    secure = requests.get(f"https://127.0.0.1:{platform.https_port}/", headers={"Host": hostname}, verify=False, timeout=10)
    assert secure.text == "secure\n" and secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert secure.headers.get("X-Forwarded-Proto") is None  # a request header to the app, not a response one


def test_a_dns_txt_record_verifies_a_domain(deploy_env, pebble, settings):
    from sites.domains import _txt_matches
    from sites.models import Domain

    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "dnsproof")
    hostname = f"{site}.customer-test.example"
    added = api(platform, customers["owner"], "POST", f"sites/{site}/domains/", json={"hostname": hostname}).json()
    settings.DOMAIN_VERIFICATION_NAMESERVER = pebble.dns_address
    domain = Domain.objects.get(hostname=hostname)
    assert _txt_matches(domain) is False  # no record yet

    pebble.set_txt(added["verification"]["dns_txt_name"], "hosting-verify=someone-elses-token")
    assert _txt_matches(domain) is False
    pebble.set_txt(added["verification"]["dns_txt_name"], added["verification"]["dns_txt_value"])
    assert _txt_matches(domain) is True
