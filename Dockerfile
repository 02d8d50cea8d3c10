# syntax=docker/dockerfile:1
# The one image behind the web, worker, beat and migrate services of docker-compose.yml.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.8"

WORKDIR /app

# The locked dependencies first, so this layer is rebuilt only when uv.lock changes.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev

# .dockerignore keeps .venv, .env, db.sqlite3 and var/ out of the image.
COPY . .
# Our own bytecode too (the dependencies' is compiled by UV_COMPILE_BYTECODE): with
# PYTHONDONTWRITEBYTECODE set, every process would otherwise compile the apps as it starts.
RUN python -m compileall -q mentorship profiles matching cohorts meetings conversations community audit

# Static files are collected (hashed and compressed) into the image; settings refuse to load with
# DEBUG off and no SECRET_KEY, so this one step gets a throwaway key that never reaches runtime.
RUN DEBUG=false SECRET_KEY=build-only-collectstatic-key-not-used-at-runtime \
    python manage.py collectstatic --no-input

# The code and static files stay owned by root: the app user can read them, not change them.
# Uploaded photos are the one place it writes (a volume in docker-compose.yml).
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /nonexistent app \
    && mkdir -p /app/var/media && chown app:app /app/var/media
USER app

EXPOSE 8000
CMD ["gunicorn", "mentorship.wsgi:application", "--config", "deploy/gunicorn.conf.py", "--bind", "0.0.0.0:8000"]
