# kickbot: one image for every process (web, bot, worker, beat); the command picks the role.
FROM python:3.11-slim AS base
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KICKBOT_ENV=production KICKBOT_VAR_DIR=/app/var
WORKDIR /app
RUN groupadd --system kickbot && useradd --system --gid kickbot --home /app kickbot
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# collectstatic needs settings that import cleanly; these throwaway values never reach runtime.
RUN DJANGO_SECRET_KEY=build-only-secret-key-not-used-at-runtime-0123456789 \
    FIELD_ENCRYPTION_KEY=YnVpbGQtb25seS1rZXktbmV2ZXItYXQtcnVudGltZSE= \
    DATABASE_URL=sqlite:////tmp/build.sqlite3 REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput -v 0 \
 && mkdir -p /app/var && chown -R kickbot:kickbot /app/var
USER kickbot
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-m", "kickbot.healthcheck"]
# Behind the proxy (compose: Caddy): --proxy-headers for the scheme; the client address comes from
# X-Forwarded-For as far as TRUSTED_PROXY_HOPS trusts it (kickbot/edge.py).
CMD ["daphne", "-b", "0.0.0.0", "-p", "8000", "--proxy-headers", "kickbot.asgi:application"]
