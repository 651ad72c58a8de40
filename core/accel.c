/* SPDX-License-Identifier: MIT */
#include "accel.h"

#include <stdio.h>
#include <string.h>

static const struct accel_ops *const backends[] = {
#ifdef AVMM_HAVE_KVM
	&accel_kvm_ops,
#endif
#ifdef AVMM_HAVE_HVF
	&accel_hvf_ops,
#endif
	NULL,
};

const struct accel_ops *accel_select(const char *name, char *err, size_t errlen)
{
	bool any = strcmp(name, "auto") == 0;
	size_t used = 0;

	err[0] = '\0';
	for (size_t i = 0; backends[i]; i++) {
		char why[256] = "";

		if (!any && strcmp(name, backends[i]->name))
			continue;
		if (!backends[i]->probe(why, sizeof(why)))
			return backends[i];
		if (used < errlen)
			used += (size_t)snprintf(err + used, errlen - used, "%s%s: %s",
						 used ? "; " : "", backends[i]->name, why);
	}
	if (!used)
		snprintf(err, errlen,
			 "no '%s' accelerator in this build: avmm runs guests with KVM on arm64 "
			 "Linux and Hypervisor.framework on Apple Silicon macOS (on other hosts use "
			 "tools/run-nested.sh)",
			 name);
	return NULL;
}
