#!/usr/bin/env bash
# Build LAMMPS with pair_style quip (ML-QUIP) into PREFIX/bin/lmp, from registry sources only:
#   - LAMMPS 4Feb2025: Debian's source package lammps 20250204+dfsg.1 (its .orig tarball, checked by sha256),
#   - QUIP/GAP: the libraries inside the quippy-ase 0.10.3 wheel from PyPI (libPotentials exports the
#     quip_lammps_* functions pair_style quip calls), copied to PREFIX/lib/quip, plus a one-function stub for
#     f90wrap_abort, which those libraries expect from quippy's Python extension.
# So LAMMPS and gstorder.md.gap() (quippy) evaluate the very same GAP code.
#
# Usage: tools/build_lammps_quip.sh [--install-deps] PREFIX
#   --install-deps   first apt-get install the Debian packages the build needs (as root)
# Environment: JOBS (parallel compile jobs, default 2), PYTHON (default python3), GSTORDER_BUILD_CACHE (where
#   the downloads and the build tree go, default ${XDG_CACHE_HOME:-$HOME/.cache}/gstorder/lammps-quip-build),
#   LAMMPS_TARBALL (a copy of lammps_20250204+dfsg.1.orig.tar.xz, if apt-get cannot reach Debian).
# Idempotent: a PREFIX holding a working lmp built by this script with the same pins is left alone.
# Takes 4-8 min on 2 cores (compiling LAMMPS' core); the build tree is removed afterwards.
set -euo pipefail

LAMMPS_DEB_VERSION="20250204+dfsg.1"       # Debian source package lammps (trixie), upstream 4Feb2025
LAMMPS_ORIG_SHA256="3671165bd52fad36734e0a9136c5bc5ecb225e03988f8c89aa13366a8b53b1c7"
LAMMPS_DIR="lammps-4Feb2025"
QUIPPY_VERSION="0.10.3"                     # quippy-ase wheel whose libraries provide QUIP/GAP
DEBIAN_SUITE="trixie"                       # where Debian keeps that source package
BUILD_REV=2                                 # bump when the build recipe below changes
DEB_PACKAGES="cmake make g++ gfortran libopenblas-dev mpich libmpich-dev xz-utils binutils"

die() { echo "build_lammps_quip: error: $*" >&2; exit 1; }
say() { echo "build_lammps_quip: $*" >&2; }

install_deps=0
if [ "${1:-}" = "--install-deps" ]; then install_deps=1; shift; fi
[ $# -eq 1 ] || die "usage: $0 [--install-deps] PREFIX   (installs PREFIX/bin/lmp)"
mkdir -p "$1" || die "cannot create PREFIX $1"
PREFIX=$(cd "$1" && pwd)
JOBS=${JOBS:-2}
CACHE=${GSTORDER_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gstorder/lammps-quip-build}
PYTHON=${PYTHON:-python3}
STAMP="$PREFIX/.gstorder-lammps-quip"
WANT="lammps=$LAMMPS_DEB_VERSION sha256=$LAMMPS_ORIG_SHA256 quippy-ase=$QUIPPY_VERSION recipe=$BUILD_REV"

works() {  # the installed lmp runs and has pair_style quip (its help, read whole: grep -q would cut the pipe)
  local styles
  [ -x "$PREFIX/bin/lmp" ] && [ -x "$PREFIX/bin/mpirun" ] && styles=$("$PREFIX/bin/lmp" -h 2>/dev/null) \
    && grep -qw quip <<<"$styles"
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && works; then
  say "up to date: $PREFIX/bin/lmp ($WANT)"
  exit 0
fi

if [ "$install_deps" = 1 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "--install-deps needs root and apt-get (Debian/Ubuntu)"
  say "installing Debian packages: $DEB_PACKAGES"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $DEB_PACKAGES >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $DEB_PACKAGES >/dev/null; } \
    || die "apt-get install $DEB_PACKAGES failed"
fi

# --- tools -----------------------------------------------------------------------------------------------------------
missing=()
need() { command -v "$1" >/dev/null 2>&1 || missing+=("$1 (Debian package $2)"); }
need cmake cmake; need make make; need gcc gcc; need g++ g++; need gfortran gfortran; need mpicxx libmpich-dev
need xz xz-utils; need tar tar; need sha256sum coreutils; need nm binutils
# MPI: the system's (a Python environment may put the mpich wheel's wrappers first on PATH)
MPICXX=${MPICXX:-$( [ -x /usr/bin/mpicxx ] && echo /usr/bin/mpicxx || command -v mpicxx || true)}
MPIRUN=${MPIRUN:-$(dirname "${MPICXX:-/usr/bin/mpicxx}")/mpirun}
[ -n "$MPICXX" ] && [ -x "$MPICXX" ] || missing+=("mpicxx (Debian package libmpich-dev)")
[ -x "$MPIRUN" ] || missing+=("mpirun beside $MPICXX (Debian package mpich)")
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python
command -v "$PYTHON" >/dev/null 2>&1 || missing+=("python3 with pip (set PYTHON=...)")
if [ ${#missing[@]} -gt 0 ]; then
  die "missing tools: ${missing[*]}; on Debian/Ubuntu run this script with --install-deps as root, or apt-get install $DEB_PACKAGES"
fi
cmake_version=$(cmake --version | awk 'NR==1{print $3}')
[ "$(printf '%s\n3.16\n' "$cmake_version" | sort -V | head -1)" = 3.16 ] || die "cmake >= 3.16 needed, found $cmake_version"
"$PYTHON" -m pip --version >/dev/null 2>&1 || die "$PYTHON has no pip (needed to download the quippy-ase wheel)"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9 2>/dev/null || true  # one build at a time per cache (flock is in util-linux; without it, no lock)

# --- LAMMPS source: Debian's source package, checked by its sha256 ------------------------------------------------
tarball="$CACHE/lammps_${LAMMPS_DEB_VERSION}.orig.tar.xz"
checksum_ok() { [ -f "$1" ] && [ "$(sha256sum "$1" | awk '{print $1}')" = "$LAMMPS_ORIG_SHA256" ]; }
if ! checksum_ok "$tarball"; then
  if [ -n "${LAMMPS_TARBALL:-}" ]; then
    checksum_ok "$LAMMPS_TARBALL" || die "LAMMPS_TARBALL=$LAMMPS_TARBALL is not lammps_${LAMMPS_DEB_VERSION}.orig.tar.xz (sha256 differs or missing)"
    cp "$LAMMPS_TARBALL" "$tarball.part" && mv "$tarball.part" "$tarball"
  else
    command -v apt-get >/dev/null 2>&1 || die "apt-get not found: download lammps_${LAMMPS_DEB_VERSION}.orig.tar.xz (Debian source package lammps) and set LAMMPS_TARBALL"
    keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    [ -f "$keyring" ] || die "$keyring missing (Debian package debian-archive-keyring)"
    # the Debian archive this machine's apt already uses (its main suite, not -security or -updates)
    archive=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 2>/dev/null \
              | awk '$2 !~ /-/ && $3 == "main" {print $1; exit}' || true)
    [ -n "$archive" ] || die "apt has no Debian archive configured (main component): set LAMMPS_TARBALL"
    say "downloading Debian's LAMMPS source package $LAMMPS_DEB_VERSION ($DEBIAN_SUITE, ~130 MB, from $archive)"
    apt_dir="$CACHE/apt"  # a private source list: the machine's apt configuration is left as it is
    rm -rf "$apt_dir" && mkdir -p "$apt_dir/lists/partial" "$apt_dir/get"
    echo "deb-src [signed-by=$keyring] $archive $DEBIAN_SUITE main" > "$apt_dir/sources.list"
    apt_opts=(-q -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o "Dir::Etc::SourceParts=$apt_dir/none"
              -o "Dir::State::Lists=$apt_dir/lists" -o "APT::Sandbox::User=root")
    apt-get "${apt_opts[@]}" update >"$apt_dir/update.log" 2>&1 \
      || die "apt-get update of the $DEBIAN_SUITE source index failed (see $apt_dir/update.log)"
    version=$(apt-cache "${apt_opts[@]}" showsrc lammps 2>/dev/null | awk '/^Version: /{print $2}' \
              | grep -F "$LAMMPS_DEB_VERSION-" | sort -V | tail -1 || true)
    [ -n "$version" ] || die "Debian $DEBIAN_SUITE has no source package lammps $LAMMPS_DEB_VERSION-*; set LAMMPS_TARBALL"
    # apt checks every file against the signed index; the .dsc may be missing from a mirror, the tarball is what counts
    (cd "$apt_dir/get" && apt-get "${apt_opts[@]}" source --download-only "lammps=$version" >"$apt_dir/source.log" 2>&1) || true
    got="$apt_dir/get/lammps_${LAMMPS_DEB_VERSION}.orig.tar.xz"
    checksum_ok "$got" || die "could not download lammps_${LAMMPS_DEB_VERSION}.orig.tar.xz with the pinned sha256 (see $apt_dir/source.log)"
    mv "$got" "$tarball"
    rm -rf "$apt_dir"
  fi
fi

# --- QUIP: the quippy-ase wheel's libraries -----------------------------------------------------------------------------
wheels="$CACHE/wheels"
mkdir -p "$wheels"
wheel=$(ls "$wheels"/quippy_ase-"$QUIPPY_VERSION"-*.whl 2>/dev/null | head -1 || true)
if [ -z "$wheel" ]; then
  say "downloading the quippy-ase $QUIPPY_VERSION wheel"
  "$PYTHON" -m pip download -q --no-deps --only-binary=:all: -d "$wheels" "quippy-ase==$QUIPPY_VERSION" \
    || die "pip could not download quippy-ase==$QUIPPY_VERSION"
  wheel=$(ls "$wheels"/quippy_ase-"$QUIPPY_VERSION"-*.whl | head -1)
fi
quip_lib="$PREFIX/lib/quip"
rm -rf "$quip_lib.part" && mkdir -p "$quip_lib.part"
"$PYTHON" - "$wheel" "$quip_lib.part" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    for name in wheel.namelist():
        if name.startswith("quippy_ase.libs/") and not name.endswith("/"):
            target = os.path.join(sys.argv[2], os.path.basename(name))
            with wheel.open(name) as src, open(target, "wb") as dst:
                dst.write(src.read())
EOF
potentials=$(ls "$quip_lib.part"/libPotentials-*.so 2>/dev/null | head -1 || true)
[ -n "$potentials" ] || die "the quippy-ase wheel $wheel holds no quippy_ase.libs/libPotentials-*.so"
nm -D --defined-only "$potentials" | grep -qw quip_lammps_wrapper \
  || die "$potentials does not export quip_lammps_wrapper: this quippy-ase cannot serve pair_style quip"
rm -rf "$quip_lib" && mv "$quip_lib.part" "$quip_lib"
potentials="$quip_lib/$(basename "$potentials")"

# --- build ------------------------------------------------------------------------------------------------------------
work="$CACHE/work"
rm -rf "$work" && mkdir -p "$work"
say "unpacking LAMMPS into $work"
tar -C "$work" -xJf "$tarball" "$LAMMPS_DIR/cmake" "$LAMMPS_DIR/src" "$LAMMPS_DIR/LICENSE" \
  || die "unpacking $tarball failed"
# libAtoms calls f90wrap_abort(message) on a fatal QUIP error; quippy's extension defines it, LAMMPS gets this stub.
cat > "$work/f90wrap_abort_stub.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
void f90wrap_abort_(const char *message, long length) {
  fprintf(stderr, "QUIP error: %.*s\n", (int)length, message);
  fflush(stderr);
  exit(1);
}
EOF
gcc -O2 -fPIC -c "$work/f90wrap_abort_stub.c" -o "$work/f90wrap_abort_stub.o"
say "configuring (log: $work/cmake.log)"
cmake -S "$work/$LAMMPS_DIR/cmake" -B "$work/build" \
  -D CMAKE_BUILD_TYPE=Release -D CMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
  -D BUILD_MPI=yes -D MPI_CXX_COMPILER="$MPICXX" -D MPI_C_COMPILER="$(dirname "$MPICXX")/mpicc" -D BUILD_OMP=no -D BUILD_SHARED_LIBS=no -D BUILD_TOOLS=no \
  -D WITH_JPEG=no -D WITH_PNG=no -D WITH_FFMPEG=no -D WITH_GZIP=yes -D WITH_CURL=no \
  -D PKG_ML-QUIP=yes -D DOWNLOAD_QUIP=no -D QUIP_LIBRARY="$potentials" \
  -D CMAKE_EXE_LINKER_FLAGS="$work/f90wrap_abort_stub.o" \
  -D CMAKE_BUILD_WITH_INSTALL_RPATH=yes -D CMAKE_INSTALL_RPATH='$ORIGIN/../lib/quip' \
  >"$work/cmake.log" 2>&1 || { tail -30 "$work/cmake.log" >&2; die "cmake configure failed (log: $work/cmake.log)"; }
say "compiling with $JOBS jobs (log: $work/build.log)"
cmake --build "$work/build" -j "$JOBS" >"$work/build.log" 2>&1 \
  || { tail -30 "$work/build.log" >&2; die "compilation failed (log: $work/build.log)"; }
mkdir -p "$PREFIX/bin"
cp "$work/build/lmp" "$PREFIX/bin/lmp.part" && mv "$PREFIX/bin/lmp.part" "$PREFIX/bin/lmp"
# the launcher of the MPI lmp was linked with (a wrapper, not a link: hydra finds its proxy beside its own path)
printf '#!/bin/sh\nexec %q "$@"\n' "$MPIRUN" > "$PREFIX/bin/mpirun.part"
chmod +x "$PREFIX/bin/mpirun.part" && mv "$PREFIX/bin/mpirun.part" "$PREFIX/bin/mpirun"
works || die "the new $PREFIX/bin/lmp does not run or has no pair_style quip"
echo "$WANT" > "$STAMP"
rm -rf "$work"
say "built $PREFIX/bin/lmp (LAMMPS 4Feb2025 + ML-QUIP from quippy-ase $QUIPPY_VERSION)"
