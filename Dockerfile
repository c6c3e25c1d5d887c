# The reproduction in a container: `docker build -t reproduce . && docker run --rm reproduce`
# executes every notebook and prints the paper-vs-model table and the verdict.  Copy the
# results out with e.g. `docker run --rm -v "$PWD/out:/out" reproduce sh -c
# 'make reproduce && cp -r figures data/results /out'`.
#
# Python 3.11, the version the lock files were resolved for and the committed outputs made
# with; the dependencies come from requirements/*.txt (exact versions, hash-checked).
FROM python:3.11-slim

RUN apt-get update \
    && apt-get install -y --no-install-recommends make \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /artifact
COPY . .

# The run group only (what `make reproduce` needs), installed at build time so that a
# container start does no network access.
RUN make .venv/.run

CMD ["make", "reproduce"]
