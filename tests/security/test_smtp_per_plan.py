"""Attack: a site deployed through the platform tries to send mail (port 25) to an outside address.

Two sites are pushed for real; one's plan allows outbound SMTP. From inside each running container
(as the site's own user, with its shell's /dev/tcp), port 25 outside is refused unless the plan
allows it, and port 80 outside works for both. The outside is a network namespace this test makes.
"""
from __future__ import annotations

import pytest
from django.conf import settings

from hosting.host_setup import ensure_site_firewall
from tests.integration.support.deploying import create_site, push, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)


def deploy(deploy_env, tmp_path, prefix: str, smtp_allowed: bool):
    from accounts.models import Plan
    from sites.models import Site

    name = create_site(deploy_env, prefix)
    if smtp_allowed:
        starter = Plan.objects.get(name="starter")
        mailer, _ = Plan.objects.get_or_create(name="mailer", defaults={
            **{field.name: getattr(starter, field.name) for field in Plan._meta.fields if field.name not in ("id", "name")},
            "label": "Mailer", "smtp_allowed": True, "is_default": False})
        Site.objects.filter(name=name).update(plan=mailer)
    result = push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": f"{prefix}\n"}), name)
    assert "is live at http://" in result.stderr, result.stderr
    return name


def connect_from(engine, site: str, address: str, port: int) -> str:
    (container,) = [c for c in engine.list_site_containers(site) if c.running]
    probe = f"timeout 5 bash -c 'exec 3<>/dev/tcp/{address}/{port}' 2>&1 && echo open || echo refused"
    output = engine.client.containers.get(container.name).exec_run(["bash", "-c", probe]).output.decode()
    return output.strip().splitlines()[-1]


def test_a_deployed_site_reaches_port_25_only_when_its_plan_allows_it(deploy_env, engine, tmp_path, outside):
    plain = deploy(deploy_env, tmp_path, "plain", smtp_allowed=False)
    mailer = deploy(deploy_env, tmp_path, "mailer", smtp_allowed=True)

    networks = {site: list(engine.inspect(engine.list_site_containers(site)[0].name)["NetworkSettings"]["Networks"])
                for site in (plain, mailer)}
    assert networks == {plain: [settings.SITE_NETWORK], mailer: [settings.SITE_SMTP_NETWORK]}
    ensure_site_firewall()  # another test run's older code may have rewritten the shared chains
    outcomes = {(site, port): connect_from(engine, site, outside.internet, port) for site in (plain, mailer) for port in (25, 80)}

    assert outcomes == {(plain, 25): "refused", (plain, 80): "open", (mailer, 25): "open", (mailer, 80): "open"}
