/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include <ini.h>

/*
 * inih is fed by our own reader, one physical line per call, so that:
 *  - we count lines (distro builds report no line numbers to handlers): the
 *    handler runs before the next line is read, so `line` is the key's line;
 *  - we see each section header first and are the one authority on which
 *    section a key belongs to (inih truncates section names at 49 bytes);
 *  - lines of any length up to CFG_MAX_LINE work although inih's line buffer
 *    is fixed when it is built (200 bytes in Debian's and Homebrew's): inih
 *    gets the line's first part and finds the key and where its value starts,
 *    and the handler takes the value from our whole copy of the line.
 */
#define CFG_MAX_LINE 65536 /* far more than a kernel command line (2048 on arm64) */
#define UTF8_BOM "\xef\xbb\xbf"

struct parse_state {
	struct config *cfg;
	/* input: a FILE or a string */
	FILE *fp;
	const char *text;
	int line;
	char *full;         /* the current line, whole, without its newline */
	size_t full_cap;
	const char *handed; /* inih's line buffer, as our reader filled it */
	size_t handed_len;  /* how much of `full` inih got */
	bool cut;           /* inih got only the first part of the line */
	bool skip;          /* the line is refused already: ignore it */
	struct cfg_section *cur; /* the section the current line is in */
	bool cur_has_keys;
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

static struct cfg_section *find_device(struct config *cfg, const char *dev)
{
	for (size_t i = 0; i < cfg->nsections; i++)
		if (cfg->sections[i].dev && !strcmp(cfg->sections[i].dev, dev))
			return &cfg->sections[i];
	return NULL;
}

/*
 * Section headers are recognised here, where their line is known; inih's view
 * of the same line is only checked against ours in the handler.
 */
static void note_section_header(struct parse_state *ps, const char *lineptr)
{
	const char *p = lineptr, *end;
	char name[128];
	size_t n;
	struct cfg_section *s;

	if (ps->line == 1 && !strncmp(p, UTF8_BOM, 3))
		p += 3; /* inih skips it too */
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '[')
		return;
	/* Until it is known, keys cannot go to the previous section. */
	ps->cur = NULL;
	ps->cur_has_keys = false;
	end = strchr(p, ']');
	if (!end)
		return; /* inih reports the syntax error */
	p++;
	while (p < end && isspace((unsigned char)*p))
		p++;
	while (end > p && isspace((unsigned char)end[-1]))
		end--;
	n = (size_t)(end - p);
	if (n >= sizeof(name)) {
		set_error(ps, ps->line, "section name longer than %zu characters", sizeof(name) - 1);
		return;
	}
	memcpy(name, p, n);
	name[n] = '\0';
	s = find_section_exact(ps->cfg, name);
	if (s) {
		set_error(ps, ps->line, "duplicate section [%s] (first at line %d)", name, s->line);
		return;
	}
	s = add_section(ps->cfg, name, ps->line);
	if (s->dev) {
		struct cfg_section *other = find_device(ps->cfg, s->dev);

		/* Devices share one namespace with the core sections (-s, lookups). */
		if (!strcmp(s->dev, "machine") || !strcmp(s->dev, "boot"))
			set_error(ps, ps->line, "[%s]: '%s' is the name of the [%s] section; call the "
				  "device something else", name, s->dev, s->dev);
		else if (other != s)
			set_error(ps, ps->line, "duplicate device '%s' (first at line %d)", s->dev,
				  other->line);
	}
	ps->cur = s;
}

/* Read the next whole line into ps->full, without its newline; -1 at the end. */
static ssize_t read_line(struct parse_state *ps)
{
	ssize_t len;

	if (ps->fp) {
		len = getline(&ps->full, &ps->full_cap, ps->fp);
		if (len < 0)
			return -1;
	} else {
		const char *nl;

		if (!*ps->text)
			return -1;
		nl = strchr(ps->text, '\n');
		len = nl ? nl - ps->text + 1 : (ssize_t)strlen(ps->text);
		if ((size_t)len >= ps->full_cap) {
			ps->full_cap = (size_t)len + 1;
			ps->full = xrealloc(ps->full, ps->full_cap);
		}
		memcpy(ps->full, ps->text, (size_t)len);
		ps->full[len] = '\0';
		ps->text += len;
	}
	if (len && ps->full[len - 1] == '\n')
		ps->full[--len] = '\0';
	return len;
}

/* True for a line that inih would take as the continuation of a value. */
static bool is_continuation(const struct parse_state *ps)
{
	const char *p = ps->full;

	if (!ps->cur_has_keys || !isspace((unsigned char)*p))
		return false;
	while (isspace((unsigned char)*p))
		p++;
	return *p && !strchr(INI_START_COMMENT_PREFIXES, *p);
}

static char *reader(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	size_t n;
	ssize_t len = read_line(ps);

	if (len < 0 || num < 2)
		return NULL;
	ps->line++;
	ps->cut = false;
	ps->skip = false;
	if (len > CFG_MAX_LINE) {
		set_error(ps, ps->line, "line longer than %d characters", CFG_MAX_LINE);
		ps->skip = true;
	} else if (is_continuation(ps)) {
		set_error(ps, ps->line, "indented line: INI reads it as more of the value above; "
			  "remove the indentation, or join the lines");
		ps->skip = true;
	}
	if (ps->skip) {
		/* inih still gets a line: its line numbers must stay ours. */
		memcpy(str, "\n", 2);
		return str;
	}
	note_section_header(ps, ps->full);
	n = (size_t)len;
	if (n > (size_t)num - 2) {
		/* Ends in a newline, so inih does not try to read the rest itself. */
		n = (size_t)num - 2;
		ps->cut = true;
	}
	memcpy(str, ps->full, n);
	memcpy(str + n, "\n", 2);
	ps->handed = str;
	ps->handed_len = n;
	return str;
}

/*
 * The value of a line inih got only part of: from where inih found it in its
 * buffer to where it would have ended it in the whole line, at an inline
 * comment (a ';' after a blank) or the end, less blanks.  NULL if `value`
 * is not in the buffer we filled (a different inih: we cannot tell).
 */
static const char *whole_value(struct parse_state *ps, const char *value)
{
	uintptr_t v = (uintptr_t)value, b = (uintptr_t)ps->handed;
	char *full = ps->full;
	size_t i, end;

	if (v < b || v > b + ps->handed_len)
		return NULL;
	i = v - b;
	/* inih stops at its own end of buffer: skip blanks it may have stopped at. */
	while (isspace((unsigned char)full[i]))
		i++;
	for (end = i; full[end]; end++) {
#if INI_ALLOW_INLINE_COMMENTS
		if (strchr(INI_INLINE_COMMENT_PREFIXES, full[end]) && end &&
		    isspace((unsigned char)full[end - 1]))
			break;
#endif
	}
	while (end > i && isspace((unsigned char)full[end - 1]))
		end--;
	full[end] = '\0';
	return full + i;
}

/* inih's section, less the blanks inside the brackets, is a prefix of ours. */
static bool same_section(const struct cfg_section *s, const char *section)
{
	size_t n;

	while (isspace((unsigned char)*section))
		section++;
	n = strlen(section);
	while (n && isspace((unsigned char)section[n - 1]))
		n--;
	return n && n <= strlen(s->name) && !strncmp(s->name, section, n);
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *ps = user;
	struct cfg_section *s = ps->cur;

	if (ps->skip)
		return 1; /* refused by the reader, reported there */
	if (!*section || !s) {
		set_error(ps, ps->line, "'%s' is outside any [section]", name);
		return 0;
	}
	if (!same_section(s, section)) {
		set_error(ps, ps->line, "cannot tell which section '%s' is in", name);
		return 0;
	}
	if (ps->cut && !(value = whole_value(ps, value))) {
		set_error(ps, ps->line, "line longer than %zu characters", ps->handed_len);
		return 0;
	}
	for (size_t i = 0; i < s->nkeys; i++) {
		if (!strcmp(s->keys[i].name, name)) {
			set_error(ps, ps->line, "[%s] %s: duplicate key (first at line %d)", s->name,
				  name, s->keys[i].line);
			return 0;
		}
	}
	add_key(s, name, value, ps->line, false);
	ps->cur_has_keys = true;
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
	free(ps.full);
	return finish_parse(cfg, &ps, rc);
}

int config_load_string(struct config *cfg, const char *name, const char *text)
{
	struct parse_state ps = {.cfg = cfg, .text = text};
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	set_paths(cfg, name);
	rc = ini_parse_stream(reader, &ps, handler, &ps);
	free(ps.full);
	return finish_parse(cfg, &ps, rc);
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
