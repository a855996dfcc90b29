"""The staff site acts on real containers: a restart through the admin's URL replaces the site's
container, and the new one serves through the edge."""
from __future__ import annotations

import pytest

from tests.integration.support.deploying import api, create_site, push, served, workdir_with
from tests.integration.support.processes import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

# Each container answers with an id it makes on its first request and keeps in its own /tmp (a
# tmpfs of that container): a different answer is a different container.
BOOT_ID_APP = '''import os
import uuid


def application(environ, start_response):
    try:
        fd = os.open("/tmp/boot-id", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, uuid.uuid4().hex.encode())
        os.close(fd)
    except FileExistsError:
        pass
    with open("/tmp/boot-id") as boot:
        data = f"container {boot.read()}\\n".encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]
'''


def test_it_restarts_a_site_through_the_admin_and_a_new_container_serves(deploy_env, tmp_path, admin_client, engine):
    from accounts.models import AuditEvent
    from sites.models import Deployment, Site

    platform = deploy_env[0]
    name = create_site(deploy_env, "staffrestart")
    push(deploy_env, workdir_with(tmp_path, "python", {"app.py": BOOT_ID_APP}), name)
    site = Site.objects.get(name=name)
    wait_for(lambda: served(platform, name).text.startswith("container "), 60, "the first container to serve")
    first_answer = served(platform, name).text
    first = Site.objects.select_related("current_instance").get(pk=site.pk).current_instance
    first_container = engine.state(first.name).id

    response = admin_client.post(f"/admin/sites/site/{site.pk}/act/restart/")

    assert response.status_code == 302
    restart = Deployment.objects.get(site=site, trigger="restart")
    wait_for(lambda: Deployment.objects.get(pk=restart.pk).finished, 120, "the restart to finish")
    restart.refresh_from_db()
    assert restart.state == "succeeded", restart.log
    now = Site.objects.select_related("current_instance").get(pk=site.pk).current_instance
    assert now.pk != first.pk and engine.state(now.name).id != first_container
    wait_for(lambda: served(platform, name).text.startswith("container ")
             and served(platform, name).text != first_answer, 30, "the new container to serve")
    assert AuditEvent.objects.get(action="site.restart", site_name=name).by_staff


def test_it_verifies_a_domain_by_hand_through_the_admin_and_the_edge_serves_it(deploy_env, tmp_path, admin_client):
    from accounts.models import AuditEvent
    from sites.models import Domain

    platform, customers, _ = deploy_env
    name = create_site(deploy_env, "byhand")
    push(deploy_env, workdir_with(tmp_path, None, {"public/index.html": "vouched for\n"}), name)
    hostname = f"www.{name}.customer-test.example"
    added = api(platform, customers["owner"], "POST", f"sites/{name}/domains/", json={"hostname": hostname})
    assert added.status_code == 201, added.text
    domain = Domain.objects.get(hostname=hostname)
    assert platform.edge_get(hostname).status_code == 404  # never routed unverified

    url = f"/admin/sites/site/{domain.site_id}/domains/{domain.pk}/verify-by-hand/"
    assert admin_client.post(url, {"reason": ""}).status_code == 400
    assert admin_client.post(url, {"reason": "ticket 7: the registrar strips TXT records"}).status_code == 302

    wait_for(lambda: platform.edge_get(hostname).text == "vouched for\n", 30, "the edge to serve the domain")
    assert AuditEvent.objects.get(action="staff.domain.verify_by_hand", target=hostname).detail["reason"].startswith(
        "ticket 7")
