# The example project: nexus_shop with PostgreSQL (psycopg pool), Redis and cachalot,
# served over WSGI by granian (docs/deployment.md says why, with measurements). Set
# GRANIAN_WORKERS to the number of cores (default 1). WhiteNoise serves /static/. See docker-compose.yml for the services and .env.example for settings.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

RUN groupadd --system app && useradd --system --gid app --home-dir /app --shell /usr/sbin/nologin app

WORKDIR /app

# The library first (its layer is rebuilt only when the package changes)...
COPY pyproject.toml README.md LICENSE ./
COPY src ./src
# uvicorn stays installed for hosts that serve the ASGI entry point instead.
RUN pip install ".[postgres,redis,cache]" "granian>=2.0" "whitenoise>=6.8" \
        "uvicorn[standard]>=0.32" "dj-database-url>=2.3" "django-cors-headers>=4.4" \
    && rm -rf build src/*.egg-info

# ...then the host project, writable by the app user (the SQLite default lives there).
COPY --chown=app:app example_project ./example_project
# Static files (admin, Swagger UI) gathered once, at build time, for WhiteNoise to serve.
# DEBUG=1 only lets the settings load without secrets; collectstatic touches no database.
RUN DEBUG=1 python example_project/manage.py collectstatic --noinput -v 0
# Product images (MEDIA_ROOT), owned by the app user: a named volume mounted here takes the
# directory's owner, so uploads work without root.
RUN mkdir -p /app/media && chown app:app /app/media

USER app

EXPOSE 8000

CMD ["sh", "-c", "python example_project/manage.py migrate --noinput && exec granian --interface wsgi example_project.wsgi:application --working-dir example_project --host 0.0.0.0 --port 8000 --no-ws"]
