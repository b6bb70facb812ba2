# Ferrule — developer entry points. (Kbuild reads the file `Kbuild`, never this one.)
#
#   make demo        the main demo: boot the test VM and show Ferrule loaded (README)
#   make test        the full test suite; ends with "N passed, N failed" (README, CI)
#   make             build ferrule.ko against the cached test kernel (or KDIR=...)
#   make test-debug  the VM suite on the debug kernel (KASAN, lockdep, kmemleak)
#   make bench       Ferrule vs LIO fio benchmark in the VM (Documentation/performance.md)
#   make bootstrap   install toolchain + kernel source (every target above runs it)
#   make kernel      build the cached test kernel
#   make cli-docs    regenerate the ferrule(8) man page and shell completions from the CLI
#   make deb         build/deb/ferrule-dkms_<ver>_all.deb + ferrule-tools_<ver>_<arch>.deb
#
# KDIR=/path/to/kernel/build/tree builds against any CONFIG_RUST kernel build tree built by
# the same rustc (pass RUSTC=... LLVM=... as that tree was built with).

SHELL := /bin/bash
ROOT := $(CURDIR)
# Warnings are errors in CI and in `make test`; WERROR=0 relaxes that for other kernels.
WERROR ?= $(if $(CI),1,0)
LLVM ?= -19
RUSTC ?= /usr/bin/rustc
BINDGEN ?= $(HOME)/.cargo/bin/bindgen
KBUILD_WFLAGS := $(if $(filter 1,$(WERROR)),KCFLAGS=-Werror KRUSTFLAGS=-Dwarnings)

.PHONY: all module bootstrap kernel kernel-debug test test-debug demo bench host-test clean help cli-docs deb

all: module

help:
	@sed -n '2,15p' Makefile

bootstrap:
	@bash scripts/bootstrap.sh

kernel: bootstrap
	@bash scripts/build-kernel.sh default >/dev/null

kernel-debug: bootstrap
	@bash scripts/build-kernel.sh debug >/dev/null

ifeq ($(KDIR),)
module: kernel
	@$(MAKE) --no-print-directory module-build KDIR=$$(bash scripts/build-kernel.sh default)
else
module:
	@$(MAKE) --no-print-directory module-build
endif

.PHONY: module-build
module-build:
	$(MAKE) -C $(KDIR) M=$(ROOT) LLVM=$(LLVM) RUSTC=$(RUSTC) RUSTDOC=$(dir $(RUSTC))rustdoc \
		BINDGEN=$(BINDGEN) $(KBUILD_WFLAGS) modules

test:
	@bash scripts/test.sh

test-debug:
	@bash scripts/test.sh --debug

demo:
	@bash scripts/demo.sh

# Not a test: numbers, not pass/fail. BENCH_ARGS e.g. "--update-doc --runs 5".
bench: module
	@bash scripts/bench-lio.sh $(BENCH_ARGS)

host-test:
	cargo test --workspace

# Generated from the clap definition in tools/ferrule/src/cli.rs; commit the results.
cli-docs:
	cargo build -q -p ferrule
	mkdir -p Documentation/man tools/ferrule/completions
	$$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/ferrule manpage > Documentation/man/ferrule.8
	for sh in bash zsh fish; do \
		$$(cargo metadata -q --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')/debug/ferrule completions $$sh \
			> tools/ferrule/completions/ferrule.$$sh; done

# Packages (Documentation/admin-guide.md); `make test` proves a DKMS build of ferrule-dkms.
deb:
	@bash packaging/build-deb.sh

clean:
	@if [ -n "$(KDIR)" ]; then $(MAKE) -C $(KDIR) M=$(ROOT) clean; fi
	find . -path ./target -prune -o \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o \
		-name '*.mod.c' -o -name '.*.cmd' -o -name '*.rmeta' -o -name '*.d' \) -print0 | xargs -0 rm -f
	rm -f modules.order Module.symvers
	rm -rf build
