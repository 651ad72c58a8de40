#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hand-made seed inputs of tests/fuzz/corpus/<target>/seed-*.

Each seed follows the input layout its target's comment describes, so the
fuzzer starts from runs that reach deep states (an acknowledged interrupt, a
full RX FIFO, a three-level page walk, a machine with every plugin) instead
of discovering the encodings byte by byte.  Re-run after changing a layout:
    tests/fuzz/make-seeds.py
Regression inputs of past findings (regress-*) are committed as found.
"""
import gzip
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def put(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


u8 = lambda v: struct.pack("<B", v & 0xff)
u16 = lambda v: struct.pack("<H", v & 0xffff)
u32 = lambda v: struct.pack("<I", v & 0xffffffff)
u64 = lambda v: struct.pack("<Q", v & 0xffffffffffffffff)

# ---- gicv2 -----------------------------------------------------------------
# header: ncpus-1, lines index (0 1 32 64 224 988 31 100); then ops.
GICD = dict(CTLR=0, TYPER=1, IIDR=2, IGROUPR=3, ISENABLER=4, ICENABLER=5, ISPENDR=6,
            ICPENDR=7, ISACTIVER=8, ICACTIVER=9, IPRIORITYR=10, ITARGETSR=11, ICFGR=12,
            NSACR=13, SGIR=14, CPENDSGIR=15, SPENDSGIR=16, PIDR=17)
GICC = dict(CTLR=0, PMR=1, BPR=2, IAR=3, EOIR=4, RPR=5, HPPIR=6, ABPR=7, AIAR=8, AEOIR=9,
            AHPPIR=10, APR0=11, NSAPR0=12, IIDR=13, DIR=14)
SIZE = {4: 0, 1: 2, 2: 3, 8: 4}


def gd_w(cpu, reg, idx, val, size=4):
    return u8(0) + u8(cpu) + u8(18 + GICD[reg]) + u16(idx) + u8(SIZE[size]) + u32(val)


def gd_r(cpu, reg, idx, size=4):
    return u8(2) + u8(cpu) + u8(18 + GICD[reg]) + u16(idx) + u8(SIZE[size])


def gc_w(cpu, reg, val):
    return u8(3) + u8(cpu) + u8(30 + GICC[reg]) + u8(0) + u32(val)


def gc_r(cpu, reg):
    return u8(4) + u8(cpu) + u8(30 + GICC[reg]) + u8(0)


def g_line(line, level):
    return u8(5) + u8(0) + u16(line) + u8(level)


def g_ppi(cpu, ppi, level):
    return u8(6) + u8(cpu) + u8(ppi) + u8(level)


g_reset = u8(7) + u8(0)


def g_enable(cpu):
    return u8(8) + u8(cpu)


def g_sgi(cpu, val):
    return u8(9) + u8(cpu) + u32(val)


put("gicv2", "sgi", u8(1) + u8(2) + g_enable(0) + g_enable(1) + g_sgi(0, 0x00020003) +
    gc_r(1, "IAR") + gc_w(1, "EOIR", 3) + g_sgi(1, 0x01000005) + gc_r(0, "HPPIR") +
    gc_r(0, "IAR"))
put("gicv2", "spi-line", u8(3) + u8(3) + g_enable(0) + gd_w(0, "ITARGETSR", 40, 1, 1) +
    g_line(8, 1) + gc_r(0, "IAR") + gc_w(0, "EOIR", 40) + g_line(8, 0) +
    gd_w(0, "ICFGR", 2, 0xffffffff) + g_line(9, 1) + g_line(9, 0) + gc_r(0, "IAR"))
put("gicv2", "ppi-prio", u8(0) + u8(0) + g_enable(0) + g_ppi(0, 11, 1) + gc_w(0, "PMR", 0) +
    gd_w(0, "IPRIORITYR", 27, 0x80, 1) + gc_w(0, "PMR", 0x88) + gc_r(0, "IAR") +
    gc_r(0, "RPR") + gc_w(0, "EOIR", 27) + g_reset + g_ppi(0, 11, 0))
put("gicv2", "group1-alias", u8(1) + u8(2) + g_enable(0) + gd_w(0, "IGROUPR", 1, 0xffffffff) +
    gc_w(0, "CTLR", 0x213) + gc_w(0, "ABPR", 4) + gd_w(0, "ISPENDR", 1, 1 << 3) +
    gc_r(0, "AHPPIR") + gc_r(0, "AIAR") + gc_w(0, "AEOIR", 35) + gc_w(0, "DIR", 35) +
    gd_w(0, "SPENDSGIR", 1, 0x03, 1) + gc_r(0, "IAR"))
put("gicv2", "many-lines", u8(7) + u8(5) + g_enable(3) + gd_w(3, "ITARGETSR", 1000, 0x8, 1) +
    g_line(968, 1) + gc_r(3, "IAR") + gd_r(3, "TYPER", 0) + g_reset)

# ---- pl011 -------------------------------------------------------------------
# ops: 0 write(off u16, size, val u32) 1 read(off, size) 2 rx(n, bytes)
# 3 advance(ns u32) 4 accept 5 reset
PL_SIZE = {4: 0, 1: 1, 2: 2, 8: 3}


def pw(off, val, size=4):
    return u8(0) + u16(off) + u8(PL_SIZE[size]) + u32(val)


def pr(off, size=4):
    return u8(1) + u16(off) + u8(PL_SIZE[size])


def prx(data):
    return u8(2) + u8(len(data)) + data


def padv(ns):
    return u8(3) + u32(ns)


put("pl011", "linux-init", pw(0x30, 0) + pw(0x24, 13) + pw(0x28, 1) + pw(0x2c, 0x70) +
    pw(0x38, 0x50) + pw(0x30, 0x301) + pw(0x00, ord("h")) + pr(0x18) + prx(b"hello") +
    pr(0x40) + pr(0x00) + padv(100000) + pr(0x3c) + pw(0x44, 0x7ff) + pr(0x00))
put("pl011", "fifo-full", pw(0x2c, 0x10) + pw(0x30, 0x301) + pw(0x34, 0x12) + pw(0x38, 0x7f0) +
    prx(bytes(range(40))) + pr(0x18) + pr(0x04) + u8(4) + pr(0x00) + pr(0x00) + u8(5) +
    pr(0x3c))
put("pl011", "loopback-break", pw(0x30, 0x381) + pw(0x2c, 0x71) + pw(0x00, 0x41) +
    pr(0x00) + pw(0x04, 0) + pw(0x80, 1) + pr(0xfe0, 1) + pw(0x48, 7))

# ---- virt-timer --------------------------------------------------------------
# header: ncpus-1, always-on value index; ops: cpu, timer, level; fdt size.
put("virt_timer", "events", u8(3) + u8(1) + u8(0) + u8(0) + u8(1) + u8(1) + u8(1) + u8(1) +
    u8(3) + u8(0) + u8(0) + u8(9) + u8(2) + u8(1))

# ---- config ------------------------------------------------------------------
CFG_MACHINE = """[machine]
cpus = 2
memory = 64M

[device gic]
plugin = gicv2
dist-base = 0x08000000
cpu-base = 0x08010000
lines = 64

[device uart0]
plugin = pl011
base = 0x09000000
irq = 1
clock-frequency = 24000000
chardev = null

[device timer]
plugin = virt-timer
always-on = true

[boot]
kernel = Image
cmdline = console=ttyAMA0
"""
put("config", "machine", CFG_MACHINE)
put("config", "errors", "; comment\n[machine]\ncpus = 0x2 ; two\n# hash\n[device  a ]\n"
    "plugin = pl011\nbase = 4K\nirq = 99\n[device b]\nplugin=gicv2\ndist-base=0\n"
    "cpu-base=0x10000\nlines=1G\n[device c]\nplugin = virt-timer\nalways-on = maybe\n")
put("config", "multiline", "[boot]\nkernel = a\n  continued\ncmdline = x\n[device x]\n"
    "plugin = gicv2\n[ boot ]\nk=v\n")

# ---- boot --------------------------------------------------------------------
# header: flags (bit0 raw, bit1 gzip, bit2 initrd), ram size index, ram base
# index, raw load offset (u32), initrd length (u16); then kernel, initrd bytes.


def image(text_offset=0x80000, image_size=0x100000, flags=0xa, body=b"\x00" * 64):
    hdr = u32(0x14000010) + u32(0) + u64(text_offset) + u64(image_size) + u64(flags) + \
        u64(0) * 3 + u32(0x644d5241) + u32(0)
    return hdr + body


def boot(flags, ram, base, raw_off, kernel, initrd=b""):
    return u8(flags) + u8(ram) + u8(base) + u32(raw_off) + u16(len(initrd)) + initrd + kernel


put("boot", "image", boot(0, 3, 0, 0, image()))
put("boot", "image-gz", boot(2, 3, 0, 0, image(body=b"\xaa" * 4096)))
put("boot", "image-initrd", boot(4, 3, 1, 0, image(image_size=0x300000), b"initrd" * 40))
put("boot", "legacy", boot(0, 2, 0, 0, image(text_offset=0x1234, image_size=0, flags=1)))
put("boot", "raw", boot(1, 1, 0, 0x1000, b"\x00\x00\x80\xd2" * 16, b"rd"))
put("boot", "gz-file", boot(0, 3, 0, 0, gzip.compress(image(), mtime=0)))
put("boot", "zboot", boot(0, 3, 0, 0, b"MZ\x00\x00zimg" + b"\x00" * 60))

# ---- arm64 decoders ------------------------------------------------------------
# op 0 ESR, 1 insn+base+rm, 2 sysreg, 3 deadline, 4 exception
put("arm64_decode", "mix",
    u8(0) + u64(0x93c08007) +  # DABT ISV=1 SAS=2
    u8(1) + u32(0xb9400020) + u64(0x9000000) + u64(0) +  # ldr w0, [x1]
    u8(1) + u32(0xa9bf7bfd) + u64(0x40001000) + u64(0) +  # stp x29, x30, [sp, #-16]!
    u8(1) + u32(0xf8617800) + u64(0x1000) + u64(7) +  # ldr x0, [x0, x1, lsl #3]
    u8(1) + u32(0x38c01c20) + u64(0x1000) + u64(0) +  # ldrsb w0, [x1, #1]!
    u8(2) + u32((3 << 20) | (2 << 17) | (3 << 14) | (14 << 10) | (2 << 1)) + u64(100) +
    u64(0xfffffff0) + u8(1) + u64(1) + u32((3 << 20) | (1 << 17) | (3 << 14) | (14 << 10) |
                                            (2 << 1)) +
    u8(3) + u8(1) + u64(2000) + u64(1000) + u64(62500000) +
    u8(4) + u64(0x40080000) + u32(0x3c5) + u64(0x40000800) + u64(0) + u64(0x9000000) + u8(0))

# ---- stage-1 translation -------------------------------------------------------
# sctlr bit, tcr, ttbr0, ttbr1, va, then RAM from 0.


def ram_with(entries, size=0x8000):
    ram = bytearray(size)
    for addr, val in entries.items():
        ram[addr:addr + 8] = u64(val)
    return bytes(ram)


# 4K, T0SZ=25: L1 at 0x1000, L2 at 0x2000, L3 at 0x3000, VA 0x40201abc.
put("arm64_translate", "4k-3level", u8(1) + u64(25) + u64(0x1000) + u64(0) + u64(0x40201abc) +
    ram_with({0x1008: 0x2003, 0x2008: 0x3003, 0x3008: 0x80005403}))
# 16K TTBR1, T1SZ=28, EPD0.
put("arm64_translate", "16k-ttbr1", u8(1) + u64((28 << 16) | (1 << 30) | (1 << 7)) + u64(0) +
    u64(0x4000) + u64(0xfffffff000000000 | (3 << 25) | (5 << 14) | 0x123) +
    ram_with({0x4018: 0x4003, 0x4028: 0x12344403}, 0x8000))
# 64K, T0SZ=16: level-1 table, level-2 block.
put("arm64_translate", "64k-block", u8(1) + u64(16 | (1 << 14)) + u64(0x0) + u64(0) +
    u64(0x20001234) + ram_with({0x0: 0x3, 0x8: 0x40000401}, 0x100))
# Misaligned TTBR0 (BADDR bits below the table size set), 4K T0SZ=48.
put("arm64_translate", "ttbr-low-bits", u8(1) + u64(48) + u64(0x207e) + u64(0) + u64(0xabcd) +
    ram_with({0x2050: 0x5403}))

# ---- PSCI --------------------------------------------------------------------
# per call: aarch32 byte, x0..x3 (u64 each), cpu_on/affinity stub results.
def call(fid, a1=0, a2=0, a3=0, aarch32=0, res=0):
    return u8(aarch32) + u64(fid) + u64(a1) + u64(a2) + u64(a3) + u8(res)


put("psci", "calls", call(0x84000000) + call(0x8400000a, 0xc4000003) +
    call(0xc4000003, 1, 0x40080000, 0x1234) + call(0x84000003, 0x100000001, 0x1, 0x2) +
    call(0x84000004, 1, 0) + call(0xc4000004, 0xff00000000, 1) + call(0x84000006) +
    call(0x84000001, 0, 0) + call(0xc4000001, 0, 0, aarch32=1) + call(0x84000002) +
    call(0x84000008) + call(0x84000009) + call(0x80000000) + call(0x8400000a, 0x84000005))

# ---- virtqueue -----------------------------------------------------------------
# header: size log2, features (1 INDIRECT, 2 EVENT_IDX), desc/avail/used offsets
# in RAM; then ops (fuzz_virtqueue.c): 0 descriptor, 2 avail slot, 3 avail.idx +=,
# 4 avail flags/used_event, 5 pop, 6 push deferred + notify, 7 notify on/off.
VQ_RAM = 0x40000000
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def vq_hdr(log2, feat, desc=0x1000, avail=0x2000, used=0x3000):
    return u8(log2) + u8(feat) + u32(desc) + u32(avail) + u32(used)


# A descriptor address below 2^63 is an offset from RAM - 4 KiB.
def vq_desc(i, off, length, flags=0, nxt=0):
    return u8(0) + u16(i) + u64(0x1000 + off) + u32(length) + u16(flags) + u16(nxt)


def vq_raw(off, data):
    return u8(1) + u32(off) + u8(len(data)) + data


def vq_slot(slot, head):
    return u8(2) + u16(slot) + u16(head)


def vq_pop(count, *chains):
    return u8(5) + u8(count - 1) + b"".join(u8(how) + u32(n) for how, n in chains)


put("virtqueue", "single", vq_hdr(3, 0) + vq_desc(0, 0x10000, 64) + vq_slot(0, 0) +
    u8(3) + u8(1) + vq_pop(1, (2, 0)) + u8(6))
put("virtqueue", "chain-rw", vq_hdr(4, 0) + vq_desc(1, 0x10000, 16, F_NEXT, 2) +
    vq_desc(2, 0x11000, 512, F_NEXT | F_WRITE, 3) + vq_desc(3, 0x12000, 1, F_WRITE) +
    vq_slot(0, 1) + u8(3) + u8(1) + vq_pop(1, (4, 513)) + u8(7) + u8(1) + u8(7) + u8(0))
# Indirect table at RAM + 0x8000: three entries, read then write.
table = (u64(VQ_RAM + 0x20000) + u32(32) + u16(F_NEXT) + u16(1) +
         u64(VQ_RAM + 0x21000) + u32(64) + u16(F_NEXT | F_WRITE) + u16(2) +
         u64(VQ_RAM + 0x22000) + u32(8) + u16(F_WRITE) + u16(0))
put("virtqueue", "indirect", vq_hdr(5, 1) + vq_raw(0x8000, table) +
    vq_desc(0, 0x8000, 48, F_INDIRECT) +
    vq_slot(0, 0) + u8(3) + u8(1) + vq_pop(1, (7, 72)))
# EVENT_IDX with deferred pushes and used_event set, several chains in flight.
put("virtqueue", "event-idx", vq_hdr(2, 3) + vq_desc(0, 0x10000, 8) + vq_desc(1, 0x10000, 8) +
    vq_desc(2, 0x10000, 8, F_WRITE) + vq_slot(0, 0) + vq_slot(1, 1) + vq_slot(2, 2) +
    u8(3) + u8(3) + u8(4) + u16(0) + u16(1) + u8(7) + u8(1) +
    vq_pop(3, (1, 0), (1, 0), (0, 8)) + u8(6) + u8(7) + u8(0) + u8(6))

# fuzz_virtio_mmio: first byte the type (0 rng, 1 console, 2/3 net), then operations.
# bring-up puts queue q's areas at RAM + 0x4000 q (+0x1000 avail, +0x2000 used).
def vm_poke(off, data):
    return u8(2) + u16(off) + u8(len(data)) + data


def vm_desc(q, i, addr, length, flags=0, nxt=0):
    return vm_poke(0x4000 * q + 16 * i, u64(0x40000000 + addr) + u32(length) + u16(flags) +
                   u16(nxt))


def vm_avail(q, slot, head, idx):
    return vm_poke(0x4000 * q + 0x1000 + 4 + 2 * slot, u16(head)) + \
        vm_poke(0x4000 * q + 0x1000 + 2, u16(idx))


def vm_kick(q):
    return u8(0) + u16(0x50) + u8(0) + u32(q) + u8(3) + u8(3)


VM_UP = u8(6) + u64(0) + u8(4)  # no optional features, 16 entries
put("virtio_mmio", "rng", u8(0) + VM_UP + vm_desc(0, 0, 0x8000, 64, F_WRITE) +
    vm_avail(0, 0, 0, 1) + vm_kick(0) + u8(1) + u16(0x60) + u8(0) +
    u8(0) + u16(0x64) + u8(0) + u32(1))
put("virtio_mmio", "rng-loop", u8(0) + VM_UP + vm_desc(0, 0, 0x8000, 64, F_WRITE | F_NEXT, 1) +
    vm_desc(0, 1, 0x8000, 64, F_WRITE | F_NEXT, 0) + vm_avail(0, 0, 0, 1) + vm_kick(0) +
    u8(5) + VM_UP)
put("virtio_mmio", "console", u8(1) + VM_UP + vm_desc(0, 0, 0x8000, 64, F_WRITE) +
    vm_avail(0, 0, 0, 1) + vm_kick(0) + u8(4) + u8(5) + b"hello" + u8(3) +
    vm_desc(1, 0, 0x9000, 6) + vm_poke(0x9000 - 0x0, b"") + vm_avail(1, 0, 0, 1) + vm_kick(1))

# net (type 2 unixgram, 3 unixstream; the harness is the socket's peer).  Ops
# 7 post RX (nseg-1, lens u16, kick), 8 post TX (nseg-1, total u32, kick), 9 peer
# sends (mode, len u32; stream mode 1: a raw run of len bytes), 10 peer drains,
# 11 peer closes/reopens, 12 advance clock, 13 kick queue and ack the interrupt.
N_MRG, N_MAC, N_STATUS = 1 << 15, 1 << 5, 1 << 16


def n_up(features=N_MRG | N_MAC | N_STATUS, log2=4):
    return u8(6) + u64(features) + u8(log2)


def n_rx(*lens, kick=1):
    return u8(7) + u8(len(lens) - 1) + b"".join(u16(x) for x in lens) + u8(kick)


def n_tx(nseg, total, kick=1):
    return u8(8) + u8(nseg - 1) + u32(total) + u8(kick)


def n_send(length, mode=0):
    return u8(9) + u8(mode & ~1) + u32(length)


def n_raw(data):
    return u8(9) + u8(1) + u32(len(data)) + data


N_POLL, N_DRAIN, N_CLOSE = u8(3), u8(10), u8(11)


def n_kick(q):
    return u8(13) + u8(q)


for t, tn in ((2, "gram"), (3, "stream")):
    put("virtio_mmio", "net-%s-rx" % tn, u8(t) + n_up() + n_rx(1526) + N_POLL + n_send(60) +
        N_POLL + n_kick(0) + n_send(13) + N_POLL)
    put("virtio_mmio", "net-%s-mrg" % tn, u8(t) + n_up() + n_rx(512) + n_rx(512) + n_rx(256, 256) +
        n_rx(512) + N_POLL + n_send(1400) + N_POLL + n_kick(0))
    put("virtio_mmio", "net-%s-nomrg" % tn, u8(t) + n_up(N_MAC) + n_rx(100) + n_rx(1600) + N_POLL +
        n_send(1000) + N_POLL + n_send(1000) + N_POLL)
    put("virtio_mmio", "net-%s-tx" % tn, u8(t) + n_up() + n_tx(1, 72) + N_POLL + N_DRAIN +
        n_tx(3, 1526) + n_tx(1, 8) + N_POLL + N_DRAIN + n_kick(1))
    put("virtio_mmio", "net-%s-stall" % tn, u8(t) + n_up() + n_send(100) + N_POLL + n_send(200) +
        N_POLL + N_POLL + n_rx(64) + N_POLL + n_rx(2048) + N_POLL + N_POLL + n_rx(2048) + N_POLL)
    put("virtio_mmio", "net-%s-big" % tn, u8(t) + n_up(log2=8) +
        b"".join(n_rx(4096, 4096, 4096, 4096, kick=0) for _ in range(5)) + n_kick(0) + N_POLL +
        n_send(65536) + N_POLL + n_send(0x1030e) + N_POLL + n_tx(4, 65550 + 12) + n_tx(2, 65551 + 12) +
        N_POLL + N_DRAIN)
    put("virtio_mmio", "net-%s-link" % tn, u8(t) + n_up() + n_tx(1, 72) + N_POLL + N_DRAIN + N_CLOSE +
        n_tx(1, 72) + N_POLL + u8(12) + u32(10**9) + N_POLL + N_CLOSE + n_send(60) + N_POLL +
        u8(5) + n_up() + n_rx(1600) + N_POLL)
# 65 chains for one frame: past net.c's bound of held chains (64), so dropped.
put("virtio_mmio", "net-gram-many", u8(2) + n_up(log2=8) + n_rx(1024, kick=0) * 80 + n_kick(0) +
    N_POLL + n_send(65536) + N_POLL + n_send(60000) + N_POLL)
put("virtio_mmio", "net-stream-frames", u8(3) + n_up() + n_rx(2048) + n_rx(2048) + N_POLL +
    n_raw(b"\x00\x00") + N_POLL + n_raw(b"\x00\x40" + bytes(range(64))) + N_POLL +
    n_raw(b"\x00\x00\x00\x05abcde") + N_POLL + n_raw(b"\x00\x01\x00\x10" + b"x" * 200) + N_POLL +
    n_raw(b"\xff\xff\xff\xff" + b"y" * 100) + N_POLL)

# net over the tap (type 4 SOCK_SEQPACKET, 9 SOCK_DGRAM stands in for /dev/net/tun).
# Ops 9 (mode, len, then the 12-byte vnet header the tap sends), 11 (fault mode:
# 0 EIO, 1 EAGAIN, 2 EINVAL toggles, 3 deleted, 4 EOF), 14 post TX chain with a
# header (nseg-1, total u32, kick, 12 header bytes), 15 bring-up masked to the
# offered features (features u32, bit 31: unmasked).
F = dict(CSUM=1 << 0, GUEST_CSUM=1 << 1, GUEST_TSO4=1 << 7, GUEST_TSO6=1 << 8, GUEST_ECN=1 << 9,
         GUEST_UFO=1 << 10, HOST_TSO4=1 << 11, HOST_TSO6=1 << 12, HOST_ECN=1 << 13,
         HOST_UFO=1 << 14)
T_TX = F["CSUM"] | F["HOST_TSO4"] | F["HOST_TSO6"] | F["HOST_ECN"]
T_RX = F["GUEST_CSUM"] | F["GUEST_TSO4"] | F["GUEST_TSO6"] | F["GUEST_ECN"]
NEEDS_CSUM, DATA_VALID, GSO_TCPV4, GSO_UDP, GSO_TCPV6, GSO_ECN = 1, 2, 1, 3, 4, 0x80


def vh(flags=0, gso=0, hdr_len=0, gso_size=0, cs=0, co=0, nb=0):
    return u8(flags) + u8(gso) + u16(hdr_len) + u16(gso_size) + u16(cs) + u16(co) + u16(nb)


def t_up(features, log2=4, unmasked=False):
    return u8(15) + u32(features | N_MRG | N_MAC | N_STATUS | (1 << 31 if unmasked else 0)) + \
        u8(log2)


def t_tx(total, h, nseg=1, kick=1):
    return u8(14) + u8(nseg - 1) + u32(total) + u8(kick) + h


def t_send(length, h, mode=0):
    return u8(9) + u8(mode & ~1) + u32(length) + h


def t_raw(data):
    return u8(9) + u8(1) + u32(len(data)) + data


def t_fault(m):
    return u8(11) + u8(m)


T_BIG_RX = b"".join(n_rx(4096, 4096, 4096, 4096, kick=0) for _ in range(5)) + n_kick(0)
for t, tn in ((4, "tap"), (9, "tapdgram")):
    # Transmit: good headers (plain, partial checksum, TSO4 at 64 KiB, TSO6 with ECN), bad ones.
    put("virtio_mmio", "net-%s-tx" % tn, u8(t) + t_up(T_TX, log2=6) +
        t_tx(72, vh()) + t_tx(72, vh(NEEDS_CSUM, 0, 0, 0, 34, 6), nseg=2) + N_POLL + N_DRAIN +
        t_tx(12 + 65550, vh(NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16), nseg=4) + N_POLL + N_DRAIN +
        t_tx(12 + 20000, vh(NEEDS_CSUM, GSO_TCPV6 | GSO_ECN, 74, 1428, 54, 16), nseg=3) +
        t_tx(72, vh(DATA_VALID)) + t_tx(5012, vh(NEEDS_CSUM, GSO_UDP, 42, 1472, 34, 6)) +
        t_tx(72, vh(0, GSO_ECN)) + t_tx(72, vh(NEEDS_CSUM, 0, 0, 0, 53, 6)) +
        t_tx(5012, vh(NEEDS_CSUM, GSO_TCPV4, 54, 0, 34, 16)) +
        t_tx(5012, vh(0, GSO_TCPV4, 54, 1448)) + t_tx(8, vh()) + N_POLL + N_DRAIN)
    # Transmit without the offloads negotiated: the same good headers are bad now.
    put("virtio_mmio", "net-%s-tx-nooff" % tn, u8(t) + t_up(F["CSUM"] | F["HOST_TSO4"]) +
        t_tx(5012, vh(NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16)) +
        t_tx(5012, vh(NEEDS_CSUM, GSO_TCPV6, 74, 1428, 54, 16)) +
        t_tx(5012, vh(NEEDS_CSUM, GSO_TCPV4 | GSO_ECN, 54, 1448, 34, 16)) + N_POLL + N_DRAIN +
        t_up(0) + t_tx(72, vh(NEEDS_CSUM, 0, 0, 0, 34, 6)) + t_tx(72, vh()) + N_POLL + N_DRAIN)
    # Receive: good and bad headers, a header-only runt, a 64 KiB GSO frame and one past it.
    put("virtio_mmio", "net-%s-rx" % tn, u8(t) + t_up(T_RX | F["GUEST_TSO4"], log2=8) + T_BIG_RX +
        N_POLL + t_send(100, vh(NEEDS_CSUM, 0, 0, 0, 34, 6, nb=0x5555)) + N_POLL +
        t_send(100, vh(DATA_VALID)) + t_send(100, vh(NEEDS_CSUM, 0, 0, 0, 95, 4)) +
        t_send(100, vh(4)) + t_send(5000, vh(DATA_VALID, GSO_TCPV4, 54, 1448)) + N_POLL +
        t_send(5000, vh(NEEDS_CSUM, GSO_UDP, 42, 1472, 34, 6)) +
        t_send(5000, vh(NEEDS_CSUM, GSO_TCPV4, 5001, 1448, 34, 16)) + N_POLL +
        t_raw(b"\x00" * 6) + t_raw(vh()) + t_send(10, vh()) + N_POLL +
        t_send(65550, vh(NEEDS_CSUM, GSO_TCPV6 | GSO_ECN, 86, 1428, 54, 16)) + N_POLL +
        T_BIG_RX + N_POLL + t_send(65551, vh(NEEDS_CSUM, GSO_TCPV6, 86, 1428, 54, 16)) + N_POLL)
    # Receive without offloads: DATA_VALID dropped from the header, partial ones refused.
    put("virtio_mmio", "net-%s-rx-nooff" % tn, u8(t) + t_up(0) + n_rx(1600) + n_rx(1600) +
        n_rx(1600) + N_POLL + t_send(100, vh(DATA_VALID)) + t_send(100, vh(NEEDS_CSUM, 0, 0, 0,
        34, 6)) + t_send(1500, vh(NEEDS_CSUM, GSO_TCPV4, 54, 1448, 34, 16)) + N_POLL +
        t_send(60, vh()) + N_POLL)
    # Feature sets the transport must refuse (5.1.3.1, and UFO never offered), then all of them.
    put("virtio_mmio", "net-%s-features" % tn, u8(t) + t_up(F["GUEST_TSO4"]) +
        t_up(F["GUEST_CSUM"] | F["GUEST_ECN"]) + t_up(F["CSUM"] | F["HOST_ECN"]) +
        t_up(F["HOST_TSO6"]) + t_up(F["GUEST_CSUM"] | F["GUEST_UFO"], unmasked=True) +
        t_up(F["CSUM"] | F["HOST_UFO"] | F["HOST_TSO4"], unmasked=True) +
        t_up(T_TX | T_RX) + n_rx(2048) + t_tx(72, vh()) + N_POLL + N_DRAIN + u8(5) + N_POLL)
    # The tap down (EIO), full (EAGAIN, the timer retries), refusing a header (EINVAL).
    put("virtio_mmio", "net-%s-down" % tn, u8(t) + t_up(T_TX) + t_fault(0) + t_tx(72, vh()) +
        t_tx(72, vh()) + N_POLL + t_fault(0) + t_tx(72, vh()) + N_POLL + N_DRAIN + t_fault(1) +
        t_tx(72, vh()) + t_tx(72, vh()) + N_POLL + u8(12) + u32(10**6) + t_fault(1) + N_POLL +
        N_DRAIN + t_fault(2) + t_tx(72, vh(NEEDS_CSUM, 0, 0, 0, 34, 6)) + N_POLL + t_fault(2) +
        N_DRAIN)
    # Deleted: reads (and writes) fail with EBADFD; or the stand-in closes (end of file).
    put("virtio_mmio", "net-%s-deleted" % tn, u8(t) + t_up(T_RX) + n_rx(1600) + t_fault(3) +
        t_send(60, vh()) + N_POLL + t_tx(72, vh()) + N_POLL + u8(5) + t_up(T_RX) + N_POLL)
    put("virtio_mmio", "net-%s-eof" % tn, u8(t) + t_up(0) + n_rx(1600) + t_send(60, vh()) +
        N_POLL + t_fault(4) + N_POLL + t_tx(72, vh()) + N_POLL + u8(12) + u32(10**9) + N_POLL)
# Attach faults (first byte / 10): each refused, nothing left open; 7 (TUNSETVNETLE) is harmless.
for a, an in ((1, "open"), (2, "eperm"), (3, "ebusy"), (4, "einval"), (5, "transient"),
              (6, "hdrsz"), (8, "offload"), (9, "missing")):
    put("virtio_mmio", "net-tap-attach-%s" % an, u8(4 + 10 * a))
put("virtio_mmio", "net-tap-attach-vnetle", u8(4 + 10 * 7) + t_up(T_RX) + n_rx(1600) +
    t_send(60, vh(DATA_VALID)) + N_POLL)

# ---- virtio_blk ----------------------------------------------------------------
# setup byte (bit 0 readonly, bit 1 unsafe, bit 2 INDIRECT, bit 3 EVENT_IDX,
# bit 4 no FLUSH, bits 5..7 queue size 4 << v); then operations.
BLK_T = dict(IN=0, OUT=1, FLUSH=2, GET_ID=3, DISCARD=4, WRITE_ZEROES=5, SCSI=6)


def blk_rw(t, sector, lens, shape=0):
    return u8(0) + u8(BLK_T[t]) + u8(sector) + u8(shape | len(lens)) + \
        b"".join(u16(l) for l in lens)


def blk_range(t, sector, count, flags, shape=0):
    return u8(0) + u8(BLK_T[t]) + u8(0) + u8(shape) + u64(sector) + u32(count) + u32(flags)


BLK_KICK = u8(3)
Q32 = 3 << 5
put("virtio_blk", "read", u8(Q32) + blk_rw("IN", 5, [1]) + blk_rw("IN", 127, [0]) + BLK_KICK)
put("virtio_blk", "write-flush-id", u8(Q32 | 8) + blk_rw("OUT", 9, [2, 0]) +
    blk_rw("FLUSH", 0, []) + blk_rw("GET_ID", 0, [0x8014]) + BLK_KICK)
put("virtio_blk", "discard-zeroes", u8(Q32) + blk_range("DISCARD", 8, 8, 0) +
    blk_range("WRITE_ZEROES", 20, 4, 1) + blk_range("WRITE_ZEROES", 126, 8, 0) + BLK_KICK)
put("virtio_blk", "bad", u8(Q32 | 4) + blk_rw("IN", 0, [0], 8) + blk_rw("IN", 0, [0], 0x10) +
    blk_rw("OUT", 0, [0x8064], 4) + blk_rw("IN", 130, [0]) + blk_rw("OUT", 0, [0], 0x20) +
    u8(0) + u8(7) + u32(0x55) + u8(0) + u8(0) + BLK_KICK)
put("virtio_blk", "resets", u8(Q32) + blk_rw("OUT", 1, [3]) * 6 + BLK_KICK + u8(4) +
    blk_rw("IN", 2, [1]) * 4 + u8(5) + blk_rw("IN", 3, [1]) + BLK_KICK)
put("virtio_blk", "readonly", u8(Q32 | 1) + blk_rw("OUT", 1, [1]) +
    blk_range("DISCARD", 0, 4, 0) + blk_rw("FLUSH", 0, []) + BLK_KICK)
put("virtio_blk", "many", u8((6 << 5) | 8) + blk_rw("IN", 1, [1, 1, 1]) * 40 + BLK_KICK * 3)
