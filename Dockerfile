# Image of the port-community data hub. One image for every hub process; the command picks the
# role: `hub api` (default), `hub worker`, `hub generate`, `hub migrate` (see `hub --help`).
#
#   docker build -t port-hub .
#   docker compose up            # the whole stack, see docker-compose.yml
#
# Settings are environment variables (`docker run --rm port-hub hub settings` lists them). In a
# container the hub must be given HUB_KAFKA_BOOTSTRAP and DATABASE_URL: without them it would try
# to download and start a local broker and PostgreSQL, which this image does not carry.
# The dashboard's front-end libraries, fetched from the npm registry at build time by the same
# script as on a developer machine (versions pinned there).
FROM node:22-slim AS dashboard-vendor
WORKDIR /src
COPY scripts/vendor.sh scripts/vendor.sh
RUN bash scripts/vendor.sh

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Unprivileged user with a fixed numeric id, so that volumes and `runAsNonRoot` checks can rely on it.
RUN groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid hub --home-dir /var/lib/hub --no-create-home \
        --shell /usr/sbin/nologin hub \
 && mkdir -p /var/lib/hub \
 && chown hub:hub /var/lib/hub

# Only what the package needs: no tests, no .venv, no local state (.hub/).
WORKDIR /src
COPY pyproject.toml README.md ./
COPY hub/ hub/
COPY streams/ streams/
COPY schemas/ schemas/
COPY connectors/ connectors/
COPY --from=dashboard-vendor /src/hub/dashboard/static/vendor/ hub/dashboard/static/vendor/
# No Python module in it yet; copied because pyproject's package discovery names monitoring*.
COPY monitoring/ monitoring/
# Non-editable: the code lives in site-packages, so the sources can go. All dependencies are
# pinned in pyproject.toml and ship as manylinux wheels: no compiler needed in the slim image.
RUN pip install --no-cache-dir . \
 && rm -rf /src

# The default HUB_STATE_DIR is next to the source tree, i.e. inside site-packages once installed,
# which this user cannot write: point it at the user's own folder (faust keeps its data there).
# The API must listen on all interfaces to be reachable through a published port.
ENV HUB_STATE_DIR=/var/lib/hub \
    HUB_HTTP_HOST=0.0.0.0 \
    HUB_HTTP_PORT=8080

WORKDIR /var/lib/hub
USER 10001:10001

EXPOSE 8080
CMD ["hub", "api"]
