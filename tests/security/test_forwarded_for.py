"""Attack (issue 8, item 9; issue 15): a client sends its own X-Forwarded-For and X-Real-IP through
the edge, hoping the app takes them for the client's address (to pass an allowlist, or to put the
blame on someone else). The edge sets both to the address it saw; it never appends to or passes on
what the client sent. Likewise a Host header with something after the name: the app gets the routed
name and the visitor's port if it is a number, never the visitor's raw text (an app building links
from `site:@evil.example` would send its users to evil.example)."""
from __future__ import annotations

import pytest
import requests

from tests.integration.support.deploying import create_site, push, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)

ECHO = '''import http.server
import os


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        names = ("Host", "X-Forwarded-Host") if self.path == "/host" else ("X-Forwarded-For", "X-Real-IP")
        body = " ".join(repr(self.headers.get_all(name)) for name in names).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Echo).serve_forever()
'''


def deployed_echo(deploy_env, tmp_path) -> str:
    site = create_site(deploy_env, "xff")
    push(deploy_env, workdir_with(tmp_path, None, {"requirements.txt": "", "echo.py": ECHO,
                                                   "Procfile": "web: python3 echo.py\n"}), site)
    return site


def test_the_app_sees_the_clients_real_address_only(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = deployed_echo(deploy_env, tmp_path)

    response = requests.get(f"http://127.0.0.1:{platform.edge_port}/", timeout=10, headers={
        "Host": f"{site}.apps.localhost", "X-Forwarded-For": "203.0.113.66, 10.0.0.1", "X-Real-IP": "198.51.100.9"})

    assert response.status_code == 200, response.text
    assert response.text == "['127.0.0.1'] ['127.0.0.1']"  # X-Forwarded-For, X-Real-IP: the edge's view, once each

    honest = requests.get(f"http://127.0.0.1:{platform.edge_port}/", timeout=10, headers={"Host": f"{site}.apps.localhost"})
    assert honest.text == "['127.0.0.1'] ['127.0.0.1']"


def test_the_app_gets_the_routed_name_and_a_numeric_port_only(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = deployed_echo(deploy_env, tmp_path)

    def hosts(host: str) -> requests.Response:
        return requests.get(f"http://127.0.0.1:{platform.edge_port}/host", timeout=10, headers={"Host": host})

    assert hosts(f"{site}.apps.localhost").text == f"['{site}.apps.localhost'] ['{site}.apps.localhost']"
    with_port = f"['{site}.apps.localhost:8080']"
    assert hosts(f"{site}.Apps.Localhost:8080").text == f"{with_port} {with_port}"
    for trick in (f"{site}.apps.localhost:@evil.example", f"{site}.apps.localhost:80@evil.example:80"):
        answer = hosts(trick)
        assert answer.status_code == 400 or "evil" not in answer.text, (trick, answer.text)
