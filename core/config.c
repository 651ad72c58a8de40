/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

/*
 * inih reports no line numbers to handlers in distro builds, so we feed it
 * through our own fgets-style reader and count lines there: the handler runs
 * before the next line is read, so `line` is the current key's line.
 */
struct parse_state {
	struct config *cfg;
	/* input: a FILE or a string */
	FILE *fp;
	const char *text;
	int line;
	int error_line; /* first error found by us, 0 if none */
	char error[256];
};

static void set_error(struct parse_state *ps, int line, const char *fmt, ...) AVMM_PRINTF(3, 4);
static void set_error(struct parse_state *ps, int line, const char *fmt, ...)
{
	va_list ap;

	if (ps->error_line)
		return;
	ps->error_line = line;
	va_start(ap, fmt);
	vsnprintf(ps->error, sizeof(ps->error), fmt, ap);
	va_end(ap);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);

	if (!d) {
		fprintf(stderr, "avmm: out of memory\n");
		exit(1);
	}
	return d;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "avmm: out of memory\n");
		exit(1);
	}
	return p;
}

static struct cfg_section *find_section_exact(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (!strcmp(cfg->sections[i].name, name))
			return &cfg->sections[i];
	return NULL;
}

static struct cfg_section *add_section(struct config *cfg, const char *name, int line)
{
	struct cfg_section *s;
	const char *p;

	cfg->sections = xrealloc(cfg->sections, (cfg->nsections + 1) * sizeof(*s));
	s = &cfg->sections[cfg->nsections++];
	memset(s, 0, sizeof(*s));
	s->name = xstrdup(name);
	s->line = line;
	/* "device NAME": the instance name follows the first run of blanks. */
	if (!strncmp(name, "device", 6) && isspace((unsigned char)name[6])) {
		for (p = name + 6; isspace((unsigned char)*p);)
			p++;
		s->dev = xstrdup(p);
	}
	return s;
}

static void add_key(struct cfg_section *s, const char *name, const char *value, int line,
		    bool override)
{
	struct cfg_key *k;

	s->keys = xrealloc(s->keys, (s->nkeys + 1) * sizeof(*k));
	k = &s->keys[s->nkeys++];
	k->name = xstrdup(name);
	k->value = xstrdup(value);
	k->line = line;
	k->used = false;
	k->override = override;
}

/*
 * inih copies a section name into a 50-byte buffer, cutting longer ones: we
 * refuse those, so both sides always see the same name.
 */
#define CONFIG_MAX_SECTION 49
#define CONFIG_MAX_NAME 49 /* the same for key names */

/* Blanks inside the brackets are not part of the name: "[ machine ]" works. */
static void trim_name(const char *p, const char *end, char *name, size_t size)
{
	size_t n;

	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - p) < size - 1 ? (size_t)(end - p) : size - 1;
	memcpy(name, p, n);
	name[n] = '\0';
}

/* Section headers are recognised here too, to learn their line numbers. */
static void note_section_header(struct parse_state *ps, const char *lineptr)
{
	const char *p = lineptr, *end;
	char name[CONFIG_MAX_SECTION + 1];
	struct cfg_section *s;

	/* inih skips a UTF-8 byte order mark at the start of the file. */
	if (ps->line == 1 && !strncmp(p, "\xef\xbb\xbf", 3))
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '[')
		return;
	end = strchr(p, ']');
	if (!end)
		return; /* inih reports the syntax error */
	p++;
	if ((size_t)(end - p) > CONFIG_MAX_SECTION) {
		set_error(ps, ps->line, "section name too long (at most %d characters)",
			  CONFIG_MAX_SECTION);
		return;
	}
	trim_name(p, end, name, sizeof(name));
	s = find_section_exact(ps->cfg, name);
	if (s) {
		set_error(ps, ps->line, "duplicate section [%s] (first at line %d)", name, s->line);
		return;
	}
	add_section(ps->cfg, name, ps->line);
}

static char *reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	size_t len;

	if (ps->fp) {
		if (!fgets(str, num, ps->fp))
			return NULL;
	} else {
		const char *nl;

		if (!*ps->text)
			return NULL;
		nl = strchr(ps->text, '\n');
		len = nl ? (size_t)(nl - ps->text + 1) : strlen(ps->text);
		if (len > (size_t)num - 1) {
			/* Mimic fgets: hand over what fits, the rest follows. */
			len = (size_t)num - 1;
		}
		memcpy(str, ps->text, len);
		str[len] = '\0';
		ps->text += len;
	}
	ps->line++;
	len = strlen(str);
	if (len == (size_t)num - 1 && str[len - 1] != '\n') {
		int c;

		/* inih would split the line; refuse instead of misparsing it. */
		set_error(ps, ps->line, "line longer than %d characters", num - 2);
		if (ps->fp) {
			while ((c = fgetc(ps->fp)) != EOF && c != '\n')
				;
		} else {
			const char *nl = strchr(ps->text, '\n');
			ps->text = nl ? nl + 1 : ps->text + strlen(ps->text);
		}
	}
	note_section_header(ps, str);
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct cfg_section *s;
	char sname[CONFIG_MAX_SECTION + 1];

	trim_name(section, section + strlen(section), sname, sizeof(sname));
	section = sname;
	if (!*section) {
		set_error(ps, ps->line, "'%s' is outside any [section]", name);
		return 0;
	}
	/*
	 * inih keeps a key's name in a 50-byte buffer for continuation lines, which
	 * would then arrive as a second key under a cut name: refuse long names.
	 */
	if (strlen(name) > CONFIG_MAX_NAME) {
		set_error(ps, ps->line, "[%s] key name too long (at most %d characters)", section,
			  CONFIG_MAX_NAME);
		return 0;
	}
	s = find_section_exact(ps->cfg, section);
	if (!s) /* cannot happen: the reader saw the header */
		s = add_section(ps->cfg, section, ps->line);
	for (size_t i = 0; i < s->nkeys; i++) {
		if (!strcmp(s->keys[i].name, name)) {
			set_error(ps, ps->line, "[%s] %s: duplicate key (first at line %d)", section,
				  name, s->keys[i].line);
			return 0;
		}
	}
	add_key(s, name, value, ps->line, false);
	return 1;
}

static void set_paths(struct config *cfg, const char *path)
{
	const char *slash = strrchr(path, '/');

	cfg->path = xstrdup(path);
	if (slash) {
		cfg->dir = xstrdup(path);
		cfg->dir[slash - path + (slash == path)] = '\0';
	} else {
		cfg->dir = xstrdup(".");
	}
}

static int finish_parse(struct config *cfg, struct parse_state *ps, int rc)
{
	if (ps->error_line && (rc <= 0 || ps->error_line <= rc)) {
		fprintf(stderr, "%s:%d: %s\n", cfg->path, ps->error_line, ps->error);
		return -EINVAL;
	}
	if (rc > 0) {
		fprintf(stderr, "%s:%d: syntax error: expected '[section]' or 'key = value'\n",
			cfg->path, rc);
		return -EINVAL;
	}
	if (rc < 0) {
		fprintf(stderr, "%s: cannot parse (error %d)\n", cfg->path, rc);
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, const char *path)
{
	struct parse_state ps = {.cfg = cfg};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	set_paths(cfg, path);
	ps.fp = fopen(path, "r");
	if (!ps.fp) {
		rc = -errno;
		fprintf(stderr, "%s: cannot open machine description: %s\n", path, strerror(-rc));
		return rc;
	}
	rc = ini_parse_stream(reader, &ps, handler, &ps);
	fclose(ps.fp);
	return finish_parse(cfg, &ps, rc);
}

int config_load_string(struct config *cfg, const char *name, const char *text)
{
	struct parse_state ps = {.cfg = cfg, .text = text};

	memset(cfg, 0, sizeof(*cfg));
	set_paths(cfg, name);
	return finish_parse(cfg, &ps, ini_parse_stream(reader, &ps, handler, &ps));
}

void config_free(struct config *cfg)
{
	for (size_t i = 0; i < cfg->nsections; i++) {
		struct cfg_section *s = &cfg->sections[i];

		for (size_t j = 0; j < s->nkeys; j++) {
			free(s->keys[j].name);
			free(s->keys[j].value);
		}
		free(s->keys);
		free(s->name);
		free(s->dev);
	}
	free(cfg->sections);
	free(cfg->path);
	free(cfg->dir);
	memset(cfg, 0, sizeof(*cfg));
}

struct cfg_section *config_section(struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nsections; i++) {
		struct cfg_section *s = &cfg->sections[i];

		if (s->dev ? !strcmp(s->dev, name) : !strcmp(s->name, name))
			return s;
	}
	return NULL;
}

struct cfg_key *config_key(struct cfg_section *sec, const char *key)
{
	if (!sec)
		return NULL;
	for (size_t i = 0; i < sec->nkeys; i++)
		if (!strcmp(sec->keys[i].name, key))
			return &sec->keys[i];
	return NULL;
}

int config_override(struct config *cfg, const char *spec)
{
	const char *dot = strchr(spec, '.'), *eq = strchr(spec, '=');
	char sect[128], key[128];
	struct cfg_section *s;
	struct cfg_key *k;
	size_t n;

	if (!dot || !eq || eq < dot || dot == spec || eq == dot + 1) {
		fprintf(stderr, "avmm: -s %s: expected SECTION.KEY=VALUE, e.g. -s machine.cpus=2\n",
			spec);
		return -EINVAL;
	}
	n = (size_t)(dot - spec);
	if (n >= sizeof(sect) || (size_t)(eq - dot - 1) >= sizeof(key)) {
		fprintf(stderr, "avmm: -s %s: name too long\n", spec);
		return -EINVAL;
	}
	memcpy(sect, spec, n);
	sect[n] = '\0';
	memcpy(key, dot + 1, (size_t)(eq - dot - 1));
	key[eq - dot - 1] = '\0';

	s = config_section(cfg, sect);
	if (!s) {
		if (strcmp(sect, "machine") && strcmp(sect, "boot")) {
			fprintf(stderr,
				"avmm: -s %s: no section [%s] or [device %s] in %s\n", spec,
				sect, sect, cfg->path);
			return -EINVAL;
		}
		s = add_section(cfg, sect, 0);
	}
	k = config_key(s, key);
	if (k) {
		free(k->value);
		k->value = xstrdup(eq + 1);
		k->line = 0;
		k->override = true;
	} else {
		add_key(s, key, eq + 1, 0, true);
	}
	return 0;
}

int config_verror(struct config *cfg, const struct cfg_section *sec, const char *key,
		  const char *fmt, va_list ap)
{
	struct cfg_key *k = key ? config_key((struct cfg_section *)sec, key) : NULL;
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (k && k->override)
		fprintf(stderr, "avmm: -s %s.%s=%s: %s\n", sec->dev ? sec->dev : sec->name, key,
			k->value, msg);
	else if (k)
		fprintf(stderr, "%s:%d: [%s] %s: %s\n", cfg->path, k->line, sec->name, key, msg);
	else if (sec && key)
		fprintf(stderr, "%s:%d: [%s] %s: %s\n", cfg->path, sec->line, sec->name, key, msg);
	else if (sec)
		fprintf(stderr, "%s:%d: [%s]: %s\n", cfg->path, sec->line, sec->name, msg);
	else
		fprintf(stderr, "%s: %s\n", cfg->path, msg);
	return -EINVAL;
}

int config_error(struct config *cfg, const struct cfg_section *sec, const char *key,
		 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	config_verror(cfg, sec, key, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int config_str(struct config *cfg, struct cfg_section *sec, const char *key, const char **value)
{
	struct cfg_key *k = config_key(sec, key);

	(void)cfg;
	if (!k)
		return -ENOENT;
	k->used = true;
	*value = k->value;
	return 0;
}

int config_parse_u64(const char *text, uint64_t *value)
{
	const char *p = text;
	uint64_t v = 0, mul = 1;
	unsigned base = 10;
	bool any = false;

	while (isspace((unsigned char)*p))
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	} else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B')) {
		base = 2;
		p += 2;
	}
	for (;; p++) {
		unsigned d;

		if (*p == '_' && any)
			continue; /* 0x4000_0000 reads better */
		if (isdigit((unsigned char)*p))
			d = (unsigned)(*p - '0');
		else if (base == 16 && isxdigit((unsigned char)*p))
			d = (unsigned)(tolower((unsigned char)*p) - 'a' + 10);
		else
			break;
		if (d >= base)
			return -EINVAL;
		if (v > (UINT64_MAX - d) / base)
			return -ERANGE;
		v = v * base + d;
		any = true;
	}
	if (!any)
		return -EINVAL;
	switch (toupper((unsigned char)*p)) {
	case 'K':
		mul = 1ull << 10;
		break;
	case 'M':
		mul = 1ull << 20;
		break;
	case 'G':
		mul = 1ull << 30;
		break;
	case 'T':
		mul = 1ull << 40;
		break;
	default:
		break;
	}
	if (mul != 1) {
		p++;
		if ((p[0] == 'i' || p[0] == 'I') && (p[1] == 'B' || p[1] == 'b'))
			p += 2;
		else if (p[0] == 'B' || p[0] == 'b')
			p++;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p)
		return -EINVAL;
	if (v > UINT64_MAX / mul)
		return -ERANGE;
	*value = v * mul;
	return 0;
}

int config_parse_bool(const char *text, bool *value)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(text, yes[i])) {
			*value = true;
			return 0;
		}
		if (!strcasecmp(text, no[i])) {
			*value = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_u64(struct config *cfg, struct cfg_section *sec, const char *key, uint64_t *value)
{
	const char *s;
	int rc = config_str(cfg, sec, key, &s);

	if (rc)
		return rc;
	rc = config_parse_u64(s, value);
	if (rc == -ERANGE)
		return config_error(cfg, sec, key, "'%s' is too large for 64 bits", s);
	if (rc)
		return config_error(cfg, sec, key,
				    "'%s' is not a number (use e.g. 42, 0x2a, 0b101010, 512M, 2G)",
				    s);
	return 0;
}

int config_bool(struct config *cfg, struct cfg_section *sec, const char *key, bool *value)
{
	const char *s;
	int rc = config_str(cfg, sec, key, &s);

	if (rc)
		return rc;
	if (config_parse_bool(s, value))
		return config_error(cfg, sec, key, "'%s' is not a boolean (use true or false)", s);
	return 0;
}

int config_path(struct config *cfg, struct cfg_section *sec, const char *key, char **path)
{
	struct cfg_key *k = config_key(sec, key);
	char *p;

	if (!k)
		return -ENOENT;
	k->used = true;
	if (!*k->value)
		return config_error(cfg, sec, key, "empty file name");
	if (k->value[0] == '/' || k->override || !strcmp(cfg->dir, ".")) {
		p = xstrdup(k->value);
	} else {
		size_t n = strlen(cfg->dir) + strlen(k->value) + 2;

		p = xrealloc(NULL, n);
		snprintf(p, n, "%s/%s", cfg->dir, k->value);
	}
	if (access(p, R_OK)) {
		int e = errno;

		config_error(cfg, sec, key, "cannot read '%s': %s", p, strerror(e));
		free(p);
		return -EINVAL;
	}
	*path = p;
	return 0;
}

int config_check_unused(struct config *cfg, struct cfg_section *sec)
{
	int rc = 0;

	for (size_t i = 0; i < sec->nkeys; i++) {
		if (!sec->keys[i].used)
			rc = config_error(cfg, sec, sec->keys[i].name,
					  "unknown key (misspelt, or not supported here)");
	}
	return rc;
}
