"""Settings of the hosting platform, all read from the environment (see the README's table)."""
from __future__ import annotations

import hashlib
import hmac
import re
import socket
import sys
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured

from core.env import (
    env_addresses,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    generate_fernet_key,
    generate_secret_key,
    secret_from_env_or_file,
)
from config.settings_databases import *  # noqa: F401,F403 (DATABASE_*: managed databases)
from core.logs import FORMATTERS as LOG_FORMATS, logging_config
from core.redis_client import redis_py_url


def _greenlet_server() -> bool:
    """True in a gevent web worker (gunicorn patches the standard library before loading us)."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve()
# The unprivileged system user (and its group) that the web server, the control worker and beat run
# as and that owns the platform's state under DATA_DIR (created by scripts/install.sh).
PLATFORM_USER = env_str("PLATFORM_USER", "hosting")

SECRET_KEY = secret_from_env_or_file("SECRET_KEY", DATA_DIR / "secrets" / "secret_key", generate_secret_key)
FERNET_KEY = secret_from_env_or_file("FERNET_KEY", DATA_DIR / "secrets" / "fernet_key", generate_fernet_key)
# The bearer token a Prometheus server scrapes /metrics with (staff/metrics_view.py).
METRICS_TOKEN = secret_from_env_or_file("METRICS_TOKEN", DATA_DIR / "secrets" / "metrics_token", generate_secret_key)

DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "staff.apps.StaffAdminConfig",  # Django's admin with our site: staff/site.py
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "core",  # the portal's base templates and static files
    "accounts",
    "hosting",
    "proxy",
    "sites",
    "support",
    "backups",
    "staff",
]

MIDDLEWARE = [
    "core.forwarded.TrustEdgeOnly",  # before anything reads the request's scheme
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.audit.AuditMiddleware",  # who and from where, for the audit log
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.portal.context",
            ],
        },
    },
]

# SQLite in the data directory unless DATABASE_URL names another database (PostgreSQL in production).
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL Django understands: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, agent, beat) share the file: wait for locks instead of failing.
    # IMMEDIATE: a transaction takes SQLite's write lock when it begins, so concurrent writers wait
    # their turn (up to `timeout`) instead of failing with "database is locked" on a stale read
    # (six env changes at once to one site; select_for_update is a no-op on SQLite).
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;",
                                       "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
if _greenlet_server():
    # Each request runs in a greenlet of its own, whose connection would outlive it only until
    # garbage collection: close it when the request ends.
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# The apps' own static files (htmx, the portal's CSS) are served even before `collectstatic` ran
# (the test platform never runs it); collected files win when they exist.
WHITENOISE_USE_FINDERS = True

# --- Redis and Celery -------------------------------------------------------------------------
# Without REDIS_URL, `make run` starts its own Redis on a unix socket in the data directory: no
# port to collide with, and nothing a site container could reach over the network.
MANAGED_REDIS_SOCKET = DATA_DIR / "run" / "redis.sock"
REDIS_URL = env_str("REDIS_URL", f"redis+socket://{MANAGED_REDIS_SOCKET}")
MANAGED_REDIS = not env_str("REDIS_URL", "")

# The cache holds the API's throttle counters; on Redis, so every web worker and process counts together.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": redis_py_url(REDIS_URL),
        "KEY_PREFIX": "hosting-cache",
        # Short: with Redis down a request answers (or fails open, see core/unavailable.py) at once.
        "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 1},
    }
}

CELERY_BROKER_URL = REDIS_URL
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# acks_late (below): a message leaves Redis only when its task ended, so one taken by an agent that
# died is delivered again after visibility_timeout (longer than any build); the tasks claim their
# deployment with a conditional UPDATE, so that late delivery does nothing (sites/pipeline/machine.py claim_*).
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1, "visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
# Outcomes live in our own rows (Deployment, Host), so Celery keeps no results.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "control"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ROUTES = ("core.routing.route_task",)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE = {**DATABASE_BEAT_SCHEDULE,
    "check-host-heartbeats": {"task": "hosting.check_host_heartbeats", "schedule": 10.0},
    # Hourly, so that failed certificates back off by 1 h, 2 h, 4 h ... (proxy.issuance.retry_delay).
    "renew-certificates": {"task": "proxy.renew_certificates", "schedule": 3600.0},
    "expire-pending-domains": {"task": "sites.expire_pending_domains", "schedule": 3600.0},
    "sweep-source-archives": {"task": "sites.sweep_source_archives", "schedule": 3600.0},
    "collect-edge-traffic": {"task": "proxy.collect_traffic", "schedule": 60.0},
    "reconcile-hosts": {"task": "hosting.reconcile_hosts", "schedule": 60.0},
    "tick-schedules": {"task": "sites.tick_schedules", "schedule": crontab()}}  # every minute: sites/scheduler.py

# --- Backups (backups/, README: Backup and restore) ----------------------------------------------
BACKUP_DIR = Path(env_str("BACKUP_DIR", str(DATA_DIR / "backups")))
BACKUP_HOUR = env_int("BACKUP_HOUR", 3, 0, 23)  # UTC hour of the nightly backups (the platform's, then sites')
BACKUP_KEEP_DAYS = env_int("BACKUP_KEEP_DAYS", 14)
SITE_BACKUP_KEEP_DAYS = env_int("SITE_BACKUP_KEEP_DAYS", 7, 1)  # sites' /data (sites/data_backups.py)
CELERY_BEAT_SCHEDULE["nightly-backup"] = {
    # On the root worker beside the edge (backups.tasks says why), never the unprivileged control worker.
    "task": "backups.nightly_backup", "schedule": crontab(hour=BACKUP_HOUR, minute=0), "options": {"queue": "proxy"},
}
CELERY_BEAT_SCHEDULE["nightly-site-backups"] = {"task": "sites.nightly_site_backups",
                                                "schedule": crontab(hour=BACKUP_HOUR, minute=30)}

# --- Fleet ------------------------------------------------------------------------------------


def _default_host_name() -> str:
    label = socket.gethostname().split(".")[0].lower()
    label = re.sub(r"[^a-z0-9-]+", "-", label).strip("-")[:63]
    return label or "host"


HOST_NAME = env_str("HOST_NAME", _default_host_name())
HOST_SERVICE_ADDRESS = env_str("HOST_SERVICE_ADDRESS", "127.0.0.1")
# Agents serve their containers' logs here to a token signed per container (hosting/log_access.py).
LOG_RELAY_PORT = env_int("LOG_RELAY_PORT", 7701)
HEARTBEAT_INTERVAL = env_int("HEARTBEAT_INTERVAL", 10)
# The control plane's web server as other hosts reach it (/internal/v1/, HOST_TOKEN from `add_host`);
# unset on the control plane's own host, whose agent reads the slug store directly.
CONTROL_PLANE_URL = env_str("CONTROL_PLANE_URL", "").rstrip("/")
HOST_TOKEN = env_str("HOST_TOKEN", "")
# Bound on this host's cache of slugs fetched from the control plane (least recently used go first).
SLUG_CACHE_MB = env_int("SLUG_CACHE_MB", 2048)
HOST_DOWN_AFTER = env_int("HOST_DOWN_AFTER", 30)
# How often each agent samples its site containers' CPU and memory and its volumes' fill (hosting/sampler.py).
METRICS_INTERVAL = env_int("METRICS_INTERVAL", 60)
# Shared hosting: sites rarely use their whole CPU share at once, so hosts sell each core this often.
CPU_OVERCOMMIT = env_int("CPU_OVERCOMMIT", 4, 1)
# Memory is not sold twice by default: a host whose containers want more than it has OOM-kills a neighbour.
MEMORY_OVERCOMMIT = env_float("MEMORY_OVERCOMMIT", 1.0, above=0)
if HOST_DOWN_AFTER <= HEARTBEAT_INTERVAL:
    raise ImproperlyConfigured("HOST_DOWN_AFTER must be longer than HEARTBEAT_INTERVAL.")

# --- Images and site containers ----------------------------------------------------------------
IMAGE_PREFIX = env_str("IMAGE_PREFIX", "hosting")
OS_IMAGE_SUITE = env_str("OS_IMAGE_SUITE", "trixie")
DEBIAN_MIRROR = env_str("DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Certificates in this file that Debian's own bundle lacks go into every image (a TLS-inspecting
# proxy's CA, a company CA); by default the host's bundle, so what the host trusts, builds trust.
EXTRA_CA_CERTS = env_str("EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt")
SITE_NETWORK = env_str("SITE_NETWORK", "hosting-sites")
SITE_BRIDGE = env_str("SITE_BRIDGE", "hsites0")
SITE_SUBNET = env_str("SITE_SUBNET", "10.213.0.0/16")
# Destinations site containers may never reach (besides this host itself): private ranges, where
# other hosts' services and published site ports live, and link-local cloud metadata.
SITE_BLOCKED_NETWORKS = env_list(
    "SITE_BLOCKED_NETWORKS",
    ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16"],
)
# IPv6 destinations sites may never reach: unique-local, link-local, site-local, and the IPv4-mapped
# and NAT64 prefixes that lead back into IPv4 space (hosting.firewall explains each).
SITE_BLOCKED_NETWORKS_V6 = env_list(
    "SITE_BLOCKED_NETWORKS_V6",
    ["fc00::/7", "fe80::/10", "fec0::/10", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48"],
)
# Sites whose plan allows outbound SMTP (port 25) run on a second network; the firewall refuses
# port 25 from every other site bridge. A bridge per policy needs no per-container rule to keep in
# step with addresses that Docker hands out again.
SITE_SMTP_NETWORK = env_str("SITE_SMTP_NETWORK", "hosting-sites-smtp")
SITE_SMTP_BRIDGE = env_str("SITE_SMTP_BRIDGE", "hsites1")
SITE_SMTP_SUBNET = env_str("SITE_SMTP_SUBNET", "10.214.0.0/16")
SITE_PORT_RANGE = (env_int("SITE_PORT_MIN", 20000), env_int("SITE_PORT_MAX", 29999))
SITE_CONTAINER_PORT = 5000
VOLUMES_DIR = Path(env_str("VOLUMES_DIR", str(DATA_DIR / "volumes")))
SLUGS_DIR = Path(env_str("SLUGS_DIR", str(DATA_DIR / "slugs")))

# --- Sites and deploys ------------------------------------------------------------------------
GIT_ROOT = Path(env_str("GIT_ROOT", str(DATA_DIR / "git")))
ARCHIVES_DIR = DATA_DIR / "archives"
# Each site runs as uid (and gid) SITE_UID_BASE + its id (never reused); above useradd's subordinate
# ids (/etc/subuid), so no local user can become a site's uid through a user namespace.
SITE_UID_BASE = env_int("SITE_UID_BASE", 2**30)
START_TIMEOUT = env_int("START_TIMEOUT", 60)  # seconds a new instance has to answer HTTP
DRAIN_SECONDS = env_int("DRAIN_SECONDS", 5)  # the old instance keeps running this long after a switch

# --- Platform and edge ------------------------------------------------------------------------
PLATFORM_DOMAIN = env_str("PLATFORM_DOMAIN", "apps.localhost").lower()
PORTAL_BIND = env_str("PORTAL_BIND", "127.0.0.1:8000")
PORTAL_URL = env_str("PORTAL_URL", f"http://{PORTAL_BIND}/")
PROXY_LISTEN_ADDRESS = env_str("PROXY_LISTEN_ADDRESS", "127.0.0.1")
PROXY_HTTP_PORT = env_int("PROXY_HTTP_PORT", 8080)
PROXY_HTTPS_PORT = env_int("PROXY_HTTPS_PORT", 8443)
EDGE_PUBLIC_ADDRESS = env_addresses("EDGE_PUBLIC_ADDRESS")  # the edge's public IPs: apex domains' A/AAAA records
NGINX_BINARY = env_str("NGINX_BINARY", "nginx")
PROXY_CLIENT_MAX_BODY_SIZE = env_str("PROXY_CLIENT_MAX_BODY_SIZE", "100m")
PROXY_WORKER_PROCESSES = env_str("PROXY_WORKER_PROCESSES", "auto")
PROXY_WORKER_USER = env_str("PROXY_WORKER_USER", "www-data")  # the edge's workers drop root to this user
PROXY_UPSTREAM_KEEPALIVE = env_int("PROXY_UPSTREAM_KEEPALIVE", 256)  # idle connections kept per worker
PROXY_ROUTES_MEMORY_MB = env_int("PROXY_ROUTES_MEMORY_MB", 64)  # the shared routing table (~100 bytes a route)
NGINX_MODULES_DIR = env_str("NGINX_MODULES_DIR", "/usr/lib/nginx/modules")
CERTS_DIR = DATA_DIR / "certs"
# TLS: empty ACME_DIRECTORY_URL turns certificate issuance off (the edge still serves HTTPS with
# a self-signed fallback). Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory
ACME_DIRECTORY_URL = env_str("ACME_DIRECTORY_URL", "")
ACME_EMAIL = env_str("ACME_EMAIL", "")
ACME_CA_BUNDLE = env_str("ACME_CA_BUNDLE", "")  # trust for a private ACME server's API (Pebble)
CLOUDFLARE_API_TOKEN = env_str("CLOUDFLARE_API_TOKEN", "")  # for the wildcard of PLATFORM_DOMAIN
CERTBOT_BINARY = env_str("CERTBOT_BINARY", "certbot")
DOMAIN_VERIFICATION_ADDRESS = env_str("DOMAIN_VERIFICATION_ADDRESS", "")  # host:port to fetch HTTP tokens from (tests)
DOMAIN_VERIFICATION_NAMESERVER = env_str("DOMAIN_VERIFICATION_NAMESERVER", "")  # host:port of the DNS server for TXT checks
ACME_WEBROOT = DATA_DIR / "acme-webroot"
PROXY_CONNECT_TIMEOUT = env_int("PROXY_CONNECT_TIMEOUT", 5)
PROXY_READ_TIMEOUT = env_int("PROXY_READ_TIMEOUT", 60)
EDGE_DIR = DATA_DIR / "edge"

# --- Portal: sign-in and e-mail -----------------------------------------------------------------
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "sites:list"
LOGOUT_REDIRECT_URL = "accounts:login"
# E-mail: written to files under DATA_DIR/mail unless EMAIL_HOST names an SMTP server.
EMAIL_HOST = env_str("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_FILE_PATH = DATA_DIR / "mail"
EMAIL_BACKEND = ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                 else "django.core.mail.backends.filebased.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"hosting@{PLATFORM_DOMAIN}")
# Failed logins (password or two-factor code) before a wait: per account and client address, then
# per address whatever the account; each lock lasts LOGIN_LOCKOUT_SECONDS (accounts/lockout.py).
LOGIN_FAILURES_PER_ACCOUNT_ADDRESS = env_int("LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("LOGIN_FAILURES_PER_ADDRESS", 50)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 900)
EMAIL_CONFIRMATION_DAYS = env_int("EMAIL_CONFIRMATION_DAYS", 3)  # a sign-up's confirmation link expires
for _name in ("LOGIN_FAILURES_PER_ACCOUNT_ADDRESS", "LOGIN_FAILURES_PER_ADDRESS", "LOGIN_LOCKOUT_SECONDS",
              "EMAIL_CONFIRMATION_DAYS"):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be a positive number, not {globals()[_name]}.")
INVITATION_DAYS = env_int("INVITATION_DAYS", 7)  # how long a team invitation's link stays valid

# --- Support desk -------------------------------------------------------------------------------
# Attachments of tickets' messages, each under a random name (support/attachments.py).
SUPPORT_DIR = DATA_DIR / "support"
SUPPORT_ATTACHMENT_MAX_BYTES = env_int("SUPPORT_ATTACHMENT_MAX_BYTES", 10 * 2**20)  # per file
SUPPORT_ATTACHMENTS_PER_MESSAGE = env_int("SUPPORT_ATTACHMENTS_PER_MESSAGE", 5)

# --- HTTPS through the edge (production) -------------------------------------------------------
# With PLATFORM_HTTPS the portal, the API and git are served by the edge at https://PORTAL_HOSTNAME/
# (the edge's server block for that name proxies to PORTAL_BIND); the bind itself then serves only
# the edge and the platform's own health checks.
PLATFORM_HTTPS = env_bool("PLATFORM_HTTPS", False)
PORTAL_HOSTNAME = env_str("PORTAL_HOSTNAME", f"portal.{PLATFORM_DOMAIN}").lower()
# The edge sends this in X-Hosting-Edge; only a request carrying it may say it came over HTTPS
# (core.forwarded), so a local process that reaches the bind directly cannot pass for the edge.
EDGE_PROXY_SECRET = hmac.new(SECRET_KEY.encode(), b"hosting edge proxy", hashlib.sha256).hexdigest()
if PLATFORM_HTTPS:
    _https_suffix = "" if PROXY_HTTPS_PORT == 443 else f":{PROXY_HTTPS_PORT}"
    PORTAL_URL = env_str("PORTAL_URL", f"https://{PORTAL_HOSTNAME}{_https_suffix}/")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [PORTAL_HOSTNAME, "127.0.0.1", "localhost", "[::1]"])
    CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PORTAL_URL.rstrip("/")])
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # the platform's own checks call the bind over HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 365 * 24 * 3600)
    # Safe: the portal's name has no subdomains, and preload commits nothing until its owner submits it.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Long streams (log follows, pushes) -------------------------------------------------------
# The web server runs gevent workers (Procfile), so a stream waits as a greenlet and holds no
# thread; these bound what it may still hold.
STREAMS_PER_ORGANIZATION = env_int("STREAMS_PER_ORGANIZATION", 10)  # open at once, across every web worker
STREAM_CHECK_SECONDS = env_int("STREAM_CHECK_SECONDS", 2)  # how often a quiet stream looks for its client
STREAM_MAX_SECONDS = env_int("STREAM_MAX_SECONDS", 3600)  # a log follow ends after this long

# --- Logging ----------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
# LOG_FORMAT: `text` (the message, then the structured fields as key=value) or `json` (one object a line).
LOG_FORMAT = env_str("LOG_FORMAT", "text").lower()
if LOG_FORMAT not in LOG_FORMATS:
    raise ImproperlyConfigured(f"LOG_FORMAT must be one of {', '.join(sorted(LOG_FORMATS))}, not {LOG_FORMAT!r}.")
LOGGING = logging_config(LOG_FORMAT, LOG_LEVEL)

# --- REST API ---------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "core.problems.exception_handler",  # RFC 9457 problem details
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttling.TokenRateThrottle", "accounts.throttling.AddressRateThrottle"],
    # How many proxies in front of the portal write X-Forwarded-For (1 behind the edge); with 0 the
    # client's address is REMOTE_ADDR and a client's own X-Forwarded-For is ignored.
    "NUM_PROXIES": env_int("NUM_PROXIES", 0),
}
# Throttles (DRF's rate syntax: N/s, N/min, N/hour, N/day); beyond them the API answers 429.
API_RATE_PER_TOKEN = env_str("API_RATE_PER_TOKEN", "600/min")
API_RATE_PER_ADDRESS = env_str("API_RATE_PER_ADDRESS", "1200/min")
AUTH_FAILURES_PER_ADDRESS = env_str("AUTH_FAILURES_PER_ADDRESS", "30/min")  # bad tokens, API and git
for _name in ("API_RATE_PER_TOKEN", "API_RATE_PER_ADDRESS", "AUTH_FAILURES_PER_ADDRESS"):
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", globals()[_name]):
        raise ImproperlyConfigured(f"{_name} must be a rate like 600/min (per s, min, hour or day), not {globals()[_name]!r}.")
SPECTACULAR_SETTINGS = {
    "TITLE": "Hosting platform API",
    "VERSION": "1",
    "DESCRIPTION": "Sites, deployments, config and logs. Authenticate with `Authorization: Bearer <token>`.",
    "SERVE_INCLUDE_SCHEMA": False,
}
