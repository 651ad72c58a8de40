/* SPDX-License-Identifier: MIT */
/*
 * The machine description: INI text through config.c (inih underneath),
 * then every [device] section that names a built-in plugin is created with
 * the real plugin, as vm.c/device.c do (irqchip first), through a host table
 * whose config calls are config.c's own on that section.  The other host
 * services come from the fake host.
 *
 * Input: the file's text.  Invariants:
 *  - parse: every section's line holds "[name]" as stored (blanks inside the
 *    brackets aside); every key
 *    lies after its section's header with no header between, and its line
 *    starts with the key's name and then '=' or ':'; names are unique;
 *    plain decimal values parse as strtoull does;
 *  - devices: a key the plugin found malformed (reported, -EINVAL) never
 *    yields a created device; a refused device always tells the user why;
 *    a created device has looked up every key it accepted, registered its
 *    MMIO at the configured base, and unknown keys are reported.
 */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "fakehost.h"
#include "fuzz.h"

extern const struct avmm_plugin_desc fuzz_plugin_gicv2, fuzz_plugin_pl011,
	fuzz_plugin_virt_timer;

/* ---- a host table whose config calls go to config.c -------------------- */

static struct config cfg;
static struct {
	struct cfg_section *sec;
	unsigned bad;      /* lookups that failed as malformed, and cfg_error calls */
	bool chip_claimed[1024];
} cur;
static const struct avmm_irqchip_ops *chip;

static int q_cfg_str(struct avmm_dev *dev, const char *key, const char **value)
{
	(void)dev;
	return config_str(&cfg, cur.sec, key, value);
}

static int q_cfg_u64(struct avmm_dev *dev, const char *key, uint64_t *value)
{
	int rc = config_u64(&cfg, cur.sec, key, value);

	(void)dev;
	cur.bad += rc == -EINVAL;
	return rc;
}

static int q_cfg_bool(struct avmm_dev *dev, const char *key, bool *value)
{
	int rc = config_bool(&cfg, cur.sec, key, value);

	(void)dev;
	cur.bad += rc == -EINVAL;
	return rc;
}

static int q_cfg_error(struct avmm_dev *dev, const char *key, const char *fmt, ...)
{
	va_list ap;

	(void)dev;
	cur.bad++;
	va_start(ap, fmt);
	config_verror(&cfg, cur.sec, key, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* device.c's irq_claim: a number below the irqchip's lines, not yet taken. */
static int q_irq_claim(struct avmm_dev *dev, const char *key, unsigned *line)
{
	uint64_t v;
	int rc = q_cfg_u64(dev, key, &v);

	if (rc)
		return rc;
	if (!chip || v >= chip->nr_lines) {
		cur.bad++;
		config_error(&cfg, cur.sec, key, "no such line");
		return -ERANGE;
	}
	if (cur.chip_claimed[v]) {
		cur.bad++;
		config_error(&cfg, cur.sec, key, "line taken");
		return -EBUSY;
	}
	cur.chip_claimed[v] = true;
	*line = (unsigned)v;
	return 0;
}

static int q_chr_open(struct avmm_dev *dev, const char *key, const char *def,
		      struct avmm_chr **chr)
{
	const char *spec;

	(void)config_str(&cfg, cur.sec, key, &spec); /* marks it used; never opened here */
	return fakehost.chr_open(dev, key, def, chr);
}

static struct avmm_host host;

/* ---- parse invariants ---------------------------------------------------- */

#define MAX_LINES 4096

static const char *line_at[MAX_LINES + 1];
static size_t line_len[MAX_LINES + 1];
static int nlines;

static void split_lines(const char *text)
{
	nlines = 0;
	for (const char *p = text; *p && nlines < MAX_LINES;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);

		line_at[++nlines] = p;
		line_len[nlines] = n;
		p += n + (nl != NULL);
	}
}

/* The line without leading blanks (and a UTF-8 BOM on line 1, as inih skips). */
static const char *stripped(int line, size_t *len)
{
	const char *p = line_at[line];
	size_t n = line_len[line];

	if (line == 1 && n >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
		p += 3, n -= 3;
	while (n && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\v' || *p == '\f'))
		p++, n--;
	*len = n;
	return p;
}

static bool is_header(int line)
{
	size_t n;
	const char *p = stripped(line, &n);

	return n && *p == '[';
}

static void check_parse(void)
{
	for (size_t i = 0; i < cfg.nsections; i++) {
		const struct cfg_section *s = &cfg.sections[i];
		size_t n, nl = strlen(s->name);
		const char *p;

		FUZZ_CHECK(s->line >= 1 && s->line <= nlines);
		/* "[", blanks, the name, blanks, "]". */
		p = stripped(s->line, &n);
		FUZZ_CHECK(n && *p == '[');
		p++, n--;
		while (n && strchr(" \t\r\v\f", *p))
			p++, n--;
		FUZZ_CHECKF(n > nl && !memcmp(p, s->name, nl) &&
				    strspn(p + nl, " \t\r\v\f") < n - nl &&
				    p[nl + strspn(p + nl, " \t\r\v\f")] == ']',
			    "section [%s] at line %d: '%.*s'", s->name, s->line,
			    (int)line_len[s->line], line_at[s->line]);
		for (size_t j = i + 1; j < cfg.nsections; j++)
			FUZZ_CHECK(strcmp(s->name, cfg.sections[j].name));
		for (size_t k = 0; k < s->nkeys; k++) {
			const struct cfg_key *key = &s->keys[k];
			size_t kl = strlen(key->name);

			FUZZ_CHECKF(key->line > s->line && key->line <= nlines,
				    "[%s] %s at line %d", s->name, key->name, key->line);
			for (int l = s->line + 1; l <= key->line; l++)
				FUZZ_CHECKF(!is_header(l), "[%s] %s at line %d: header at line %d",
					    s->name, key->name, key->line, l);
			p = stripped(key->line, &n);
			FUZZ_CHECKF(n > kl && !memcmp(p, key->name, kl), "[%s] '%s' at line %d",
				    s->name, key->name, key->line);
			p += kl;
			n -= kl;
			while (n && strchr(" \t\r\v\f", *p))
				p++, n--;
			FUZZ_CHECK(n && (*p == '=' || *p == ':'));
			for (size_t m = k + 1; m < s->nkeys; m++)
				FUZZ_CHECK(strcmp(key->name, s->keys[m].name));
			/* Plain decimal: the same number strtoull reads. */
			if (key->value[0] && strspn(key->value, "0123456789") == strlen(key->value) &&
			    strlen(key->value) < 20) {
				uint64_t v;

				FUZZ_CHECK(config_parse_u64(key->value, &v) == 0);
				FUZZ_CHECK(v == strtoull(key->value, NULL, 10));
			}
		}
	}
}

/* ---- devices --------------------------------------------------------------- */

static const struct avmm_plugin_desc *plugin_for(struct cfg_section *s)
{
	const char *name;

	if (!s->dev || config_str(&cfg, s, "plugin", &name))
		return NULL;
	if (!strcmp(name, "gicv2"))
		return &fuzz_plugin_gicv2;
	if (!strcmp(name, "pl011"))
		return &fuzz_plugin_pl011;
	if (!strcmp(name, "virt-timer"))
		return &fuzz_plugin_virt_timer;
	return NULL;
}

#define MAX_DEVS 8

static struct avmm_dev devs[MAX_DEVS];
static void *insts[MAX_DEVS];
static const struct avmm_plugin_desc *descs[MAX_DEVS];

static void check_base(struct avmm_dev *d, struct cfg_section *s, const char *key, unsigned r)
{
	struct cfg_key *k = config_key(s, key);
	uint64_t v;

	FUZZ_CHECK(k && k->used && config_parse_u64(k->value, &v) == 0);
	FUZZ_CHECK(r < d->nregions && d->regions[r].base == v);
}

static void create_devices(unsigned ncpus, FILE *msgs, char **msgbuf, size_t *msglen)
{
	unsigned ndev = 0;

	chip = NULL;
	memset(cur.chip_claimed, 0, sizeof(cur.chip_claimed));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < cfg.nsections && ndev < MAX_DEVS; i++) {
			struct cfg_section *s = &cfg.sections[i];
			const struct avmm_plugin_desc *desc = plugin_for(s);
			struct avmm_dev *d = &devs[ndev];
			char err[256] = "";
			size_t before;
			int rc, unused;

			if (!desc || ((desc->flags & AVMM_PLUGIN_IRQCHIP) != 0) != (pass == 0))
				continue;
			if (pass == 0 && chip)
				continue; /* one irqchip per machine */
			fake_init(d, s->dev, ncpus);
			cur.sec = s;
			cur.bad = 0;
			fflush(msgs);
			before = *msglen;
			insts[ndev] = NULL;
			rc = desc->create(d, &host, &insts[ndev], err, sizeof(err));
			fflush(msgs);
			if (rc) {
				FUZZ_CHECK(rc < 0 && !insts[ndev]);
				/* device.c prints err, or strerror for codes other than -EINVAL. */
				FUZZ_CHECKF(err[0] || rc != -EINVAL || *msglen > before,
					    "[%s] %s: refused silently", s->name, desc->name);
				fake_fini(d);
				continue;
			}
			FUZZ_CHECKF(cur.bad == 0, "[%s] %s: created despite %u reported errors",
				    s->name, desc->name, cur.bad);
			before = *msglen;
			unused = config_check_unused(&cfg, s);
			fflush(msgs);
			for (size_t k = 0; k < s->nkeys; k++)
				if (!s->keys[k].used)
					FUZZ_CHECK(unused == -EINVAL && *msglen > before &&
						   strstr(*msgbuf + before, s->keys[k].name));
			if (desc == &fuzz_plugin_gicv2) {
				check_base(d, s, "dist-base", 0);
				check_base(d, s, "cpu-base", 1);
				chip = d->irqchip;
				FUZZ_CHECK(chip);
			} else if (desc == &fuzz_plugin_pl011) {
				check_base(d, s, "base", 0);
			}
			descs[ndev++] = desc;
		}
	}
	for (unsigned i = 0; i < ndev; i++) {
		descs[i]->destroy(insts[i]);
		fake_fini(&devs[i]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *msgbuf = NULL;
	size_t msglen = 0;
	FILE *msgs, *saved = stderr;
	struct cfg_section *m;
	uint64_t cpus = 1;
	int rc;

	FUZZ_CHECK(text);
	memcpy(text, data, size);
	text[size] = '\0';
	host = fakehost;
	host.cfg_str = q_cfg_str;
	host.cfg_u64 = q_cfg_u64;
	host.cfg_bool = q_cfg_bool;
	host.cfg_error = q_cfg_error;
	host.irq_claim = q_irq_claim;
	host.chr_open = q_chr_open;

	/* config.c reports on stderr: keep it, to check that errors are reported. */
	msgs = open_memstream(&msgbuf, &msglen);
	FUZZ_CHECK(msgs);
	stderr = msgs;
	rc = config_load_string(&cfg, "fuzz.ini", text);
	fflush(msgs);
	stderr = saved;
	if (rc) {
		FUZZ_CHECK(rc == -EINVAL && msglen > 0);
		goto out;
	}
	split_lines(text);
	check_parse();

	m = config_section(&cfg, "machine");
	if (m && config_key(m, "cpus"))
		(void)config_parse_u64(config_key(m, "cpus")->value, &cpus);
	if (cpus < 1 || cpus > 8)
		cpus = 1;
	stderr = msgs;
	create_devices((unsigned)cpus, msgs, &msgbuf, &msglen);
	stderr = saved;
out:
	config_free(&cfg);
	fclose(msgs);
	free(msgbuf);
	free(text);
	return 0;
}
