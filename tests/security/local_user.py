"""Running a snippet of Python as another local user of the host (nobody, the platform user)."""
from __future__ import annotations

import json
import subprocess
import textwrap

NOBODY = ("nobody", "nogroup")


def run_as(user: str, group: str, code: str, *args: str, python: str = "/usr/bin/python3") -> dict:
    """Run `code` as `user`:`group` (no supplementary groups) with `python` (Debian's by default);
    it prints one JSON object, returned here."""
    result = subprocess.run(
        ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "--", python, "-c",
         textwrap.dedent(code), *args],
        capture_output=True, text=True, timeout=60, cwd="/",
    )
    assert result.returncode == 0, f"the snippet failed as {user}: {result.stderr}"
    return json.loads(result.stdout)


# Tries to read each path (a directory: list it) and prints what happened to each.
READ_EACH = """
    import json, os, sys
    outcome = {}
    for path in sys.argv[1:]:
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                with open(path, "rb") as f:
                    f.read(1)
            outcome[path] = "read"
        except OSError as exc:
            outcome[path] = type(exc).__name__
    print(json.dumps(outcome))
"""

# Sends one HTTP request through a unix socket: argv = socket, method, path, body.
UNIX_HTTP = """
    import json, socket, sys
    path, method, target, body = sys.argv[1:5]
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    try:
        s.connect(path)
    except OSError as exc:
        print(json.dumps({"connected": False, "error": type(exc).__name__}))
        raise SystemExit(0)
    data = body.encode()
    s.sendall(f"{method} {target} HTTP/1.0\\r\\nHost: edge\\r\\nContent-Length: {len(data)}\\r\\n\\r\\n".encode() + data)
    answer = b""
    while chunk := s.recv(65536):
        answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer else 0
    print(json.dumps({"connected": True, "status": status, "body": answer.partition(b"\\r\\n\\r\\n")[2].decode()}))
"""

# Connects to PostgreSQL at argv[1] (a URL without a password) and reads one row.
POSTGRES_WITHOUT_PASSWORD = """
    import json, sys
    import psycopg
    try:
        with psycopg.connect(sys.argv[1], connect_timeout=5) as db:
            db.execute("SELECT 1").fetchone()
        print(json.dumps({"connected": True}))
    except psycopg.OperationalError as exc:
        print(json.dumps({"connected": False, "error": str(exc).strip().splitlines()[-1]}))
"""
