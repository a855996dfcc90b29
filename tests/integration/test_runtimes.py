"""Each runtime image runs a trivial app of its kind from a slug and answers through its published port."""
from __future__ import annotations

import pytest
import requests

from hosting.runtimes import CATALOG

pytestmark = pytest.mark.django_db

APPS = {
    "static": ({"public/index.html": "<h1>hello from static</h1>\n", "secret.txt": "not served"}, None),
    "php": ({"public/index.php": '<?php echo "hello from php " . PHP_VERSION;'}, None),
    "python": (
        {
            "app.py": (
                "import os\nfrom http.server import BaseHTTPRequestHandler, HTTPServer\n"
                "class H(BaseHTTPRequestHandler):\n"
                "    def do_GET(self):\n"
                "        self.send_response(200); self.end_headers(); self.wfile.write(b'hello from python')\n"
                "HTTPServer(('0.0.0.0', int(os.environ['PORT'])), H).serve_forever()\n"
            )
        },
        ["python3", "/app/app.py"],
    ),
    "node": (
        {
            "package.json": '{"name": "t", "version": "1.0.0", "scripts": {"start": "node server.js"}}',
            "server.js": (
                "require('http').createServer((q, s) => s.end('hello from node ' + process.version))"
                ".listen(process.env.PORT);\n"
            ),
        },
        None,  # the runtime's default web command: npm start
    ),
}


@pytest.mark.parametrize("runtime", sorted(APPS))
def test_it_serves_a_trivial_app_of_each_runtime(sites, runtime):
    files, command = APPS[runtime]
    site = sites.start(runtime, files, command=command)

    response = requests.get(site.url + "/", timeout=10)

    assert response.status_code == 200
    assert f"hello from {runtime}" in response.text


def test_the_static_runtime_serves_public_only(sites):
    site = sites.start("static", APPS["static"][0])
    assert requests.get(site.url + "/secret.txt", timeout=10).status_code == 404


@pytest.mark.parametrize("runtime", sorted(CATALOG))
def test_each_image_has_the_version_the_catalog_names(sites, runtime):
    result = sites.run_once(runtime, CATALOG[runtime].version_command, disk_mb=None)

    assert result.exit_code == 0, result.output
    assert CATALOG[runtime].version.split()[-1] in result.output.replace("v", " "), result.output
