# The queue worker image: `agentfleet-worker`, the sidecar beside vLLM in every inference
# pod. Build it from the repository root and push it where your nodes pull from:
#
#   docker build -t <account>.dkr.ecr.<region>.amazonaws.com/agentfleet-worker:0.1.0 .
#   docker push <account>.dkr.ecr.<region>.amazonaws.com/agentfleet-worker:0.1.0
#
# then set `agentfleet:fleet.worker.image` to that name.

ARG PYTHON=python:3.11-slim-bookworm

FROM ${PYTHON} AS build
WORKDIR /src
# Exactly the reviewed releases, each file checked against its hash (requirements-worker.lock,
# resolved from requirements-worker.txt by `python3 tasks.py lock`).
COPY requirements-worker.lock ./
RUN pip install --no-cache-dir --root-user-action=ignore --prefix=/install \
        --require-hashes -r requirements-worker.lock
# Only what the worker runs: the queue bridge and the facts it shares with the components.
# pyproject.toml finds the packages that are there, so the others are simply absent.
COPY pyproject.toml README.md ./
COPY facts ./facts
COPY bridge ./bridge
RUN pip install --no-cache-dir --root-user-action=ignore --prefix=/install --no-deps . \
    && rm /install/bin/agentfleet

FROM ${PYTHON}
COPY --from=build /install /usr/local
# The same user the pod's security context names (facts/worker.py RUN_AS).
USER 10001:10001
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
EXPOSE 8081
ENTRYPOINT ["agentfleet-worker"]
