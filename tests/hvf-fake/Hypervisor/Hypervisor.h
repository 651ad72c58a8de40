/* SPDX-License-Identifier: MIT */
/*
 * Declarations-only stand-in for <Hypervisor/Hypervisor.h> (arm64): exactly
 * the subset avmm's HVF backend uses, with the types, signatures and values of
 * Apple's SDK headers (macOS 13.3 / 15.0).  Used to compile core/accel_hvf.c
 * on Linux against the recording fake in hvf_fake.c; never shipped.
 */
#ifndef AVMM_HVF_FAKE_HYPERVISOR_H
#define AVMM_HVF_FAKE_HYPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* hv_error.h: mach_error_t values (err_common_hypervisor | code). */
typedef int hv_return_t;
#define HV_SUCCESS 0
#define HV_ERROR ((hv_return_t)0xfae94001)
#define HV_BUSY ((hv_return_t)0xfae94002)
#define HV_BAD_ARGUMENT ((hv_return_t)0xfae94003)
#define HV_NO_RESOURCES ((hv_return_t)0xfae94005)
#define HV_NO_DEVICE ((hv_return_t)0xfae94006)
#define HV_DENIED ((hv_return_t)0xfae94007)
#define HV_UNSUPPORTED ((hv_return_t)0xfae9400f)

/* hv_vm_types.h */
typedef uint64_t hv_ipa_t;
typedef uint64_t hv_memory_flags_t;
#define HV_MEMORY_READ (UINT64_C(1) << 0)
#define HV_MEMORY_WRITE (UINT64_C(1) << 1)
#define HV_MEMORY_EXEC (UINT64_C(1) << 2)

/* OS objects (OS_OBJECT_DECL in C): opaque pointers, released with os_release. */
typedef struct hv_vm_config_s *hv_vm_config_t;
typedef struct hv_vcpu_config_s *hv_vcpu_config_t;
void os_release(void *object);

/* hv_vcpu_types.h */
typedef uint64_t hv_vcpu_t;

typedef uint32_t hv_exit_reason_t;
enum {
	HV_EXIT_REASON_CANCELED = 0,
	HV_EXIT_REASON_EXCEPTION = 1,
	HV_EXIT_REASON_VTIMER_ACTIVATED = 2,
	HV_EXIT_REASON_UNKNOWN = 3,
};

typedef struct {
	uint64_t syndrome;        /* ESR_EL2 */
	uint64_t virtual_address; /* FAR_EL2 */
	hv_ipa_t physical_address;
} hv_vcpu_exit_exception_t;

typedef struct {
	hv_exit_reason_t reason;
	hv_vcpu_exit_exception_t exception;
} hv_vcpu_exit_t;

typedef enum {
	HV_REG_X0 = 0,
	HV_REG_X30 = 30,
	HV_REG_PC = 31,
	HV_REG_FPCR = 32,
	HV_REG_FPSR = 33,
	HV_REG_CPSR = 34,
} hv_reg_t;

typedef enum {
	HV_SYS_REG_MPIDR_EL1 = 0xc005,
	HV_SYS_REG_ID_AA64PFR0_EL1 = 0xc020,
	HV_SYS_REG_SCTLR_EL1 = 0xc080,
	HV_SYS_REG_TTBR0_EL1 = 0xc100,
	HV_SYS_REG_TTBR1_EL1 = 0xc101,
	HV_SYS_REG_TCR_EL1 = 0xc102,
	HV_SYS_REG_SPSR_EL1 = 0xc200,
	HV_SYS_REG_ELR_EL1 = 0xc201,
	HV_SYS_REG_SP_EL0 = 0xc208,
	HV_SYS_REG_ESR_EL1 = 0xc290,
	HV_SYS_REG_FAR_EL1 = 0xc300,
	HV_SYS_REG_VBAR_EL1 = 0xc600,
	HV_SYS_REG_CNTV_CTL_EL0 = 0xdf19,
	HV_SYS_REG_CNTV_CVAL_EL0 = 0xdf1a,
	HV_SYS_REG_SP_EL1 = 0xe208,
} hv_sys_reg_t;

typedef enum {
	HV_INTERRUPT_TYPE_IRQ = 0,
	HV_INTERRUPT_TYPE_FIQ = 1,
} hv_interrupt_type_t;

/* hv_vm.h / hv_vm_config.h (macOS 13+ for the config functions) */
hv_vm_config_t hv_vm_config_create(void);
hv_return_t hv_vm_config_get_max_ipa_size(uint32_t *ipa_bit_length);
hv_return_t hv_vm_config_get_default_ipa_size(uint32_t *ipa_bit_length);
hv_return_t hv_vm_config_set_ipa_size(hv_vm_config_t config, uint32_t ipa_bit_length);
hv_return_t hv_vm_create(hv_vm_config_t config);
hv_return_t hv_vm_destroy(void);
hv_return_t hv_vm_map(void *addr, hv_ipa_t ipa, size_t size, hv_memory_flags_t flags);

/* hv_vcpu.h */
hv_return_t hv_vcpu_create(hv_vcpu_t *vcpu, hv_vcpu_exit_t **exit, hv_vcpu_config_t config);
hv_return_t hv_vcpu_destroy(hv_vcpu_t vcpu);
hv_return_t hv_vcpu_run(hv_vcpu_t vcpu);
hv_return_t hv_vcpus_exit(hv_vcpu_t *vcpus, uint32_t vcpu_count);
hv_return_t hv_vcpu_get_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_set_reg(hv_vcpu_t vcpu, hv_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_get_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t *value);
hv_return_t hv_vcpu_set_sys_reg(hv_vcpu_t vcpu, hv_sys_reg_t reg, uint64_t value);
hv_return_t hv_vcpu_set_pending_interrupt(hv_vcpu_t vcpu, hv_interrupt_type_t type, bool pending);
hv_return_t hv_vcpu_set_vtimer_mask(hv_vcpu_t vcpu, bool vtimer_is_masked);
hv_return_t hv_vcpu_set_vtimer_offset(hv_vcpu_t vcpu, uint64_t vtimer_offset);
hv_return_t hv_vcpu_set_trap_debug_exceptions(hv_vcpu_t vcpu, bool value);

#endif
