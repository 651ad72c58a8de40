/* SPDX-License-Identifier: MIT */
#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int plugin_path_add(struct plugin_path *pp, const char *dirs)
{
	const char *p = dirs;

	while (p && *p) {
		const char *colon = strchr(p, ':');
		size_t n = colon ? (size_t)(colon - p) : strlen(p);

		if (n) {
			char **d = realloc(pp->dirs, (pp->count + 1) * sizeof(*d));

			if (!d)
				return -ENOMEM;
			pp->dirs = d;
			d[pp->count] = strndup(p, n);
			if (!d[pp->count])
				return -ENOMEM;
			pp->count++;
		}
		p = colon ? colon + 1 : NULL;
	}
	return 0;
}

void plugin_path_free(struct plugin_path *pp)
{
	for (size_t i = 0; i < pp->count; i++)
		free(pp->dirs[i]);
	free(pp->dirs);
	pp->dirs = NULL;
	pp->count = 0;
}

int plugin_find(const struct plugin_path *pp, const char *name, char **path, char *err,
		size_t errlen)
{
	size_t used = 0;

	if (strchr(name, '/')) {
		if (access(name, R_OK)) {
			snprintf(err, errlen, "plugin file '%s': %s", name, strerror(errno));
			return -ENOENT;
		}
		*path = strdup(name);
		return *path ? 0 : -ENOMEM;
	}
	for (size_t i = 0; i < pp->count; i++) {
		size_t n = strlen(pp->dirs[i]) + strlen(name) + sizeof(PLUGIN_SUFFIX) + 2;
		char *cand = malloc(n);

		if (!cand)
			return -ENOMEM;
		snprintf(cand, n, "%s/%s%s", pp->dirs[i], name, PLUGIN_SUFFIX);
		if (!access(cand, R_OK)) {
			*path = cand;
			return 0;
		}
		free(cand);
	}
	used = (size_t)snprintf(err, errlen, "no plugin '%s' (%s%s) in", name, name, PLUGIN_SUFFIX);
	for (size_t i = 0; i < pp->count && used < errlen; i++)
		used += (size_t)snprintf(err + used, errlen - used, "%s %s", i ? "," : "",
					 pp->dirs[i]);
	if (!pp->count && used < errlen)
		snprintf(err + used, errlen - used, " an empty search path");
	if (used < errlen)
		snprintf(err + used, errlen - used,
			 "; set plugin-path in [machine] or AVMM_PLUGIN_PATH");
	return -ENOENT;
}

int plugin_check_desc(const struct avmm_plugin_desc *d, const char *path, char *err,
		      size_t errlen)
{
	if (d->abi_major != AVMM_ABI_MAJOR || d->abi_minor > AVMM_ABI_MINOR) {
		snprintf(err, errlen,
			 "%s: built for plugin ABI %u.%u, this avmm provides %u.%u; rebuild the "
			 "plugin against this avmm's headers",
			 path, d->abi_major, d->abi_minor, AVMM_ABI_MAJOR, AVMM_ABI_MINOR);
		return -EPROTO;
	}
	/* Not sizeof: that grows with every minor and would refuse older plugins. */
	if (d->struct_size < AVMM_PLUGIN_DESC_SIZE_V1_0) {
		snprintf(err, errlen,
			 "%s: descriptor is %u bytes, ABI %u.%u needs at least %zu (was it built "
			 "with AVMM_PLUGIN_DEFINE?)",
			 path, d->struct_size, d->abi_major, d->abi_minor,
			 (size_t)AVMM_PLUGIN_DESC_SIZE_V1_0);
		return -EPROTO;
	}
	if (!d->name || !*d->name || !d->create || !d->destroy) {
		snprintf(err, errlen, "%s: descriptor lacks %s", path,
			 !d->name || !*d->name ? "a name" : !d->create ? "create()" : "destroy()");
		return -EPROTO;
	}
	return 0;
}

int plugin_load(const char *path, const char *expect_name, struct plugin *out, char *err,
		size_t errlen)
{
	const struct avmm_plugin_desc *d;
	void *h;
	int rc;

	memset(out, 0, sizeof(*out));
	/* RTLD_LOCAL: plugins' symbols must never satisfy each other's. */
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "%s", dlerror());
		return -ENOEXEC;
	}
	d = dlsym(h, AVMM_PLUGIN_SYMBOL);
	if (!d) {
		snprintf(err, errlen, "%s: no '%s' symbol: not an avmm plugin", path,
			 AVMM_PLUGIN_SYMBOL);
		dlclose(h);
		return -ENOEXEC;
	}
	rc = plugin_check_desc(d, path, err, errlen);
	if (!rc && expect_name && strcmp(d->name, expect_name)) {
		snprintf(err, errlen, "%s: plugin calls itself '%s', expected '%s'", path, d->name,
			 expect_name);
		rc = -EPROTO;
	}
	if (rc) {
		dlclose(h);
		return rc;
	}
	/*
	 * The core reads its own copy: members a plugin of an older minor lacks
	 * read as zero (absent) instead of as whatever follows its descriptor.
	 */
	out->desc_copy = calloc(1, sizeof(*out->desc_copy));
	out->path = strdup(path);
	out->handle = h;
	if (!out->desc_copy || !out->path) {
		plugin_unload(out);
		return -ENOMEM;
	}
	memcpy(out->desc_copy, d, d->struct_size < sizeof(*d) ? d->struct_size : sizeof(*d));
	if (out->desc_copy->struct_size > sizeof(*d))
		out->desc_copy->struct_size = sizeof(*d);
	out->desc = out->desc_copy;
	return 0;
}

void plugin_unload(struct plugin *p)
{
	if (p->handle)
		dlclose(p->handle);
	free(p->path);
	free(p->desc_copy);
	memset(p, 0, sizeof(*p));
}
