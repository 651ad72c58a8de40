/* SPDX-License-Identifier: MIT */
/*
 * One source, several test plugins: the build defines TP_VARIANT to make a
 * good plugin or a specific kind of broken one for the loader tests.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <avmm/avmm.h>

#define TP_GOOD 0
#define TP_NO_SYMBOL 1
#define TP_MAJOR 2
#define TP_NEWER_MINOR 3
#define TP_FAIL_INIT 4
#define TP_SMALL_DESC 5
#define TP_OLDER_MINOR 6

struct tp {
	const struct avmm_host *host;
	uint64_t value;
};

static int tp_create(struct avmm_dev *dev, const struct avmm_host *host, void **instance,
		     char *err, size_t errlen)
{
	struct tp *t;

	if (TP_VARIANT == TP_FAIL_INIT) {
		snprintf(err, errlen, "the widget is not plugged in (test failure)");
		return -ENODEV;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->host = host;
	/* An optional key, so configs can exercise the unknown-key check. */
	host->cfg_u64(dev, "value", &t->value);
	*instance = t;
	return 0;
}

static void tp_destroy(void *instance)
{
	free(instance);
}

#if TP_VARIANT != TP_NO_SYMBOL
AVMM_EXPORT const struct avmm_plugin_desc avmm_plugin = {
	.struct_size = TP_VARIANT == TP_SMALL_DESC ? 8 : sizeof(struct avmm_plugin_desc),
	.abi_major = TP_VARIANT == TP_MAJOR ? AVMM_ABI_MAJOR + 1 : AVMM_ABI_MAJOR,
	.abi_minor = TP_VARIANT == TP_NEWER_MINOR ? AVMM_ABI_MINOR + 1 : AVMM_ABI_MINOR,
	.name = TP_NAME,
	.summary = "loader test plugin",
	.create = tp_create,
	.destroy = tp_destroy,
};
#else
/* Exports the entry points under the wrong name: no descriptor symbol. */
AVMM_EXPORT const struct avmm_plugin_desc avmm_plugin_typo = {
	.struct_size = sizeof(struct avmm_plugin_desc),
	.abi_major = AVMM_ABI_MAJOR,
	.abi_minor = AVMM_ABI_MINOR,
	.name = TP_NAME,
	.create = tp_create,
	.destroy = tp_destroy,
};
#endif
