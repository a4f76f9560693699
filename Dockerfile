# The orchestrator's image: the pinned, hash-checked dependencies of requirements/main.lock,
# then the package itself without dependencies (so nothing unpinned slips in), run as a
# non-root user. Build:  docker build -t sharingtools-orchestrator .
# Kubernetes manifests using it: deploy/kubernetes/ (see the README, "Deployment").

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# The lock first: this layer is rebuilt only when the dependencies change.
COPY requirements/main.lock requirements/main.lock
RUN python -m venv /opt/orchestrator \
 && /opt/orchestrator/bin/pip install --require-hashes --no-deps -r requirements/main.lock
COPY pyproject.toml README.md ./
COPY orchestrator ./orchestrator
# --no-deps: every runtime dependency came from the lock above. (pip fetches the build
# backend, setuptools, into an isolated build environment; it is not installed in the image.)
RUN /opt/orchestrator/bin/pip install --no-deps . \
 && /opt/orchestrator/bin/orchestrator --help > /dev/null

FROM python:3.11-slim
ENV PATH=/opt/orchestrator/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SHARINGTOOLS_STATE_DB=/var/lib/orchestrator/state.db
RUN groupadd --system --gid 10001 orchestrator \
 && useradd --system --uid 10001 --gid orchestrator --home-dir /home/orchestrator --create-home orchestrator \
 && mkdir -p /var/lib/orchestrator /playbooks \
 && chown orchestrator:orchestrator /var/lib/orchestrator
COPY --from=build /opt/orchestrator /opt/orchestrator
USER 10001:10001
WORKDIR /home/orchestrator
# The journal, history and run lock live here: mount a volume (one state database per shard).
VOLUME ["/var/lib/orchestrator"]
ENTRYPOINT ["orchestrator"]
CMD ["--help"]
