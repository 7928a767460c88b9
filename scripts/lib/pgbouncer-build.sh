#!/usr/bin/env bash
# pgbouncer-build.sh PREFIX: builds PgBouncer 1.24.1 from Debian 13's source package (upstream
# tarball plus Debian's security patches, both checked against pinned SHA-256 sums) and installs it
# into PREFIX (PREFIX/bin/pgbouncer).
#
# Why: the services run their hot reads as named prepared statements, which PgBouncer tracks in
# transaction mode only from 1.21 on (`max_prepared_statements`); Debian 12 packages 1.18.
# Needs gcc, make, patch, pkg-config, xz-utils, curl and the libevent, c-ares and OpenSSL headers
# (scripts/lib/servers.sh installs them). HDMS_DEBIAN_MIRROR overrides http://deb.debian.org/debian.
set -euo pipefail
prefix=${1:?usage: pgbouncer-build.sh PREFIX}
version=1.24.1
debian_revision=1+deb13u2
orig=pgbouncer_$version.orig.tar.gz
orig_sha256=da72a3aba13072876d055a3e58dd4aba4a5de4ed6148e73033185245598fd3e0
patches=pgbouncer_$version-$debian_revision.debian.tar.xz
patches_sha256=2325bcaa2e71919d399b9e5aef5b94ff988fc1f1d296908c3937b682b7be5cbb
pool=${HDMS_DEBIAN_MIRROR:-http://deb.debian.org/debian}/pool/main/p/pgbouncer

log() { printf 'pgbouncer-build: %s\n' "$*" >&2; }

work=$(mktemp -d /tmp/pgbouncer-build.XXXXXX)
trap 'rm -rf "$work"' EXIT

fetch() {
    local file=$1 sha256=$2
    curl -fsS --retry 3 --retry-delay 2 --max-time 120 -o "$work/$file" "$pool/$file" || return 1
    echo "$sha256  $work/$file" | sha256sum --check --quiet - || { log "$file: checksum mismatch"; exit 1; }
}

log "building PgBouncer $version into $prefix"
fetch "$orig" "$orig_sha256" || { log "could not download $pool/$orig"; exit 1; }
mkdir "$work/src"
tar -xzf "$work/$orig" -C "$work/src" --strip-components=1
# Debian replaces a revision's patch tarball when it publishes the next one; without it the build
# is upstream's release alone, which still supports prepared statements.
if fetch "$patches" "$patches_sha256"; then
    tar -xJf "$work/$patches" -C "$work/src"
    while read -r patch; do
        [[ -n $patch && $patch != \#* ]] || continue
        patch -d "$work/src" -p1 --quiet <"$work/src/debian/patches/$patch"
    done <"$work/src/debian/patches/series"
else
    log "warning: $patches is no longer in the archive; building upstream $version without Debian's patches"
fi

cd "$work/src"
# With c-ares, as Debian builds it: libevent's own resolver, used without it, could not resolve the
# compose network's host names under podman's DNS server ("DNS lookup failed: postgres").
./configure --prefix="$prefix.partial" --with-cares --without-pam --without-systemd --without-ldap >"$work/configure.log" 2>&1 \
    || { tail -n 30 "$work/configure.log" >&2; exit 1; }
make -j"$(nproc)" >"$work/make.log" 2>&1 || { tail -n 30 "$work/make.log" >&2; exit 1; }
rm -rf "$prefix.partial"
make install >"$work/install.log" 2>&1 || { tail -n 30 "$work/install.log" >&2; exit 1; }
"$prefix.partial/bin/pgbouncer" --version >/dev/null
rm -rf "$prefix"
mv "$prefix.partial" "$prefix"
