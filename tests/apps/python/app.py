"""A tiny WSGI app: a greeting, plus the GREETING environment variable when it is set."""
import os


def application(environ, start_response):
    body = "hello from python"
    greeting = os.environ.get("GREETING")
    if greeting:
        body += f": {greeting}"
    data = (body + "\n").encode()
    start_response("200 OK", [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]
