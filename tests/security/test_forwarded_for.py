"""Attack (issue 8, item 9; issue 15): a client sends its own X-Forwarded-For and X-Real-IP through
the edge, hoping the app takes them for the client's address (to pass an allowlist, or to put the
blame on someone else). The edge sets both to the address it saw; it never appends to or passes on
what the client sent."""
from __future__ import annotations

import pytest
import requests

from tests.integration.support.deploying import create_site, push, workdir_with

pytestmark = pytest.mark.django_db(transaction=True)

ECHO = '''import http.server
import os


class Echo(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = repr((self.headers.get_all("X-Forwarded-For"), self.headers.get_all("X-Real-IP"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ["PORT"])), Echo).serve_forever()
'''


def test_the_app_sees_the_clients_real_address_only(deploy_env, tmp_path):
    platform = deploy_env[0]
    site = create_site(deploy_env, "xff")
    push(deploy_env, workdir_with(tmp_path, None, {"requirements.txt": "", "echo.py": ECHO,
                                                   "Procfile": "web: python3 echo.py\n"}), site)

    response = requests.get(f"http://127.0.0.1:{platform.edge_port}/", timeout=10, headers={
        "Host": f"{site}.apps.localhost", "X-Forwarded-For": "203.0.113.66, 10.0.0.1", "X-Real-IP": "198.51.100.9"})

    assert response.status_code == 200, response.text
    assert response.text == "(['127.0.0.1'], ['127.0.0.1'])"  # the edge's view of the client, once each

    honest = requests.get(f"http://127.0.0.1:{platform.edge_port}/", timeout=10, headers={"Host": f"{site}.apps.localhost"})
    assert honest.text == "(['127.0.0.1'], ['127.0.0.1'])"
