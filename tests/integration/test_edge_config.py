"""A config that fails `nginx -t` is never applied: other sites keep being served, the error is
recorded for staff, and a cold restart of the edge still starts."""
from __future__ import annotations

import pytest

from tests.integration.support.deploying import create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_config_changes_nothing_and_a_cold_restart_still_starts(deploy_env, tmp_path, settings, monkeypatch):
    from django.utils import timezone

    from launcher.processes import tcp_port_open
    from proxy import certificate_files, services
    from proxy.certificate_files import certificate_dir
    from proxy.edge import EdgeConfigInvalid
    from proxy.models import Certificate, EdgeState

    platform = deploy_env[0]
    settings.PROXY_HTTP_PORT, settings.PROXY_HTTPS_PORT = platform.edge_port, platform.https_port
    site = create_site(deploy_env, "steady")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "steady\n"}), site)
    good_config = (platform.data_dir / "edge" / "nginx.conf").read_text()

    # A broken validator lets an nginx-breaking name through to the certificate map.
    monkeypatch.setattr(certificate_files, "validate_hostname", lambda name: name)
    evil = "evil.example; }"
    Certificate.objects.create(hostname=evil, state=Certificate.State.ISSUED, issued_at=timezone.now())
    directory = certificate_dir(evil)
    directory.mkdir(parents=True)
    for name in ("fullchain.pem", "privkey.pem"):
        (directory / name).write_text("not a certificate")

    with pytest.raises(EdgeConfigInvalid):
        services.apply_edge()

    assert "test failed" in EdgeState.objects.get(pk=1).error
    assert (platform.data_dir / "edge" / "nginx.conf").read_text() == good_config
    assert served(platform, site).text == "steady\n"

    # Cold restart: the platform's edge stops, a new one starts with the last good config.
    edge = platform.processes["edge"]
    edge.stop()
    wait_for(lambda: not tcp_port_open("127.0.0.1", platform.edge_port), 15, "the edge to stop")
    edge.start()
    wait_for(lambda: tcp_port_open("127.0.0.1", platform.edge_port), 30, "the restarted edge to listen")
    assert served(platform, site).text == "steady\n"
    assert "refused; starting with the last good one" in edge.output()

    Certificate.objects.filter(hostname=evil).delete()
    monkeypatch.undo()
    services.apply_edge()
    assert EdgeState.objects.get(pk=1).error == ""
    assert served(platform, site).text == "steady\n"


def test_status_pages_for_unknown_stopped_and_suspended_sites(deploy_env, tmp_path, admin_client):
    from accounts.models import Organization

    platform, customers, _ = deploy_env
    site = create_site(deploy_env, "pages")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "open\n"}), site)

    unknown = platform.edge_get("nobody-here.apps.localhost")
    assert unknown.status_code == 404 and "No site here" in unknown.text

    org = Organization.objects.get(slug=customers["owner"].organization)
    confirm = admin_client.post("/admin/accounts/organization/", {"action": "suspend", "_selected_action": [org.pk]})
    assert confirm.status_code == 200 and "reason" in confirm.content.decode()  # asks why first
    admin_client.post("/admin/accounts/organization/", {"action": "suspend", "_selected_action": [org.pk],
                                                        "apply": "1", "reason": "abuse report 7"})
    suspended = served(platform, site)
    assert suspended.status_code == 503 and "This site is suspended" in suspended.text
    admin_client.post("/admin/accounts/organization/", {"action": "unsuspend", "_selected_action": [org.pk]})
    # Suspension stopped the containers; restoring starts the site again.
    wait_for(lambda: served(platform, site).text == "open\n", 60, "the site to come back after the suspension")


def test_traffic_per_site_comes_from_the_access_log(deploy_env, tmp_path):
    from proxy.models import SiteTraffic
    from proxy.traffic import collect
    from sites.models import Site

    platform = deploy_env[0]
    site = create_site(deploy_env, "counted")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "x" * 1000}), site)
    for _ in range(7):
        assert served(platform, site).status_code == 200
    log_path = platform.data_dir / "edge" / "logs" / "access.log"

    group = Site.objects.get(name=site).uuid.hex  # keyed by the site, not by its reusable name

    def counted() -> int:
        collect(log_path)
        return sum(SiteTraffic.objects.filter(group=group, resolution=60).values_list("requests", flat=True))

    wait_for(lambda: counted() >= 7, 30, "the edge to flush its access log", interval=1)
    assert counted() == 7
    assert sum(SiteTraffic.objects.filter(group=group, resolution=60).values_list("bytes_sent", flat=True)) > 7 * 1000


def test_a_burst_of_apply_requests_ends_in_one_apply_of_the_newest(monkeypatch, django_capture_on_commit_callbacks):
    from proxy import services, tasks
    from proxy.edge import EdgeNginx

    sent, applied = [], []
    monkeypatch.setattr(tasks.apply_edge_config, "apply_async", lambda args, **options: sent.append(args))
    monkeypatch.setattr(EdgeNginx, "apply", lambda self: applied.append(self))

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            services.request_apply()  # what every route change that needs a full apply calls

    # Every request is sent; each task as the worker runs it: only the newest applies.
    assert len(sent) == 5
    assert [tasks.apply_edge_config.run(*args) for args in sent] == [False, False, False, False, True]
    assert len(applied) == 1
