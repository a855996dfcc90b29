"""A WSGI app with a PostgreSQL or MariaDB database through DATABASE_URL (the managed databases' tests).

/write?note=x  inserts a row (the error's text, with 500, when the database refuses)
/read          counts the rows
/grow?mb=n     inserts about n MB
/connect?url=  tries another URL (the isolation test: another site's credentials)
/drop          drops the table (the backups' test damages the database)
/file?write=x  writes /data/note.txt; /file reads it (the backups' test: /data beside the database)
"""
import os
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
import pymysql

ERRORS = (psycopg.Error, pymysql.err.MySQLError)


class MySQL:
    """Just what the routes below use of a connection, for MariaDB (PyMySQL)."""

    def __init__(self, url):
        parts = urlsplit(url)
        self.conn = pymysql.connect(host=parts.hostname, port=parts.port or 3306, user=unquote(parts.username),
                                    password=unquote(parts.password or ""), database=parts.path.lstrip("/"),
                                    connect_timeout=5, autocommit=True)

    def execute(self, statement, values=None):
        cursor = self.conn.cursor()
        cursor.execute(statement.replace("serial PRIMARY KEY", "INT AUTO_INCREMENT PRIMARY KEY")
                       .replace("md5(g::text) || repeat('x', 1000)", "CONCAT(MD5(g), REPEAT('x', 1000))")
                       .replace("generate_series(1, %s) g", "(SELECT seq AS g FROM seq_1_to_100000 LIMIT %s) s")
                       .replace("current_user", "current_user()"), values)
        return cursor

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.conn.close()


def _connect(url=None):
    url = url or os.environ["DATABASE_URL"]
    if url.startswith("mysql://"):
        return MySQL(url)
    return psycopg.connect(url, connect_timeout=5, autocommit=True)


def _answer(start_response, status, text):
    data = (text + "\n").encode()
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(data)))])
    return [data]


def _file(start_response, query):
    if "write" in query:
        with open("/data/note.txt", "w") as note:
            note.write(query["write"])
        return _answer(start_response, "200 OK", "wrote")
    try:
        with open("/data/note.txt") as note:
            return _answer(start_response, "200 OK", note.read())
    except FileNotFoundError:
        return _answer(start_response, "404 Not Found", "no note")


def application(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    query = {key: values[0] for key, values in parse_qs(environ.get("QUERY_STRING", "")).items()}
    if path == "/file":
        return _file(start_response, query)
    if path == "/" or "DATABASE_URL" not in os.environ:
        return _answer(start_response, "200 OK", "database: " + ("yes" if "DATABASE_URL" in os.environ else "no"))
    try:
        if path == "/connect":
            with _connect(query["url"]) as conn:
                return _answer(start_response, "200 OK", "connected as " + conn.execute("SELECT current_user").fetchone()[0])
        with _connect() as conn:
            if path in ("/write", "/grow"):  # (not on reads: a read-only database refuses even IF NOT EXISTS)
                conn.execute("CREATE TABLE IF NOT EXISTS notes (id serial PRIMARY KEY, body text)")
            if path == "/write":
                conn.execute("INSERT INTO notes (body) VALUES (%s)", [query.get("note", "")])
                return _answer(start_response, "200 OK", "written")
            if path == "/drop":
                conn.execute("DROP TABLE notes")
                return _answer(start_response, "200 OK", "dropped")
            if path == "/grow":
                conn.execute("INSERT INTO notes (body) SELECT md5(g::text) || repeat('x', 1000) "
                             "FROM generate_series(1, %s) g", [int(query.get("mb", "1")) * 1000])
                return _answer(start_response, "200 OK", "grown")
            count = conn.execute("SELECT count(*) FROM notes WHERE body NOT LIKE '%%xxxx'").fetchone()[0]
            return _answer(start_response, "200 OK", f"notes: {count}")
    except ERRORS as exc:
        return _answer(start_response, "500 Internal Server Error", f"error: {exc}".strip())
