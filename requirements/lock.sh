#!/bin/sh
# Regenerate the lock files (`make lock`).  One resolution of every group
# together (all.txt) fixes each package's version; each group's file is that
# resolution cut down to what the group needs, with the hash of every
# distribution file, so `make` installs exactly these bytes.
set -eu
cd "$(dirname "$0")"
UV=${UV:-uv}
C="$UV pip compile --universal --python-version 3.11 --quiet --no-header"
$C ../pyproject.toml --all-extras build.in -c constraints.in --no-annotate -o all.txt
$C uv.in --generate-hashes -o uv.txt
$C build.in -c all.txt --generate-hashes -o build.txt
$C ../pyproject.toml -c all.txt --generate-hashes -o run.txt
for group in test lab bench; do
    $C ../pyproject.toml --extra "$group" -c all.txt --generate-hashes -o "$group.txt"
done
