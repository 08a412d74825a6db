# diemcau service image: `docker build -t diemcau .` (deploy/compose.yaml builds it too).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv/diemcau

# DejaVu covers Vietnamese: the demo deck is drawn with it.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from the lock alone: a code change does not reinstall them, and
# every build gets the same versions, each checked against its hash (`make lock`).
COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

# Templates, static files and migrations are found next to the app package
# (app.config.PROJECT_ROOT), so the source tree stays here and is installed editable,
# without dependencies: they all came from the lock above.
COPY . .
RUN pip install --no-deps -e . \
    && useradd --system --uid 10001 --home-dir /var/lib/diemcau --create-home diemcau

# The working folder holds .env and, without DIEMCAU_DATABASE_URL, the SQLite file.
USER diemcau
WORKDIR /var/lib/diemcau
VOLUME /var/lib/diemcau
EXPOSE 8000

HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"]

# `serve` migrates the database first. Other commands: docker run … diemcau demo | create-admin
ENTRYPOINT ["diemcau"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
