/* SPDX-License-Identifier: MIT */
/*
 * Plugin loader: find, dlopen (RTLD_NOW | RTLD_LOCAL) and version-check.  It
 * owns the loaded shared objects and a core copy of each descriptor (read up
 * to the plugin's own struct_size, so a plugin built for an older minor ABI
 * loads); device.c creates instances from them.  A service: calls nothing in
 * the core above it.
 */
#ifndef AVMM_CORE_PLUGIN_H
#define AVMM_CORE_PLUGIN_H

#include <stddef.h>

#include <avmm/avmm.h>

#ifdef __APPLE__
#define PLUGIN_SUFFIX ".dylib"
#else
#define PLUGIN_SUFFIX ".so"
#endif

struct plugin {
	char *path;
	void *handle;
	const struct avmm_plugin_desc *desc; /* desc_copy once loaded */
	struct avmm_plugin_desc *desc_copy;  /* zero past the plugin's struct_size */
};

/* Ordered plugin search path (config plugin-path, AVMM_PLUGIN_PATH, built-in). */
struct plugin_path {
	char **dirs;
	size_t count;
};

int plugin_path_add(struct plugin_path *pp, const char *dirs /* ':'-separated */);
void plugin_path_free(struct plugin_path *pp);

/*
 * Resolve `name` (a bare name such as "pl011", or a path containing '/') to a
 * file.  -ENOENT with the directories searched written to err.
 */
int plugin_find(const struct plugin_path *pp, const char *name, char **path, char *err,
		size_t errlen);

/*
 * dlopen `path` and validate its descriptor: symbol present, struct size, ABI
 * major equal and minor not newer than the core's, create/destroy set, name
 * matching `expect_name` when non-NULL.  On failure err names the file and why.
 */
int plugin_load(const char *path, const char *expect_name, struct plugin *out, char *err,
		size_t errlen);
void plugin_unload(struct plugin *p);

/* The descriptor checks alone (unit-testable without dlopen). */
int plugin_check_desc(const struct avmm_plugin_desc *desc, const char *path, char *err,
		      size_t errlen);

#endif
