"""The kernel image and its linker: section placement, the one-page limit of
.cpulocal, the UP build, code packages and the address-space layout."""
from __future__ import annotations

import pytest

from reproduce.errors import ConfigError
from reproduce.kernel.image import (CODE_BASE, CODE_LIMIT, CPULOCAL_PDX, CPULOCAL_SIZE,
                                    CPULOCAL_VA, CPULOCAL_VARS, KERNBASE, KSTACK_BASE,
                                    KSTACK_LIMIT, KSTACK_STRIDE, MAX_CPUS, USTACK_BASE,
                                    USTACK_TOP, UTOP, Linker, default_image,
                                    find_package, link_code_packages, region_of)
from reproduce.machine.memory import PGSIZE
from reproduce.machine.mmu import PDX


def test_mp_image_places_cpulocal_vars_in_the_fixed_page():
    img = default_image(mp=True)
    sec = img.section(".cpulocal")
    assert sec.va == CPULOCAL_VA and sec.va % PGSIZE == 0
    assert sec.size <= CPULOCAL_SIZE
    for name, size in CPULOCAL_VARS:
        sym = img.symbol(name)
        assert sym.section == ".cpulocal" and sym.per_cpu
        assert CPULOCAL_VA <= sym.va and sym.end <= CPULOCAL_VA + CPULOCAL_SIZE
        assert sym.va % sym.align == 0
    assert set(img.per_cpu_names) == {n for n, _ in CPULOCAL_VARS}
    # the kernel stack is not in the CPU-local page, only a pointer to it
    assert "kstack_top" in img.per_cpu_names
    assert sec.size < 128 * 1024


def test_sections_are_page_aligned_and_in_order():
    img = default_image(mp=True)
    text, data, bss = (img.section(s) for s in (".text", ".data", ".bss"))
    assert text.va == KERNBASE
    assert data.va % PGSIZE == 0 and data.va >= text.end
    assert bss.va % PGSIZE == 0 and bss.va >= data.end
    assert not text.writable and data.writable and bss.writable
    assert img.phys_end == (bss.end + PGSIZE - 1) // PGSIZE * PGSIZE - KERNBASE
    # symbols do not overlap and respect their alignment
    syms = sorted(img.symbols.values(), key=lambda s: s.va)
    for a, b in zip(syms, syms[1:]):
        assert a.end <= b.va
    assert img.symbol("giant_lock").va % 32 == 0


def test_up_build_has_no_cpulocal_section():
    img = default_image(mp=False)
    assert ".cpulocal" not in img.sections
    with pytest.raises(ConfigError, match="no section '.cpulocal'"):
        img.section(".cpulocal")
    for name, _ in CPULOCAL_VARS:
        sym = img.symbol(name)
        assert sym.section == ".data" and sym.per_cpu
        assert KERNBASE <= sym.va < KSTACK_BASE


def test_cpulocal_over_one_page_is_a_link_error():
    ld = Linker(mp=True)
    ld.declare("runqueue", 4000, ".cpulocal", 4)
    ld.declare("stats", 100, ".cpulocal", 4)
    with pytest.raises(ConfigError, match=r"\.cpulocal is 4100 bytes.*4096-byte limit"):
        ld.link()
    # exactly one page links
    ld = Linker(mp=True)
    ld.declare("page", PGSIZE, ".cpulocal", 4)
    assert ld.link().section(".cpulocal").size == PGSIZE
    # the 128 KiB kernel stack cannot be CPU-local (section 3.2)
    with pytest.raises(ConfigError, match="131096 bytes"):
        default_image(mp=True, extra_cpulocal=[("kstack", 128 * 1024)])
    # alignment padding counts too
    ld = Linker(mp=True)
    ld.declare("a", 4, ".cpulocal", 4)
    ld.declare("b", 4092, ".cpulocal", 8)
    with pytest.raises(ConfigError, match="4100 bytes"):
        ld.link()


def test_same_oversized_declarations_link_on_up():
    ld = Linker(mp=False)
    ld.declare("runqueue", 8000, ".cpulocal", 4)
    img = ld.link()
    assert img.symbol("runqueue").section == ".data"


@pytest.mark.parametrize("args, match", [
    (("x", 0, ".data", 4), "size=0"),
    (("x", 4, ".rodata", 4), "section '.rodata'"),
    (("x", 4, ".data", 3), "align=3"),
    (("1x", 4, ".data", 4), "identifier"),
])
def test_bad_declarations(args, match):
    with pytest.raises(ConfigError, match=match):
        Linker().declare(*args)


def test_duplicate_symbol():
    ld = Linker()
    ld.declare("x", 4)
    with pytest.raises(ConfigError, match="declared twice"):
        ld.declare("x", 4, ".bss")


def test_unknown_symbol_names_the_known_ones():
    with pytest.raises(ConfigError, match="current_thread"):
        default_image().symbol("nope")


def test_code_packages_get_unique_ranges():
    pkgs = link_code_packages([("a", 5000), ("b", 64 * 1024), ("c", 1)])
    assert pkgs[0].va == CODE_BASE
    for p, q in zip(pkgs, pkgs[1:]):
        assert p.end <= q.va
    assert all(p.va % PGSIZE == 0 and p.size % PGSIZE == 0 for p in pkgs)
    assert find_package(pkgs, pkgs[1].va + 10).name == "b"
    assert find_package(pkgs, pkgs[0].end + 4) is None
    with pytest.raises(ConfigError, match="code region ends"):
        link_code_packages([("huge", CODE_LIMIT)])
    with pytest.raises(ConfigError, match="unique"):
        link_code_packages([("a", 4096), ("a", 4096)])


def test_layout_regions():
    assert USTACK_TOP - USTACK_BASE == 4 << 20 and USTACK_BASE % (4 << 20) == 0
    assert UTOP == KERNBASE
    assert MAX_CPUS * KSTACK_STRIDE <= KSTACK_LIMIT - KSTACK_BASE
    assert PDX(CPULOCAL_VA) == CPULOCAL_PDX and PDX(KSTACK_LIMIT - 1) != CPULOCAL_PDX
    assert region_of(0) == "null guard"
    assert region_of(CODE_BASE) == "code packages"
    assert region_of(USTACK_BASE) == "container stack region"
    assert region_of(USTACK_TOP) == "container private memory"
    assert region_of(KERNBASE) == "kernel image"
    assert region_of(KSTACK_BASE) == "kernel stacks"
    assert region_of(CPULOCAL_VA) == "CPU-local page"
