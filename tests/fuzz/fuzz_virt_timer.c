/* SPDX-License-Identifier: MIT */
/*
 * The virt-timer plugin: its config key, the vCPU timer events the
 * accelerator reports (including impossible ones: an unknown timer, a vCPU
 * past the count), and its device-tree node in a buffer of any size.
 *
 * Input: ncpus - 1, always-on value index, then events (cpu, timer, level),
 * the last byte also choosing the FDT buffer size.  Invariants: only PPI 11
 * (CNTV) and 14 (CNTP) are ever driven, each at the level last reported for
 * that vCPU and timer; bad events change nothing; create fails exactly for a
 * malformed always-on and says so; a populated node carries four
 * level-sensitive PPIs and always-on when configured; a too-small buffer is
 * an error (and a large one then works), never an overrun.
 */
#include <errno.h>
#include <libfdt.h>
#include <stdlib.h>

#include "fakehost.h"
#include "fuzz.h"

extern const struct avmm_plugin_desc fuzz_plugin_virt_timer;

static struct avmm_dev dev;

/* Populate a tree of `size` bytes; below ~100 not even the empty tree fits. */
static void check_fdt(void *inst, size_t size, bool always_on)
{
	void *fdt = malloc(size);
	const fdt32_t *irqs;
	int node, len, rc;

	FUZZ_CHECK(fdt);
	if (fdt_create_empty_tree(fdt, (int)size)) {
		free(fdt);
		return;
	}
	rc = fuzz_plugin_virt_timer.fdt_populate(inst, fdt);
	FUZZ_CHECK(fdt_check_header(fdt) == 0);
	if (rc) {
		/* Only for want of room (the fake host says -EINVAL, the core -ENOSPC). */
		FUZZ_CHECK(rc < 0 && size < 4096);
		free(fdt);
		if (size < 4096)
			check_fdt(inst, 4096, always_on);
		return;
	}
	node = fdt_path_offset(fdt, "/timer");
	FUZZ_CHECK(node >= 0);
	irqs = fdt_getprop(fdt, node, "interrupts", &len);
	FUZZ_CHECK(irqs && len == 4 * 3 * 4);
	for (int i = 0; i < 4; i++) {
		FUZZ_CHECK(fdt32_to_cpu(irqs[3 * i]) == AVMM_IRQ_PPI);
		FUZZ_CHECK(fdt32_to_cpu(irqs[3 * i + 2]) == AVMM_IRQ_LEVEL_HIGH);
	}
	FUZZ_CHECK((fdt_getprop(fdt, node, "always-on", NULL) != NULL) == always_on);
	free(fdt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const values[] = { NULL, "true", "false", "maybe", "1", "" };
	struct fuzz_in in = { data, size };
	unsigned ncpus = 1 + fuzz_u8(&in) % 8, vi = fuzz_u8(&in) % 6;
	bool want[8][2] = { { false } };
	void *inst = NULL;
	char err[256] = "";
	int rc;

	fake_init(&dev, "timer", ncpus);
	if (values[vi])
		fake_set(&dev, "always-on", values[vi]);
	rc = fuzz_plugin_virt_timer.create(&dev, &fakehost, &inst, err, sizeof(err));
	if (vi == 3 || vi == 5) {
		/* Malformed: refused, and reported through the config error path. */
		FUZZ_CHECK(rc == -EINVAL && dev.cfg_errors == 1 && !inst);
		fake_fini(&dev);
		return 0;
	}
	FUZZ_CHECK(rc == 0 && inst && fake_unused_keys(&dev) == 0);
	FUZZ_CHECK(dev.timer_fn);

	while (in.n > 1) {
		unsigned cpu = fuzz_u8(&in) % 10, timer = fuzz_u8(&in) % 4;
		bool level = fuzz_u8(&in) & 1;

		fake_cpu_timer(&dev, cpu, (enum avmm_cpu_timer)timer, level);
		if (cpu < ncpus && timer < 2)
			want[cpu][timer] = level;
		for (unsigned c = 0; c < FAKE_MAX_CPUS; c++) {
			for (unsigned p = 0; p < 32; p++) {
				bool exp = false;

				if (c < ncpus && p == 27 - 16)
					exp = want[c][AVMM_CPU_TIMER_VIRT];
				if (c < ncpus && p == 30 - 16)
					exp = want[c][AVMM_CPU_TIMER_PHYS];
				FUZZ_CHECK(dev.ppi_level[c][p] == exp);
			}
		}
	}

	check_fdt(inst, 64 + (size_t)fuzz_u8(&in) * 4, vi == 1 || vi == 4);
	fuzz_plugin_virt_timer.destroy(inst);
	fake_fini(&dev);
	return 0;
}
