/* SPDX-License-Identifier: MIT */
/*
 * The baseline for the MMIO round-trip benchmark: the least a VMM can do per
 * MMIO exit on KVM.  Loads a raw guest (tests/guests/mmio-loop.S) at
 * 0x40080000 and re-enters KVM_RUN on every MMIO exit without looking at it,
 * until the guest's BRK.  Prints the guest's own measurement:
 *   bare: n=4096 ticks=... freq=... per_exit_us=...
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
#include <unistd.h>

#include <linux/kvm.h>

#define RAM_BASE 0x40000000ull
#define RAM_SIZE (64ull << 20)
#define LOAD 0x40080000ull

#define CORE_REG(field) \
	(KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
	 (offsetof(struct kvm_regs, field) / sizeof(__u32)))

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t get_reg(int fd, uint64_t id)
{
	uint64_t v;
	struct kvm_one_reg r = {.id = id, .addr = (uintptr_t)&v};

	if (ioctl(fd, KVM_GET_ONE_REG, &r))
		die("KVM_GET_ONE_REG");
	return v;
}

int main(int argc, char **argv)
{
	struct kvm_vcpu_init init;
	struct kvm_guest_debug dbg = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP};
	struct kvm_userspace_memory_region mem;
	struct kvm_one_reg pc;
	uint64_t entry = LOAD, exits = 0;
	struct kvm_run *run;
	int kvm, vm, cpu, f;
	uint8_t *ram;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s GUEST.bin\n", argv[0]);
		return 2;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (ram == MAP_FAILED)
		die("mmap");
	f = open(argv[1], O_RDONLY);
	if (f < 0)
		die(argv[1]);
	n = read(f, ram + (LOAD - RAM_BASE), 1 << 20);
	if (n <= 0)
		die("read guest");
	close(f);
	mem = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = RAM_BASE, .memory_size = RAM_SIZE,
		.userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &mem))
		die("KVM_SET_USER_MEMORY_REGION");
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (cpu < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	if (ioctl(vm, KVM_ARM_PREFERRED_TARGET, &init))
		die("KVM_ARM_PREFERRED_TARGET");
	if (ioctl(cpu, KVM_ARM_VCPU_INIT, &init))
		die("KVM_ARM_VCPU_INIT");
	if (ioctl(cpu, KVM_SET_GUEST_DEBUG, &dbg))
		die("KVM_SET_GUEST_DEBUG");
	pc = (struct kvm_one_reg){.id = CORE_REG(regs.pc), .addr = (uintptr_t)&entry};
	if (ioctl(cpu, KVM_SET_ONE_REG, &pc))
		die("KVM_SET_ONE_REG pc");

	for (;;) {
		if (ioctl(cpu, KVM_RUN, 0)) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_MMIO) {
			exits++;
			continue; /* nothing: the floor of what a VMM can do */
		}
		if (run->exit_reason == KVM_EXIT_DEBUG)
			break;
		fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
		return 1;
	}
	{
		uint64_t ticks = get_reg(cpu, CORE_REG(regs.regs[0]));
		uint64_t iters = get_reg(cpu, CORE_REG(regs.regs[2]));
		uint64_t freq = get_reg(cpu, CORE_REG(regs.regs[3]));

		printf("bare: n=%llu exits=%llu ticks=%llu freq=%llu per_exit_us=%.2f\n",
		       (unsigned long long)iters, (unsigned long long)exits,
		       (unsigned long long)ticks, (unsigned long long)freq,
		       freq && iters ? 1e6 * (double)ticks / (double)freq / (double)iters : 0.0);
	}
	return 0;
}
