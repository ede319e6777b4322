# syntax=docker/dockerfile:1
# One image for the three processes of the Procfile: `mlops-compass serve` (the default command),
# `mlops-compass worker` and `mlops-compass clock`. compose.yaml runs them; docs/operations.md#deploying.

# Python 3.11 is the interpreter CI runs, and constraints.txt pins the versions resolved for it.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/mlops-compass
WORKDIR /src
COPY pyproject.toml constraints.txt README.md ./
COPY question_banks ./question_banks
COPY bot ./bot
COPY playground ./playground
# The exact versions CI tests. The project is built here, with a build backend that stays in this stage.
RUN /opt/mlops-compass/bin/pip install -c constraints.txt .

FROM python:3.11-slim
# A system user of its own, with no home and no shell: the processes write nowhere but /tmp.
RUN useradd --system --user-group --uid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin mlops-compass
COPY --from=build /opt/mlops-compass /opt/mlops-compass
ENV PATH=/opt/mlops-compass/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib
USER mlops-compass
EXPOSE 3000
# The web process's own check: 200 when it answers and Redis does. The worker and the clock answer no
# HTTP, so compose.yaml turns this off for them.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/health', timeout=4)"]
CMD ["mlops-compass", "serve"]
