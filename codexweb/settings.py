"""Settings, all read from the environment; `.env.example` documents every variable.

Two modes: the embedded default (`make run`: SQLite, a local Redis, on loopback) and
production (`CODEXWEB_PRODUCTION=true`), which refuses to start with an insecure setting.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from codexweb.db_pool import with_pool
from codexweb.embedded_keys import LEGACY_DEFAULT_SECRET_KEY, embedded_keys
from codexweb.envconf import envbool, envfloat, envint, envlist, envnetworks, envports, envstr
from codexweb.tunables import tunable_values

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(envstr("CODEXWEB_VAR_DIR", str(BASE_DIR / "var")))

INSECURE_SECRET_KEY = LEGACY_DEFAULT_SECRET_KEY  # the refused default

PRODUCTION = envbool("CODEXWEB_PRODUCTION", False)
DEBUG = envbool("DEBUG", False)  # tracebacks show settings and paths: only when asked for
SECRET_KEY = envstr("SECRET_KEY", INSECURE_SECRET_KEY)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,[::1]")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
# A stable key for encrypting secrets and tokens at rest; derived from SECRET_KEY when unset.
FIELD_ENCRYPTION_KEY = envstr("FIELD_ENCRYPTION_KEY", "")
# Also accept, for decryption only, the key derived from the old public default SECRET_KEY
# (an embedded install that stored secrets before it had keys of its own).
FIELD_ENCRYPTION_ACCEPT_LEGACY_DEFAULT = False
if not PRODUCTION and SECRET_KEY == INSECURE_SECRET_KEY:
    # The embedded default: random keys generated once and kept in var/ (never a public one).
    _keys = embedded_keys(
        VAR_DIR,
        field_key_from_env=FIELD_ENCRYPTION_KEY,
        has_data="DATABASE_URL" in os.environ or (VAR_DIR / "codexweb.sqlite3").exists(),
    )
    SECRET_KEY = _keys.secret_key
    FIELD_ENCRYPTION_KEY = FIELD_ENCRYPTION_KEY or _keys.field_encryption_key
    FIELD_ENCRYPTION_ACCEPT_LEGACY_DEFAULT = _keys.accept_legacy_field_key
PUBLIC_URL = envstr("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# The simple tunables (an environment variable with a fixed default: limits, timeouts, budgets),
# each bound to the setting of its own name; their table, with a line of doc each, is
# codexweb/tunables.toml (`codexweb settings` lists them). What follows here is the rest: settings
# derived from the mode or from another setting, paths, lists and choices.
_TUNABLES = tunable_values()
globals().update(_TUNABLES)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "social_django",
    "codexweb.accounts",
    "codexweb.audit",
    "codexweb.api",
    "repos",
    "tasks",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "codexweb.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "codexweb.accounts.middleware.LoginRequiredMiddleware",
    "codexweb.accounts.middleware.SocialAuthErrorMiddleware",
]

ROOT_URLCONF = "codexweb.urls"
ASGI_APPLICATION = "codexweb.asgi.application"
WSGI_APPLICATION = None

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
                "social_django.context_processors.backends",
                "codexweb.accounts.context.sign_in_options",
                "tasks.context.sidebar",
            ],
        },
    },
]

DATABASES: dict[str, Any] = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{VAR_DIR / 'codexweb.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0, minimum=0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: daphne and the worker's processes share one file. WAL lets readers
    # (pages) go on while one process writes; writers wait up to `timeout` seconds for the lock
    # (busy timeout), and every transaction takes the write lock when it begins (IMMEDIATE): a
    # transaction that read first and then wanted to write would fail at once with "database
    # is locked" (SQLite cannot wait there without risking a deadlock). README, "SQLite".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# The web process keeps its PostgreSQL connections in a pool (codexweb/db_pool.py says which
# processes and why); the worker, commands and SQLite go on as configured above.
DATABASES["default"] = with_pool(
    DATABASES["default"],
    min_size=int(_TUNABLES["DATABASE_POOL_MIN_SIZE"]),
    max_size=int(_TUNABLES["DATABASE_POOL_MAX_SIZE"]),
    timeout=float(_TUNABLES["DATABASE_POOL_TIMEOUT"]),
)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = envstr("REDIS_URL", "redis://127.0.0.1:6379/0")
CHANNEL_LAYERS = {
    "default": {
        # Pub/sub: one PUBLISH per nudge, pushed to each web process (tasks/events.py says why).
        "BACKEND": "tasks.channel_layer.PubSubLayer",
        "CONFIG": {
            # redis-py 8 times out reads after 5 s by default; no read here should wait so long.
            "hosts": [{"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5}],
            "prefix": envstr("CHANNELS_PREFIX", "codexweb"),
        },
    }
}

CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = envstr("CELERY_QUEUE", "attempts")
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis restarting or away for a while: the worker reconnects for as long as it takes (instead of
# exiting after 100 tries), and an attempt it is running goes on meanwhile (its events are in the
# database; its job message is only acknowledged late).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = False
CELERY_WORKER_CONCURRENCY = envint("WORKER_CONCURRENCY", 4, minimum=1)
# How a worker runs its attempts at once: "threads" (WORKER_CONCURRENCY threads in one process:
# an attempt mostly waits on the engine, the model and its commands, and the attempt code is
# thread-safe) or "prefork" (a process each, ≈150 MB apiece). bench/load.py measures both.
CELERY_WORKER_POOL = envstr("WORKER_POOL", "threads").strip().lower()
if CELERY_WORKER_POOL not in ("threads", "prefork"):
    raise ImproperlyConfigured(
        f"WORKER_POOL must be threads or prefork, not {CELERY_WORKER_POOL!r}."
    )
# Celery beat (embedded: inside the worker; production: `celery -A codexweb beat`).
# Housekeeping fails a running attempt whose heartbeat (stamped every ATTEMPT_HEARTBEAT_SECONDS)
# is older than this ("the worker running this attempt stopped").
ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS = envint("ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS", 60, minimum=2)
_HEARTBEAT_CHECK_SECONDS = max(1.0, min(30.0, ATTEMPT_HEARTBEAT_TIMEOUT_SECONDS / 3))
CELERY_BEAT_SCHEDULE = {
    "housekeeping": {
        "task": "tasks.housekeeping",
        "schedule": float(envint("HOUSEKEEPING_INTERVAL_SECONDS", 300, minimum=10)),
        "options": {"queue": CELERY_TASK_DEFAULT_QUEUE, "expires": 240},
    },
    # Cheap (one query): often, so a dead worker's attempt shows as failed within seconds.
    "attempt-heartbeats": {
        "task": "tasks.attempts_check_heartbeats",
        "schedule": _HEARTBEAT_CHECK_SECONDS,
        "options": {"queue": CELERY_TASK_DEFAULT_QUEUE, "expires": _HEARTBEAT_CHECK_SECONDS},
    },
}

AUTHENTICATION_BACKENDS = [
    "codexweb.accounts.github_backends.GitHubOAuth2",
    "codexweb.accounts.github_backends.GitHubEnterpriseOAuth2",
    "django.contrib.auth.backends.ModelBackend",
]

LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "tasks:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# GitHub.com OAuth app. The URLs are settings so a test double (or a proxy) can stand in.
GITHUB_URL = envstr("GITHUB_URL", "https://github.com").rstrip("/")
GITHUB_API_URL = envstr("GITHUB_API_URL", "https://api.github.com").rstrip("/")
SOCIAL_AUTH_GITHUB_KEY = envstr("GITHUB_CLIENT_ID")
SOCIAL_AUTH_GITHUB_SECRET = envstr("GITHUB_CLIENT_SECRET")
SOCIAL_AUTH_GITHUB_SCOPE = ["read:user", "user:email", "repo", "read:org"]
# GitHub Enterprise Server OAuth app: GHES_URL is e.g. https://ghes.example.com
GHES_URL = envstr("GHES_URL", "").rstrip("/")
SOCIAL_AUTH_GITHUB_ENTERPRISE_URL = GHES_URL + "/" if GHES_URL else ""
SOCIAL_AUTH_GITHUB_ENTERPRISE_API_URL = (
    envstr("GHES_API_URL", GHES_URL + "/api/v3" if GHES_URL else "").rstrip("/") + "/"
    if GHES_URL
    else ""
)
SOCIAL_AUTH_GITHUB_ENTERPRISE_KEY = envstr("GHES_CLIENT_ID")
SOCIAL_AUTH_GITHUB_ENTERPRISE_SECRET = envstr("GHES_CLIENT_SECRET")
SOCIAL_AUTH_GITHUB_ENTERPRISE_SCOPE = SOCIAL_AUTH_GITHUB_SCOPE
SOCIAL_AUTH_URL_NAMESPACE = "social"
SOCIAL_AUTH_LOGIN_ERROR_URL = "/accounts/login/"
SOCIAL_AUTH_REDIRECT_IS_HTTPS = envbool("SOCIAL_AUTH_REDIRECT_IS_HTTPS", PRODUCTION)
SOCIAL_AUTH_JSONFIELD_ENABLED = True
SOCIAL_AUTH_PIPELINE = (
    "social_core.pipeline.social_auth.social_details",
    "social_core.pipeline.social_auth.social_uid",
    "social_core.pipeline.social_auth.auth_allowed",
    "social_core.pipeline.social_auth.social_user",
    # Before any account exists for a new person: the operator's SIGNIN_POLICY decides.
    "codexweb.accounts.pipeline.enforce_signin_policy",
    "social_core.pipeline.user.get_username",
    "social_core.pipeline.user.create_user",
    "social_core.pipeline.social_auth.associate_user",
    "social_core.pipeline.social_auth.load_extra_data",
    "social_core.pipeline.user.user_details",
    "codexweb.accounts.pipeline.ensure_team",
    "codexweb.accounts.pipeline.store_github_token",
)

# Notifications (tasks/notifications/): e-mail through Django's mail backend, off until
# EMAIL_HOST is set (or NOTIFY_EMAIL says otherwise), and per-team webhooks.
EMAIL_HOST = envstr("EMAIL_HOST", "")
NOTIFY_EMAIL = envbool("NOTIFY_EMAIL", bool(EMAIL_HOST))
# Non-public networks webhooks may reach (an internal chat bridge: "10.20.0.0/16"); none by
# default: loopback, private and link-local addresses and this host's own are refused.
WEBHOOK_ALLOW_PRIVATE = envnetworks("WEBHOOK_ALLOW_PRIVATE")
# Bare mirrors of repositories on the host (one per repository; fetched with the user's token).
GIT_MIRROR_ROOT = Path(envstr("GIT_MIRROR_ROOT") or str(VAR_DIR / "git-mirrors"))
# Folders whose git repositories a team admin may register by path (repos/git/locations.py). In
# production none unless listed; embedded, one folder in the home directory (see the README).
GIT_LOCAL_ROOTS = envlist(
    "GIT_LOCAL_ROOTS", "" if PRODUCTION else str(Path.home() / "codexweb-repos")
)
# Hosts plain git URLs may name ("*", "*.corp.example", "git.example.com"); the GitHub/GHES hosts
# always count. Loopback/private addresses need the host listed by name, never just "*".
GIT_ALLOWED_HOSTS = envlist("GIT_ALLOWED_HOSTS", "" if PRODUCTION else "*")
# `git gc --prune=now` of mirrors (drops force-pushed-away commits) and removal of mirrors no
# repository uses: how often beat starts a round (MIRROR_GC_BATCH: how many mirrors it handles).
MIRROR_GC_INTERVAL_SECONDS = envint("MIRROR_GC_INTERVAL_SECONDS", 3600, minimum=60)
CELERY_BEAT_SCHEDULE["mirrors-gc"] = {
    "task": "repos.mirrors_gc",
    "schedule": float(MIRROR_GC_INTERVAL_SECONDS),
    "options": {"queue": CELERY_TASK_DEFAULT_QUEUE, "expires": MIRROR_GC_INTERVAL_SECONDS},
}
# The co-author trailer on commits made from an attempt's patch.
PR_CO_AUTHOR = envstr("PR_CO_AUTHOR") or "codexweb agent <codexweb-agent@users.noreply.github.com>"
# Who may sign in with GitHub (codexweb/accounts/signin_policy.py): "invite-only" (a new person
# needs an open invitation), "orgs" (members of SIGNIN_GITHUB_ALLOWED_ORGS only) or "open".
SIGNIN_POLICY = envstr("SIGNIN_POLICY", "invite-only").strip().lower()
SIGNIN_GITHUB_ALLOWED_ORGS = [o.lower() for o in envlist("SIGNIN_GITHUB_ALLOWED_ORGS")]
if SIGNIN_POLICY not in ("invite-only", "orgs", "open"):
    raise ImproperlyConfigured(
        f"SIGNIN_POLICY must be invite-only, orgs or open, not {SIGNIN_POLICY!r}."
    )
if SIGNIN_POLICY == "orgs" and not SIGNIN_GITHUB_ALLOWED_ORGS:
    raise ImproperlyConfigured(
        "SIGNIN_POLICY=orgs needs SIGNIN_GITHUB_ALLOWED_ORGS (a comma list of organizations)."
    )

# The model API (OpenAI-compatible; OPENAI_BASE_URL and OPENAI_API_KEY are tunables). Tokens
# never enter a container.
MODEL_TIERS = {
    "strong": envstr("MODEL_STRONG", "o3"),
    "fast": envstr("MODEL_FAST", "o4-mini"),
}
# Per tier: the wire API ("responses" for OpenAI, "chat" for vLLM / llama.cpp / Ollama), the
# reasoning effort ("" sends none) and prices in US dollars per million tokens.
MODEL_TIER_OPTIONS = {
    tier: {
        "api": envstr(f"MODEL_{tier.upper()}_API", "responses").strip().lower(),
        "reasoning_effort": envstr(f"MODEL_{tier.upper()}_REASONING_EFFORT", effort),
        "price_input": envfloat(f"MODEL_{tier.upper()}_PRICE_INPUT", prices[0]),
        "price_cached_input": envfloat(f"MODEL_{tier.upper()}_PRICE_CACHED_INPUT", prices[1]),
        "price_output": envfloat(f"MODEL_{tier.upper()}_PRICE_OUTPUT", prices[2]),
        # Whether the tier's model accepts image inputs (o3 and o4-mini do); a task with images
        # on a tier that does not is refused before it starts (tasks/images/services.py).
        "images": envbool(f"MODEL_{tier.upper()}_IMAGES", True),
    }
    for tier, effort, prices in (
        ("strong", "medium", (2.0, 0.5, 8.0)),  # o3 list prices
        ("fast", "", (1.1, 0.275, 4.4)),  # o4-mini list prices
    )
}
for _tier, _options in MODEL_TIER_OPTIONS.items():
    if _options["api"] not in ("responses", "chat"):
        raise ImproperlyConfigured(
            f"MODEL_{_tier.upper()}_API must be 'responses' or 'chat', not {_options['api']!r}."
        )
# Images attached to a task or a follow-up (PNG, JPEG, WebP, GIF): at most this many per prompt,
# each at most this many bytes. They are kept in the database with the task.
IMAGE_MAX_BYTES = envint("IMAGE_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
IMAGE_MAX_COUNT = envint("IMAGE_MAX_COUNT", 4, minimum=0)
# The API takes images as base64 in its JSON body: room for them, and for the rest of the body.
DATA_UPLOAD_MAX_MEMORY_SIZE = max(
    2_621_440, IMAGE_MAX_BYTES * IMAGE_MAX_COUNT * 4 // 3 + 1_048_576
)

# The sandbox (its limits are tunables). Other images (exact names, comma-separated) an
# environment may choose; none by default.
SANDBOX_ALLOWED_IMAGES = envlist("SANDBOX_ALLOWED_IMAGES")
# Host-side runtime files per attempt: egress proxy sockets, rules and request records.
SANDBOX_RUNTIME_DIR = Path(envstr("SANDBOX_RUNTIME_DIR", str(VAR_DIR / "sandbox")))
# The egress proxy runs from its own virtual environment (scripts/proxy-venv.sh builds it).
SANDBOX_MITMDUMP = envstr("SANDBOX_MITMDUMP", str(BASE_DIR / ".venv-proxy" / "bin" / "mitmdump"))
# Non-public networks sandboxes may still reach through the proxy (an internal mirror:
# "10.20.0.0/16"). None: loopback, private, link-local and this host's own addresses are refused.
SANDBOX_EGRESS_ALLOW_PRIVATE = envnetworks("SANDBOX_EGRESS_ALLOW_PRIVATE")
# Public names whose non-public answers from this host's resolver mark a network that routes all
# traffic through an intercepting gateway: sandboxes may reach those addresses (one each), never
# loopback, link-local or this host's own (tasks/sandbox/egress/gateway.py). Empty: no detection.
SANDBOX_EGRESS_GATEWAY_NAMES = envlist(
    "SANDBOX_EGRESS_GATEWAY_NAMES", "pypi.org,files.pythonhosted.org,registry.npmjs.org"
)
# Ports an allowlist lets tunnels and plain HTTP reach; under "on", the ports raw TCP may reach.
SANDBOX_EGRESS_PORTS = envports("SANDBOX_EGRESS_PORTS", "80,443")
# Without overlay2-on-XFS project quotas the disk limit is checked this often while commands run.
# The reaper removes sandbox containers this long past their wall-clock deadline.
# Keep one setup-phase egress proxy (mitmdump) started ahead per worker process, so a cold
# start does not wait for one (tasks/sandbox/egress/spare.py); costs one idle mitmdump each.
# Corporate networks: a CA certificate file (PEM) every sandbox trusts (system store and the
# variables pip, npm, git, curl, Node, Java and Python read), and the egress proxy trusts for
# upstream servers next to this host's system store; read when an attempt starts.
# An HTTP proxy the egress proxy chains to (http://host:port), for networks without direct egress.
MAX_ATTEMPTS_PER_TASK = 4

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(VAR_DIR / "static")))
# Static files are served by the app itself (WhiteNoise), so `make run` needs no web server.
# Outside production they are found in place, so no collectstatic step is needed to develop.
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"django.channels.server": {"level": "WARNING"}},
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' HSTS preload list is hard to undo, so it is the operator's
        # explicit choice (SECURE_HSTS_PRELOAD=true), not a default check --deploy nags about.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    _problems = []
    if DEBUG:
        _problems.append("DEBUG must be off")
    if SECRET_KEY == INSECURE_SECRET_KEY or len(SECRET_KEY) < 50:
        _problems.append("SECRET_KEY must be set to a random value of 50+ characters")
    if not ALLOWED_HOSTS:
        _problems.append("ALLOWED_HOSTS must list the host names the app is served on")
    if "*" in ALLOWED_HOSTS:
        _problems.append("ALLOWED_HOSTS must not contain '*'")
    if _problems:
        raise ImproperlyConfigured(
            "Refusing to start in production mode: " + "; ".join(_problems) + "."
        )
