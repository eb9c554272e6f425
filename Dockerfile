# Frontdoor in a container: `docker compose up` (compose.yaml) runs it with PostgreSQL, in webhook
# mode. Slim, no build tools left, a non-root user; the config is mounted at /app/config.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY frontdoor frontdoor
COPY bot bot
COPY agents_app agents_app
COPY telegram_io telegram_io
COPY handoff handoff
COPY sandbox sandbox
COPY config config
RUN python -m venv /opt/frontdoor \
    && /opt/frontdoor/bin/pip install --no-cache-dir --quiet ".[postgres]"

FROM python:3.11-slim
ENV PATH="/opt/frontdoor/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
COPY --from=build /opt/frontdoor /opt/frontdoor
RUN useradd --system --uid 10001 --home-dir /app --create-home frontdoor
WORKDIR /app
COPY --chown=frontdoor:frontdoor config config
USER frontdoor
EXPOSE 8088
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('FRONTDOOR_WEB_PORT', '8088')}/healthz\", timeout=4)"]
ENTRYPOINT ["frontdoor"]
CMD ["run", "--config", "/app/config/frontdoor.yaml"]
