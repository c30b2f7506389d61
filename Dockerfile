# Weft for production: PostgreSQL, several uvicorn workers, non-root.
# docker build -t weft .
# docker run -p 8000:8000 -e WEFT_DATABASE_URL=postgresql://weft:...@db/weft -e WEFT_SECRET_KEY=... \
#   -e WEFT_BASE_URL=https://weft.example.com weft

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY backend ./backend
RUN /opt/venv/bin/pip install --upgrade pip && /opt/venv/bin/pip install .

FROM python:3.11-slim AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    WEFT_DATA_DIR=/var/lib/weft \
    WEB_WORKERS=4
RUN groupadd --system weft && useradd --system --gid weft --home-dir /app --shell /usr/sbin/nologin weft \
    && mkdir -p /var/lib/weft && chown weft:weft /var/lib/weft
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=root:root backend ./backend
COPY --chown=root:root web ./web
COPY --chown=root:root migrations ./migrations
USER weft
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/login', timeout=2)"
# Migrate, then serve; WEFT_DATABASE_URL and WEFT_SECRET_KEY are required (PostgreSQL in production).
CMD ["sh", "-c", "weft migrate && exec weft serve --host 0.0.0.0 --port 8000 --workers ${WEB_WORKERS}"]
