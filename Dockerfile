# hygge in a container, for cron jobs and orchestrators that run images.
#   docker build -t hygge --build-arg EXTRAS=postgres,s3 .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/project" hygge go
# EXTRAS names the pip extras to install (duckdb, postgres, mysql, mssql, delta, s3, azure, gcs),
# comma-separated; empty: file homes and stores, SQLite and open mirroring only.
ARG PYTHON_VERSION=3.12
FROM python:${PYTHON_VERSION}-slim

ARG EXTRAS=duckdb
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# libltdl7: what the mssql extra's driver (mssql-python) needs from the system; small.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libltdl7 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md LICENSE /tmp/hygge/
COPY src /tmp/hygge/src
RUN python -m pip install "/tmp/hygge${EXTRAS:+[$EXTRAS]}" \
    && rm -rf /tmp/hygge \
    && useradd --create-home --uid 10001 hygge

USER hygge
WORKDIR /project
ENTRYPOINT ["hygge"]
CMD ["--help"]
