"""The pre-receive hook's side of sites/push_hook.py, run by git for each push (standard library
only: it starts in milliseconds). It hands git's ref updates and the quarantine git set up for the
push's objects to the web process over the socket that process passed down, prints what comes
back as it comes (git shows it to the client as `remote:` lines), and exits with the answer.
"""
import json
import os
import socket
import sys

QUARANTINE = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_QUARANTINE_PATH")


def receive_exactly(sock, size):
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def main():
    fd = os.environ.get("HOSTING_HOOK_FD", "")
    if not fd.isdigit():
        print("The platform's push hook has no connection to the platform; the push was not deployed.")
        return 1
    sock = socket.socket(fileno=int(fd))
    sock.setblocking(True)  # the web server (gevent) made the shared socket non-blocking
    request = {"lines": sys.stdin.read().splitlines(), "env": {name: os.environ.get(name, "") for name in QUARANTINE}}
    payload = json.dumps(request).encode()
    sock.sendall(len(payload).to_bytes(4, "big") + payload)
    out = sys.stdout.buffer
    while True:
        head = receive_exactly(sock, 5)
        if head is None:
            print("The platform stopped answering; the push was not deployed.")
            return 1
        body = receive_exactly(sock, int.from_bytes(head[1:], "big")) or b""
        if head[:1] == b"o":
            out.write(body)
            out.flush()
        elif head[:1] == b"x":
            return int(body or b"1")


sys.exit(main())
