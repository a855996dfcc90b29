"""WordPress on the real stack: Debian's WordPress files (tests/integration/support/wordpress.py)
with the site's own wp-config.php (tests/apps/wordpress), the php runtime, a managed MariaDB
database, wp-content as a writable path, and HTTPS only (force_https) as its owner would have it.
It installs through its web installer, makes its links https:// though the edge speaks HTTP to it,
serves its pages, takes a media upload into wp-content, and is still installed, logged in and
serving the upload after a new release."""
from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
import requests
import urllib3

from tests.integration.support.databases import attach_database
from tests.integration.support.databases import database_servers_removed_afterwards  # noqa: F401 (a fixture)
from tests.integration.support.deploying import api, create_site, finished_deployment, git, push
from tests.integration.support.processes import wait_for
from tests.integration.support.wordpress import download_packages, site_tree

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("database_servers_removed_afterwards")]

TITLE = "Platform Test Blog"
PASSWORD = "correct horse battery staple 42"
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


@pytest.fixture(scope="session")
def wordpress_packages(engine, tmp_path_factory) -> Path:
    """Debian's WordPress packages, unpacked once per test session."""
    return download_packages(engine, tmp_path_factory.mktemp("wordpress-debs"))


class Visitor:
    """A browser of the site over the edge's HTTPS (the test platform's own certificate): cookies
    kept, redirects not followed (they name the site's hostname, which only the edge's Host routing
    knows here)."""

    def __init__(self, platform, site: str):
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self.edge = f"https://127.0.0.1:{platform.https_port}"
        self.session = requests.Session()
        self.host = f"{site}.apps.localhost:{platform.https_port}"  # with the edge's port, as a browser sends it
        self.session.headers["Host"] = self.host

    def get(self, path: str) -> requests.Response:
        return self.session.get(self.edge + path, allow_redirects=False, verify=False, timeout=30)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.session.post(self.edge + path, allow_redirects=False, verify=False, timeout=60, **kwargs)


def log_in(visitor: Visitor) -> None:
    assert visitor.get("/wp-login.php").status_code == 200  # sets WordPress's test cookie
    answer = visitor.post("/wp-login.php", data={"log": "admin", "pwd": PASSWORD, "wp-submit": "Log In",
                                                  "redirect_to": "/wp-admin/", "testcookie": "1"})
    assert answer.status_code == 302 and answer.headers["Location"] == "/wp-admin/", answer.text[-2000:]
    # Logged in over HTTPS, so with WordPress's secure-only admin cookie.
    assert any(cookie.name.startswith("wordpress_sec_") and cookie.secure for cookie in visitor.session.cookies)
    assert "Dashboard" in visitor.get("/wp-admin/").text


def upload_media(visitor: Visitor) -> str:
    """Upload a PNG with wp-admin's browser uploader; returns the path WordPress serves it at."""
    form = visitor.get("/wp-admin/media-new.php?browser-uploader").text
    nonce = re.search(r'name="_wpnonce" value="([0-9a-f]+)"', form).group(1)
    answer = visitor.post("/wp-admin/media-new.php", data={
        "post_id": "0", "_wpnonce": nonce, "_wp_http_referer": "/wp-admin/media-new.php?browser-uploader",
        "html-upload": "Upload"}, files={"async-upload": ("pixel.png", PIXEL, "image/png")})
    assert answer.status_code == 302 and "upload.php" in answer.headers["Location"], answer.text[-2000:]
    listing = visitor.get("/wp-admin/upload.php?mode=list").text
    return re.search(r"/wp-content/uploads/\d{4}/\d{2}/pixel(-\d+)?\.png", listing).group(0)


def test_it_installs_wordpress_with_its_web_installer_and_keeps_it_across_releases(deploy_env, wordpress_packages,
                                                                                   tmp_path):
    platform, customers, _ = deploy_env
    owner = customers["owner"]
    site = create_site(deploy_env, "wp")
    assert api(platform, owner, "PATCH", f"sites/{site}/", json={"force_https": True}).status_code == 200
    assert api(platform, owner, "POST", f"sites/{site}/env/",
               json={"vars": {"WORDPRESS_SECRET": "a-secret-of-this-test-only"}}).status_code in (200, 202)
    attach_database(platform, owner, site, "mariadb")
    work = tmp_path / "wordpress"
    site_tree(wordpress_packages, work)
    git("init", "-q", "-b", "main", cwd=work)
    git("add", "-A", cwd=work)
    git("commit", "-q", "-m", "WordPress from Debian's packages", cwd=work)
    push(deploy_env, work, site)

    # Not installed yet: every page leads to the installer, which asks for the site's details.
    visitor = Visitor(platform, site)
    front = visitor.get("/")
    assert front.status_code == 302 and front.headers["Location"].endswith("/wp-admin/install.php"), front.text
    form = visitor.get("/wp-admin/install.php?step=1")
    assert form.status_code == 200 and 'name="weblog_title"' in form.text, form.text[-2000:]
    installed = visitor.post("/wp-admin/install.php?step=2", data={
        "weblog_title": TITLE, "user_name": "admin", "admin_password": PASSWORD, "admin_password2": PASSWORD,
        "pw_weak": "on", "admin_email": "admin@example.com", "blog_public": "0", "language": ""})
    assert installed.status_code == 200 and "Success!" in installed.text, installed.text[-3000:]

    front = visitor.get("/")
    assert front.status_code == 200 and f"<title>{TITLE}" in front.text, front.text[:3000]
    # Installed over HTTPS, it links over HTTPS (Apache tells PHP what the edge's X-Forwarded-Proto says)
    # and with the port the visitor used (the edge passes it on in Host).
    assert f'href="https://{visitor.host}/' in front.text and f"http://{site}.apps.localhost" not in front.text
    assert f"{site}.apps.localhost/" not in front.text  # no link without the port
    folder = visitor.get("/wp-admin")  # Apache's own redirect to the folder's slash stays on HTTPS too
    assert folder.status_code == 301 and folder.headers["Location"] == f"https://{visitor.host}/wp-admin/"
    post = visitor.get("/?p=1")
    assert post.status_code == 200 and "Hello world!" in post.text, post.text[:3000]
    log_in(visitor)
    upload = upload_media(visitor)
    assert visitor.get(upload).content == PIXEL  # written into wp-content, served by Apache

    # A new release (a config change: new containers): the installation was in the database and
    # the upload in the site's /data, so both are still there.
    changed = api(platform, owner, "POST", f"sites/{site}/env/", json={"vars": {"WP_TEST_RELEASE": "2"}})
    assert changed.status_code == 202, changed.text
    detail = finished_deployment(platform, owner, site, changed.json()["id"], timeout=120)
    assert detail["state"] == "succeeded", detail["log"]
    again = Visitor(platform, site)
    wait_for(lambda: TITLE in again.get("/").text, 30, "the new release to serve the blog")
    assert "Already Installed" in again.get("/wp-admin/install.php").text
    assert again.get(upload).content == PIXEL
    assert "Hello world!" in again.get("/?p=1").text
    log_in(again)
