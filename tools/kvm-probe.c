// SPDX-License-Identifier: MIT
/*
 * kvm-probe: what does this host's /dev/kvm offer avmm? (arm64 Linux only)
 *
 * Prints the capabilities avmm relies on, then runs a 5-instruction guest that
 * stores a counter to an unmapped IPA in a loop, so each iteration is one
 * KVM_EXIT_MMIO: that checks the data and measures the cost of an exit.
 *
 *   kvm-probe [ITERATIONS]     (default 200; 0 skips the run)
 *
 * Exit status: 0 when /dev/kvm works and the guest ran as expected.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#ifndef __aarch64__
#error "kvm-probe is for arm64 hosts (cross-build it with tools/cross-build.sh)"
#endif

#define RAM_BASE 0x40000000ULL
#define RAM_SIZE 0x10000ULL
#define MMIO_ADDR 0x09000000ULL

#define CORE_REG(x) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | (offsetof(struct kvm_regs, x) / 4))

static const struct {
	const char *name;
	long cap;
} caps[] = {
	{ "KVM_CAP_ARM_USER_IRQ", KVM_CAP_ARM_USER_IRQ },
	{ "KVM_CAP_ARM_NISV_TO_USER", KVM_CAP_ARM_NISV_TO_USER },
	{ "KVM_CAP_ARM_INJECT_EXT_DABT", KVM_CAP_ARM_INJECT_EXT_DABT },
	{ "KVM_CAP_ARM_PSCI_0_2", KVM_CAP_ARM_PSCI_0_2 },
	{ "KVM_CAP_SET_GUEST_DEBUG", KVM_CAP_SET_GUEST_DEBUG },
	{ "KVM_CAP_ARM_VM_IPA_SIZE", KVM_CAP_ARM_VM_IPA_SIZE },
	{ "KVM_CAP_NR_VCPUS", KVM_CAP_NR_VCPUS },
	{ "KVM_CAP_ONE_REG", KVM_CAP_ONE_REG },
};

/*
 * x1 = MMIO_ADDR; x0 = 0; loop: str w0, [x1]; add x0, x0, #1; b loop
 * (MMU off, so the store goes to the IPA; unmapped, so it exits as MMIO).
 */
static const uint32_t guest_code[] = {
	0xd2a12001, /* movz x1, #0x0900, lsl #16 */
	0xd2800000, /* movz x0, #0 */
	0xb9000020, /* str  w0, [x1] */
	0x91000400, /* add  x0, x0, #1 */
	0x17fffffe, /* b    .-8 */
};

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int run_guest(int kvm, int vm, long iters)
{
	struct kvm_userspace_memory_region mr = { 0 };
	struct kvm_vcpu_init init;
	struct kvm_one_reg reg;
	struct kvm_run *run;
	uint64_t pc = RAM_BASE;
	double t0, t1;
	long i, mmap_size;
	void *ram;
	int vcpu;

	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		return -errno;
	memcpy(ram, guest_code, sizeof(guest_code));
	mr.slot = 0;
	mr.guest_phys_addr = RAM_BASE;
	mr.memory_size = RAM_SIZE;
	mr.userspace_addr = (uintptr_t)ram;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mr) < 0) {
		perror("kvm-probe: KVM_SET_USER_MEMORY_REGION");
		return -errno;
	}
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		perror("kvm-probe: KVM_CREATE_VCPU");
		return -errno;
	}
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init) < 0 ||
	    ioctl(vcpu, KVM_ARM_VCPU_INIT, &init) < 0) {
		perror("kvm-probe: KVM_ARM_VCPU_INIT");
		return -errno;
	}
	reg.id = CORE_REG(regs.pc);
	reg.addr = (uintptr_t)&pc;
	if (ioctl(vcpu, KVM_SET_ONE_REG, &reg) < 0) {
		perror("kvm-probe: KVM_SET_ONE_REG(pc)");
		return -errno;
	}
	mmap_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (mmap_size <= 0)
		return -EINVAL;
	run = mmap(NULL, mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return -errno;

	t0 = now_us();
	for (i = 0; i < iters; i++) {
		uint32_t val;

		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			perror("kvm-probe: KVM_RUN");
			return -errno;
		}
		if (run->exit_reason != KVM_EXIT_MMIO) {
			fprintf(stderr, "kvm-probe: exit %u instead of KVM_EXIT_MMIO (iteration %ld)\n",
				run->exit_reason, i);
			return -EIO;
		}
		memcpy(&val, run->mmio.data, sizeof(val));
		if (!run->mmio.is_write || run->mmio.phys_addr != MMIO_ADDR ||
		    run->mmio.len != 4 || val != (uint32_t)i) {
			fprintf(stderr,
				"kvm-probe: bad MMIO exit: addr 0x%llx len %u write %u data %u (want %ld)\n",
				(unsigned long long)run->mmio.phys_addr, run->mmio.len,
				run->mmio.is_write, val, i);
			return -EIO;
		}
	}
	t1 = now_us();
	printf("kvm-probe: guest ran: %ld MMIO exits, %.1f us per exit\n", iters,
	       iters ? (t1 - t0) / iters : 0.0);
	munmap(run, mmap_size);
	close(vcpu);
	munmap(ram, RAM_SIZE);
	return 0;
}

int main(int argc, char **argv)
{
	long iters = argc > 1 ? strtol(argv[1], NULL, 0) : 200;
	int kvm, vm, has_vm_check, ret;
	size_t i;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		fprintf(stderr, "kvm-probe: /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	printf("kvm-probe: KVM_GET_API_VERSION = %d\n", ioctl(kvm, KVM_GET_API_VERSION, 0));
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		fprintf(stderr, "kvm-probe: KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	/* On arm64 several answers depend on the VM (IPA size, vGIC): ask it. */
	has_vm_check = ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_CHECK_EXTENSION_VM) > 0;
	for (i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		printf("kvm-probe: %s = %d\n", caps[i].name,
		       ioctl(has_vm_check ? vm : kvm, KVM_CHECK_EXTENSION, caps[i].cap));
	ret = iters > 0 ? run_guest(kvm, vm, iters) : 0;
	close(vm);
	close(kvm);
	if (ret) {
		fprintf(stderr, "kvm-probe: guest run failed: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}
