/* SPDX-License-Identifier: MIT */
/*
 * Machine description: an INI file parsed with inih into sections and keys
 * that remember their line, so every error names file:line, section and key.
 */
#ifndef AVMM_CORE_CONFIG_H
#define AVMM_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <avmm/avmm.h>

struct cfg_key {
	char *name;
	char *value;
	int line;      /* 0 for a -s override */
	bool used;     /* looked up by the core or a plugin */
	bool override; /* came from -s: paths resolve against the cwd */
};

struct cfg_section {
	char *name; /* as written: "machine", "boot", "device uart0" */
	char *dev;  /* "uart0" for a device section, else NULL */
	int line;
	struct cfg_key *keys;
	size_t nkeys;
};

struct config {
	char *path; /* as given on the command line */
	char *dir;  /* directory of path, for relative file names */
	struct cfg_section *sections;
	size_t nsections;
};

/* Parse `path`.  Errors (syntax, duplicate keys or sections) are printed. */
int config_load(struct config *cfg, const char *path);
/* Parse from memory; `name` stands in for the path in messages (tests). */
int config_load_string(struct config *cfg, const char *name, const char *text);
void config_free(struct config *cfg);

/* Apply "-s section.key=value"; section is machine, boot or a device name. */
int config_override(struct config *cfg, const char *spec);

/* "machine", "boot" or a device name. */
struct cfg_section *config_section(struct config *cfg, const char *name);
struct cfg_key *config_key(struct cfg_section *sec, const char *key);

/*
 * Typed lookups; mark the key used.  -ENOENT if absent (output untouched),
 * -EINVAL if malformed (reported at file:line).
 */
int config_str(struct config *cfg, struct cfg_section *sec, const char *key,
	       const char **value);
int config_u64(struct config *cfg, struct cfg_section *sec, const char *key, uint64_t *value);
int config_bool(struct config *cfg, struct cfg_section *sec, const char *key, bool *value);
/*
 * A file that must exist: relative names resolve against the config file's
 * directory (or the cwd for -s overrides).  The result is malloc'ed.
 */
int config_path(struct config *cfg, struct cfg_section *sec, const char *key, char **path);

/*
 * Print "file:line: [section] key: message" (the section's line when the key
 * is absent or NULL, "-s section.key" for an override).  Returns -EINVAL.
 */
int config_error(struct config *cfg, const struct cfg_section *sec, const char *key,
		 const char *fmt, ...) AVMM_PRINTF(4, 5);
int config_verror(struct config *cfg, const struct cfg_section *sec, const char *key,
		  const char *fmt, va_list ap);

/* Report every key of `sec` nobody looked up; -EINVAL if there was one. */
int config_check_unused(struct config *cfg, struct cfg_section *sec);

/* Number parsing shared with plugins' cfg_u64: 42, 0x2a, 0b101010, 512M, 2G. */
int config_parse_u64(const char *text, uint64_t *value);
int config_parse_bool(const char *text, bool *value);

#endif
