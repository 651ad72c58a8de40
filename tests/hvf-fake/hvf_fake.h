/* SPDX-License-Identifier: MIT */
/*
 * Control and inspection side of the fake Hypervisor.framework: tests script
 * the exits each vCPU's hv_vcpu_run returns and read back what the backend did
 * (register writes, pending interrupts, vtimer mask changes, hv_vcpus_exit).
 * vCPU ids are handed out 0, 1, 2... in hv_vcpu_create order.
 */
#ifndef AVMM_HVF_FAKE_H
#define AVMM_HVF_FAKE_H

#include <stddef.h>
#include <stdint.h>

#include <Hypervisor/Hypervisor.h>

#define HVF_FAKE_MAX_VCPUS 4
#define HVF_FAKE_MAX_STEPS 32
#define HVF_FAKE_MAX_EVENTS 8192

/* One scripted return of hv_vcpu_run. */
struct hvf_fake_step {
	hv_exit_reason_t reason;
	uint64_t syndrome;
	uint64_t va;
	uint64_t pa;
	/* Called on the vCPU thread just before the exit is reported: the guest's doing. */
	void (*guest)(hv_vcpu_t vcpu, void *arg);
	void *arg;
};

enum hvf_fake_ev_type {
	HVF_EV_RUN,          /* value: the pending IRQ state the run started with */
	HVF_EV_SET_REG,      /* reg: hv_reg_t */
	HVF_EV_SET_SYS_REG,  /* reg: hv_sys_reg_t */
	HVF_EV_PENDING_IRQ,  /* value: pending */
	HVF_EV_VTIMER_MASK,  /* value: masked */
	HVF_EV_VTIMER_OFFSET,
	HVF_EV_VCPUS_EXIT,
	HVF_EV_TRAP_DEBUG,
	HVF_EV_NTYPES,
};

struct hvf_fake_event {
	enum hvf_fake_ev_type type;
	unsigned vcpu;
	uint32_t reg;
	uint64_t value;
};

/* Forget everything: VM, vCPUs, scripts, registers, events, knobs. */
void hvf_fake_reset(void);

/* Replace vCPU `vcpu`'s script; once it runs out, runs return CANCELED. */
void hvf_fake_script(unsigned vcpu, const struct hvf_fake_step *steps, size_t n);
/* Steps consumed so far; runs past the end of the script. */
size_t hvf_fake_steps_done(unsigned vcpu);
unsigned hvf_fake_overruns(unsigned vcpu);

/* Knobs for the VM calls. */
void hvf_fake_set_vm_create_result(hv_return_t r);
void hvf_fake_set_vm_config(int available, uint32_t default_ipa, uint32_t max_ipa);
uint32_t hvf_fake_vm_ipa_bits(void); /* 0 = created with a NULL config */
int hvf_fake_vm_exists(void);
unsigned hvf_fake_vm_creates(void);
unsigned hvf_fake_configs_live(void); /* created and not yet os_release()d */
struct hvf_fake_map {
	void *addr;
	hv_ipa_t ipa;
	size_t size;
	hv_memory_flags_t flags;
};
unsigned hvf_fake_maps(struct hvf_fake_map *last);

/* What a new vCPU's ID_AA64PFR0_EL1 reads before avmm touches it: EL0/EL1
 * AArch64, CSV2/CSV3, and GIC = 1 (a host offering the GICv3 CPU interface). */
#define HVF_FAKE_ID_AA64PFR0 0x1100000001000011ull

/* Guest register file (no event recorded). */
uint64_t hvf_fake_reg(unsigned vcpu, hv_reg_t reg);
void hvf_fake_set_reg(unsigned vcpu, hv_reg_t reg, uint64_t v);
uint64_t hvf_fake_sys_reg(unsigned vcpu, uint16_t reg);
void hvf_fake_set_sys_reg(unsigned vcpu, uint16_t reg, uint64_t v);
int hvf_fake_vtimer_masked(unsigned vcpu);
uint64_t hvf_fake_vtimer_offset(unsigned vcpu);
unsigned hvf_fake_vcpus_created(void);

/* Recorded calls. */
size_t hvf_fake_events(struct hvf_fake_event *out, size_t max);
unsigned hvf_fake_count(enum hvf_fake_ev_type type, int vcpu /* -1: any */);
/* Count of SET_REG / SET_SYS_REG events for one register. */
unsigned hvf_fake_count_reg(enum hvf_fake_ev_type type, unsigned vcpu, uint32_t reg);
/* Every hv_* / mach call made, for "no busy loop" checks. */
unsigned long hvf_fake_calls(void);
/* Per-vCPU calls made from a thread other than the creating one. */
unsigned hvf_fake_wrong_thread(void);

/* The fake counter: 24 MHz from CLOCK_MONOTONIC, plus an adjustable skew. */
void hvf_fake_clock_skew(int64_t ticks);

#endif
