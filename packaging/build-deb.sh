#!/usr/bin/env bash
# `make deb`: build two Debian packages with dpkg-deb into build/deb/:
#   ferrule-dkms_<ver>_all.deb     module source in /usr/src/ferrule-<ver>/ + dkms.conf;
#                                  postinst: dkms add/build/install, prerm: dkms remove
#   ferrule-tools_<ver>_<arch>.deb the ferrule CLI (release build), ferrule.service and
#                                  /usr/lib/ferrule/ferrule-boot, man page, completions, docs
# Two packages because one is architecture-independent source and the other a compiled binary
# (an _all package must not carry an amd64 executable); the CLI is also useful on its own
# with a module built by hand (make KDIR=...).
#   packaging/build-deb.sh [--out DIR] [--only dkms|tools]
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/deb only=
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    *) echo "usage: packaging/build-deb.sh [--out DIR] [--only dkms|tools]" >&2; exit 2 ;;
  esac
done
ver=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"/\1/p' Cargo.toml)
[ -n "$ver" ] || { echo "build-deb: no version in Cargo.toml" >&2; exit 1; }
dk=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
[ "$dk" = "$ver" ] || { echo "build-deb: dkms.conf PACKAGE_VERSION=$dk but Cargo.toml says $ver" >&2; exit 1; }
maint="Ferrule developers <ferrule@localhost>"
mkdir -p "$out"; out=$(cd "$out" && pwd)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

finish_pkg() { # DIR: Installed-Size, md5sums, permissions; then dpkg-deb --build
  local d=$1 size
  size=$(du -sk --exclude=DEBIAN "$d" | cut -f1)
  sed -i "s/^Installed-Size: .*/Installed-Size: $size/" "$d/DEBIAN/control"
  (cd "$d" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 -r md5sum) > "$d/DEBIAN/md5sums"
  chmod 0755 "$d/DEBIAN"; chmod 0644 "$d/DEBIAN/control" "$d/DEBIAN/md5sums"
  for s in postinst prerm postrm; do [ -f "$d/DEBIAN/$s" ] && chmod 0755 "$d/DEBIAN/$s"; done
  dpkg-deb --root-owner-group -Zxz --build "$d" "$out" >/dev/null
}

# --- ferrule-dkms: the files Kbuild needs, as tracked (or new, not ignored) in git.
if [ "$only" != tools ]; then
  d=$work/dkms src=$work/dkms/usr/src/ferrule-$ver
  mkdir -p "$src" "$d/DEBIAN" "$d/usr/share/doc/ferrule-dkms"
  git ls-files -co --exclude-standard -- Kbuild Makefile dkms.conf README.md rust \
      scst_core/src scst_core/kernel drivers/qla2x00t/proto/src drivers/qla2x00t/kernel \
      drivers/qla2x00t/sim \
      packaging/dkms-make.sh |
    grep -v -e '\.proptest-regressions$' -e '^rust/ferrule_bindings\.rs$' |
    while IFS= read -r f; do [ -f "$f" ] && install -D -m 0644 "$f" "$src/$f"; done
  chmod 0755 "$src/packaging/dkms-make.sh"
  install -m 0644 /dev/null "$d/usr/share/doc/ferrule-dkms/copyright"
  echo "Ferrule: GPL-2.0-only (see /usr/share/common-licenses/GPL-2)." > "$d/usr/share/doc/ferrule-dkms/copyright"
  cat > "$d/DEBIAN/control" <<CTL
Package: ferrule-dkms
Version: $ver
Architecture: all
Maintainer: $maint
Installed-Size: 0
Depends: dkms (>= 3), make
Recommends: ferrule-tools
Section: kernel
Priority: optional
Description: Ferrule Fibre Channel SCSI target kernel module (DKMS source)
 ferrule.ko, an SCST-style SCSI target core and QLogic ISP24xx-28xx target driver
 written in Rust-for-Linux, rebuilt by DKMS for each installed kernel. Requires a
 kernel built with CONFIG_RUST=y whose full build tree (with its Rust metadata) is
 installed, and the same rustc, clang/LLVM and bindgen that built it.
CTL
  cat > "$d/DEBIAN/postinst" <<SH
#!/bin/sh
set -e
[ "\$1" = configure ] || exit 0
dkms status -m ferrule -v $ver | grep -q . || dkms add -m ferrule -v $ver
k=\$(uname -r)
if [ ! -e /lib/modules/\$k/build/rust/libkernel.rmeta ]; then
  echo "ferrule-dkms: /lib/modules/\$k/build is not a Rust-capable kernel build tree; ferrule.ko" >&2
  echo "ferrule-dkms: was not built. See /usr/share/doc/ferrule-tools/admin-guide.md (Kernel requirements)," >&2
  echo "ferrule-dkms: then: dkms install -m ferrule -v $ver -k <kernel>" >&2
  exit 0
fi
# A failed build must not leave the package unconfigured: the admin fixes the toolchain and
# runs dkms install again (the message says why it failed).
dkms install -m ferrule -v $ver -k "\$k" || echo "ferrule-dkms: dkms install failed; see above and /var/lib/dkms/ferrule/$ver/build/make.log" >&2
exit 0
SH
  cat > "$d/DEBIAN/prerm" <<SH
#!/bin/sh
set -e
case "\$1" in remove|upgrade|deconfigure) dkms remove -m ferrule -v $ver --all || true ;; esac
exit 0
SH
  finish_pkg "$d"
  echo "$out/ferrule-dkms_${ver}_all.deb"
fi

# --- ferrule-tools: CLI (release), service, boot helper, docs.
if [ "$only" != dkms ]; then
  cargo build -q --release --locked -p ferrule
  tdir=$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
  arch=$(dpkg --print-architecture)
  d=$work/tools doc=$work/tools/usr/share/doc/ferrule-tools
  mkdir -p "$d/DEBIAN"
  install -D -m 0755 "$tdir/release/ferrule" "$d/usr/sbin/ferrule"
  strip "$d/usr/sbin/ferrule"
  install -D -m 0755 packaging/ferrule-boot "$d/usr/lib/ferrule/ferrule-boot"
  install -D -m 0644 packaging/systemd/ferrule.service "$d/usr/lib/systemd/system/ferrule.service"
  install -D -m 0644 packaging/default/ferrule "$d/etc/default/ferrule"
  install -d -m 0755 "$d/etc/ferrule"
  install -d -m 0700 "$d/var/lib/ferrule/pr"   # APTPL reservation images (the kernel writes them)
  install -D -m 0644 Documentation/man/ferrule.8 "$d/usr/share/man/man8/ferrule.8"
  gzip -9n "$d/usr/share/man/man8/ferrule.8"
  install -D -m 0644 tools/ferrule/completions/ferrule.bash "$d/usr/share/bash-completion/completions/ferrule"
  install -D -m 0644 tools/ferrule/completions/ferrule.zsh "$d/usr/share/zsh/vendor-completions/_ferrule"
  install -D -m 0644 tools/ferrule/completions/ferrule.fish "$d/usr/share/fish/vendor_completions.d/ferrule.fish"
  for f in Documentation/admin-guide.md Documentation/troubleshooting.md Documentation/configfs.md \
           Documentation/design.md; do
    [ -f "$f" ] && install -D -m 0644 "$f" "$doc/$(basename "$f")"
  done
  install -D -m 0644 tools/ferrule/examples/ferrule.toml "$doc/examples/ferrule.toml"
  install -D -m 0644 tools/ferrule/examples/local.toml "$doc/examples/local.toml"
  echo "Ferrule: GPL-2.0-only (see /usr/share/common-licenses/GPL-2)." > "$doc/copyright"
  echo /etc/default/ferrule > "$d/DEBIAN/conffiles"
  cat > "$d/DEBIAN/control" <<CTL
Package: ferrule-tools
Version: $ver
Architecture: $arch
Maintainer: $maint
Installed-Size: 0
Depends: libc6, kmod
Recommends: ferrule-dkms
Section: admin
Priority: optional
Description: Ferrule Fibre Channel SCSI target: admin CLI and boot service
 The ferrule command (status, sessions, devices, declarative apply/save/check of
 the configfs tree, import from SCST and targetcli) and ferrule.service, which
 loads the module and applies /etc/ferrule/ferrule.toml at boot. The service is
 not enabled on install: systemctl enable --now ferrule.
CTL
  cat > "$d/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
SH
  cat > "$d/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
exit 0
SH
  chmod 0644 "$d/DEBIAN/conffiles"
  finish_pkg "$d"
  echo "$out/ferrule-tools_${ver}_${arch}.deb"
fi
