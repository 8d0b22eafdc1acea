/*
 * k8s_compose.c - Kubernetes mode's config: the daemon's own file composed
 * with the cluster's ConfigMap (data.config), layer 2 membership listed
 * from the eligible Nodes, and what the leader says about the ConfigMap
 * in Events (ConfigLoaded / ConfigStale).
 *
 * It owns the ConfigMap's state machine (waiting, loaded, invalid, stale:
 * a broken or deleted ConfigMap keeps the last good config running) and
 * the errors of the last failed data.config.  The running config is the
 * core's: the glue passes it in where it is needed.
 *
 * It also keeps the last good data.config in a file on the node
 * (kubernetes.last-good-config), written whenever a new one loads, so that
 * a node that restarts while the ConfigMap is broken (or deleted) starts
 * from it, marked stale, instead of from nothing: a broken ConfigMap never
 * withdraws anything, across restarts too (doc/kubernetes.md says why a
 * node-local file and not an object in the API).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <json-c/json.h>

#include "bgplb/log.h"
#include "k8s_json.h"
#include "k8s_source_priv.h"

#define LAST_GOOD_VERSION	1
#define LAST_GOOD_MAX		(16u * 1024 * 1024)

const char *const ks_cm_state_names[] = { "waiting", "loaded", "invalid",
    "stale" };

void
ks_free_cm_errors(struct daemon_k8s *k)
{
	for (size_t i = 0; i < k->ncm_errors; i++)
		free(k->cm_errors[i]);
	free(k->cm_errors);
	k->cm_errors = NULL;
	k->ncm_errors = 0;
}

bool
ks_node_eligible(const struct k8s_node *n, char *why, size_t len)
{
	if (n->excluded) {
		snprintf(why, len, "node %s has the label %s", n->name,
		    K8S_LABEL_EXCLUDE_LB);
		return false;
	}
	if (n->network_unavailable) {
		snprintf(why, len, "node %s has the condition "
		    "NetworkUnavailable", n->name);
		return false;
	}
	return true;
}

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cfg_member *)a)->name,
	    ((const struct cfg_member *)b)->name);
}

/*
 * Layer 2 membership in a cluster: every eligible Node, at its first
 * InternalIP of the family membership listens on (IPv4 when it listens on
 * the wildcard and the node has one).
 */
static void
set_members(struct daemon_k8s *k, struct cfg *cfg)
{
	struct smap_ent **all;
	size_t n, m = 0;
	char why[160];

	cfg_members_free(&cfg->layer2);
	if (!cfg->layer2.has_membership)
		return;
	n = smap_all(&k->nodes, &all);
	cfg->layer2.members = xcalloc(n ? n : 1, sizeof(*cfg->layer2.members));
	for (size_t i = 0; i < n; i++) {
		const struct k8s_node *nd = &((struct node_ent *)all[i])->node;
		const struct addr *pick = NULL;
		uint8_t want = cfg->layer2.listen.af;

		if (!ks_node_eligible(nd, why, sizeof(why)))
			continue;
		for (size_t j = 0; j < nd->ninternal_ips && pick == NULL; j++)
			if (want == 0 ? nd->internal_ips[j].af == ADDR_AF_INET :
			    nd->internal_ips[j].af == want)
				pick = &nd->internal_ips[j];
		if (pick == NULL && want == 0 && nd->ninternal_ips > 0)
			pick = &nd->internal_ips[0];
		if (pick == NULL)
			continue;
		cfg->layer2.members[m].name = xstrdup(nd->name);
		cfg->layer2.members[m].address = *pick;
		cfg->layer2.members[m].port = cfg->layer2.listen_port;
		m++;
	}
	free(all);
	qsort(cfg->layer2.members, m, sizeof(*cfg->layer2.members), member_cmp);
	cfg->layer2.nmembers = m;
}

static char *
members_sig(const struct cfg *cfg)
{
	struct evbuffer *b = evbuffer_new();
	char a[ADDR_STRLEN], *out;
	size_t len;

	if (b == NULL)
		fatalx("out of memory");
	for (size_t i = 0; i < cfg->layer2.nmembers; i++)
		evbuffer_add_printf(b, "%s=%s:%u;", cfg->layer2.members[i].name,
		    addr_ntop(&cfg->layer2.members[i].address, a, sizeof(a)),
		    cfg->layer2.members[i].port);
	len = evbuffer_get_length(b);
	out = xmalloc(len + 1);
	evbuffer_remove(b, out, len);
	out[len] = '\0';
	evbuffer_free(b);
	return out;
}

/*
 * The daemon's file with `text` (a data.config; NULL: none yet) as one
 * config, or NULL with the errors of text.
 */
struct cfg *
ks_compose(struct daemon_k8s *k, const char *text, struct cfg_errors *errs)
{
	struct cfg_errors lerrs = { 0 };
	struct cfg *local, *cluster;

	local = cfg_load_buf(k->config_path, k->local_buf,
	    k->local_len, &lerrs);
	if (local == NULL)
		fatalx("%s no longer loads", k->config_path);
	cfg_errors_free(&lerrs);
	if (text == NULL) {
		cfg_k8s_local_only(local);
		set_members(k, local);
		return local;
	}
	if ((cluster = cfg_load_cluster("data.config", text, strlen(text),
	    errs)) == NULL) {
		cfg_free(local);
		return NULL;
	}
	local = cfg_k8s_merge(local, cluster);
	set_members(k, local);
	return local;
}

/* ---- the last good data.config, kept on this node ---------------------- */

/* kubernetes.last-good-config, else bgplb-cluster.NODE.json next to the
 * daemon's file. */
static void last_good_save(struct daemon_k8s *);

void
ks_last_good_path(struct daemon_k8s *k, const struct cfg *local,
    const char *node)
{
	char *copy, *path;

	if (local->kubernetes.last_good_config != NULL)
		path = xstrdup(local->kubernetes.last_good_config);
	else {
		copy = xstrdup(k->config_path);
		path = xasprintf("%s/bgplb-cluster.%s.json", dirname(copy),
		    node);
		free(copy);
	}
	if (k->lg_path != NULL && strcmp(k->lg_path, path) == 0) {
		free(path);
		return;
	}
	free(k->lg_path);
	k->lg_path = path;
	/* Moved by a reload: the new place gets the running config now. */
	ks_set_str(&k->lg_saved, NULL);
	if (k->cm_state == CM_LOADED)
		last_good_save(k);
}

static void
last_good_write(FILE *f, void *arg)
{
	const struct daemon_k8s *k = arg;
	struct json_object *o = json_object_new_object();
	char *cm = xasprintf("%s/%s", k->cm_ns, k->cm_name);

	json_object_object_add(o, "version",
	    json_object_new_int(LAST_GOOD_VERSION));
	json_object_object_add(o, "config_map", k8s_json_new_str(cm));
	json_object_object_add(o, "resource_version",
	    k8s_json_new_str(k->good_rv));
	json_object_object_add(o, "config", k8s_json_new_str(k->good_text));
	fputs(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE), f);
	fputc('\n', f);
	json_object_put(o);
	free(cm);
}

/* A new good data.config runs: keep it where a restart finds it. */
static void
last_good_save(struct daemon_k8s *k)
{
	char err[600];

	if (k->lg_path == NULL || k->good_text == NULL ||
	    (k->lg_saved != NULL && strcmp(k->lg_saved, k->good_text) == 0))
		return;
	if (file_save_atomic(k->lg_path, last_good_write, k, err,
	    sizeof(err)) == -1) {
		ks_note_error(k, "cannot keep the last good configuration: %s "
		    "(a restart while the ConfigMap is broken would start "
		    "without it)", err);
		return;
	}
	ks_set_str(&k->lg_saved, k->good_text);
}

/* The file's data.config, or NULL (logged why, unless there is none). */
static struct json_object *
last_good_read(struct daemon_k8s *k)
{
	struct json_object *o;
	FILE *f;
	char *buf, want[600];
	size_t len;
	const char *cm;

	if ((f = fopen(k->lg_path, "re")) == NULL) {
		if (errno == ENOENT)
			log_info(MOD, "no last good configuration kept in %s",
			    k->lg_path);
		else
			log_warn(MOD, "%s: %s", k->lg_path, strerror(errno));
		return NULL;
	}
	buf = xmalloc(LAST_GOOD_MAX + 1);
	len = fread(buf, 1, LAST_GOOD_MAX + 1, f);
	fclose(f);
	buf[len > LAST_GOOD_MAX ? LAST_GOOD_MAX : len] = '\0';
	o = len > LAST_GOOD_MAX ? NULL : json_tokener_parse(buf);
	free(buf);
	snprintf(want, sizeof(want), "%s/%s", k->cm_ns, k->cm_name);
	if (o == NULL || k8s_json_str(o, "config") == NULL) {
		log_warn(MOD, "%s: not a last good configuration: ignored",
		    k->lg_path);
		json_object_put(o);
		return NULL;
	}
	if ((cm = k8s_json_str(o, "config_map")) == NULL ||
	    strcmp(cm, want) != 0) {
		log_warn(MOD, "%s: kept from ConfigMap %s, not %s: ignored",
		    k->lg_path, cm ? cm : "?", want);
		json_object_put(o);
		return NULL;
	}
	return o;
}

/*
 * No good config yet and the ConfigMap gives none (broken, no data.config,
 * absent): the one this node kept, if it still composes with the daemon's
 * file.  Once per process.  true: it is the good config now (in *ncfg).
 */
static bool
last_good_adopt(struct daemon_k8s *k, struct cfg **ncfg)
{
	struct cfg_errors errs = { 0 };
	struct json_object *o;
	const char *text, *rv;
	struct cfg *c;

	if (k->lg_tried || k->lg_path == NULL || k->good_text != NULL)
		return false;
	k->lg_tried = true;
	if ((o = last_good_read(k)) == NULL)
		return false;
	text = k8s_json_str(o, "config");
	rv = k8s_json_str(o, "resource_version");
	if ((c = ks_compose(k, text, &errs)) == NULL) {
		log_warn(MOD, "the last good configuration in %s no longer "
		    "loads (%s): not used", k->lg_path, errs.n > 0 ?
		    errs.lines[0] : "?");
		cfg_errors_free(&errs);
		json_object_put(o);
		return false;
	}
	cfg_errors_free(&errs);
	ks_set_str(&k->good_text, text);
	ks_set_str(&k->good_rv, rv);
	ks_set_str(&k->lg_saved, text);
	k->lg_running = true;
	log_warn(MOD, "starting from the last good configuration kept in %s "
	    "(ConfigMap %s/%s version %s), marked stale: %zu pools, %zu peers",
	    k->lg_path, k->cm_ns, k->cm_name, rv ? rv : "?", c->npools,
	    c->npeers);
	json_object_put(o);
	*ncfg = c;
	return true;
}

/* The config Event (leader only): once per ConfigMap version and outcome. */
static void
config_event(struct daemon_k8s *k, bool ok, const char *msg)
{
	char key[256];

	if (!k->leading || !k->cm_present)
		return;
	snprintf(key, sizeof(key), "%s/%d", k->cm_rv ? k->cm_rv : "", ok);
	if (k->cm_event_key != NULL && strcmp(k->cm_event_key, key) == 0)
		return;
	ks_set_str(&k->cm_event_key, key);
	ks_record(k, "ConfigMap", k->cm_ns, k->cm_name, k->cm_uid, !ok,
	    ok ? "ConfigLoaded" : "ConfigStale", "%s", msg);
}

void
ks_config_outcome_event(struct daemon_k8s *k, const struct cfg *c)
{
	char msg[1024];
	size_t i, shown = 0;

	if (k->cm_state == CM_LOADED) {
		snprintf(msg, sizeof(msg), "configuration loaded: %zu pools, %zu "
		    "peers", c->npools, c->npeers);
		/* The ConfigMap's own warnings (keys it should not hold). */
		for (i = 0; i < c->nwarnings; i++)
			if (strncmp(c->warnings[i], "data.config:", 12) == 0)
				snprintf(msg + strlen(msg), sizeof(msg) -
				    strlen(msg), "; %s", c->warnings[i]);
		config_event(k, true, msg);
		return;
	}
	if ((k->cm_state != CM_STALE && k->cm_state != CM_INVALID) ||
	    !k->cm_present)
		return;		/* waiting, or deleted: nothing to put it on */
	msg[0] = '\0';
	for (i = 0; i < k->ncm_errors && shown < 5; i++, shown++)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s%s",
		    i ? "; " : "", k->cm_errors[i]);
	if (k->ncm_errors > shown)
		snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		    "; and %zu more", k->ncm_errors - shown);
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg), "%s",
	    k->cm_state == CM_STALE ? " (the previous configuration stays in "
	    "force)" : " (no configuration: Services stay pending)");
	config_event(k, false, msg);
}

/*
 * The ConfigMap changed (or the daemon's file, or the nodes layer 2 needs):
 * the config to run, or NULL to keep the running one.
 */
struct cfg *
ks_next_config(struct daemon_k8s *k, bool local_changed, bool *nodes_changed)
{
	struct cfg_errors errs = { 0 };
	struct cfg *ncfg = NULL;

	if (k->cm_dirty) {
		k->cm_dirty = false;
		if (!k->cm_present) {
			if (k->cm_state == CM_LOADED || k->cm_state == CM_STALE) {
				k->cm_state = CM_STALE;
				log_error(MOD, "ConfigMap %s/%s was deleted: "
				    "keeping the configuration it gave "
				    "(marked stale)", k->cm_ns, k->cm_name);
			} else if (last_good_adopt(k, &ncfg))
				k->cm_state = CM_STALE;
			else
				log_warn(MOD, "waiting for ConfigMap %s/%s "
				    "(data.config): nothing is assigned or "
				    "announced until it exists", k->cm_ns,
				    k->cm_name);
		} else if (k->cm_text == NULL) {
			char *line;

			ks_free_cm_errors(k);
			line = xasprintf("data.config:1:1: ConfigMap %s/%s "
			    "has no data.config", k->cm_ns, k->cm_name);
			k->cm_errors = xcalloc(1, sizeof(char *));
			k->cm_errors[0] = line;
			k->ncm_errors = 1;
			(void)last_good_adopt(k, &ncfg);
			k->cm_state = k->good_text ? CM_STALE : CM_INVALID;
			log_error(MOD, "%s", line);
		} else if ((ncfg = ks_compose(k, k->cm_text, &errs)) == NULL) {
			ks_free_cm_errors(k);
			k->cm_errors = errs.lines;
			k->ncm_errors = errs.n;
			errs.lines = NULL;
			errs.n = 0;
			for (size_t i = 0; i < k->ncm_errors; i++)
				log_error(MOD, "ConfigMap %s/%s: %s", k->cm_ns,
				    k->cm_name, k->cm_errors[i]);
			(void)last_good_adopt(k, &ncfg);
			k->cm_state = k->good_text ? CM_STALE : CM_INVALID;
			if (k->cm_state == CM_STALE)
				log_error(MOD, "ConfigMap %s/%s is not valid: "
				    "keeping the previous configuration "
				    "(marked stale)", k->cm_ns, k->cm_name);
			else
				log_error(MOD, "ConfigMap %s/%s is not valid: "
				    "no configuration, nothing is assigned or "
				    "announced", k->cm_ns, k->cm_name);
		} else {
			ks_free_cm_errors(k);
			ks_set_str(&k->good_text, k->cm_text);
			ks_set_str(&k->good_rv, k->cm_rv);
			k->cm_state = CM_LOADED;
			k->lg_running = false;
			last_good_save(k);
			for (size_t i = 0; i < ncfg->nwarnings; i++)
				if (strncmp(ncfg->warnings[i], "data.config:",
				    12) == 0)
					log_warn(MOD, "ConfigMap %s/%s: %s",
					    k->cm_ns, k->cm_name,
					    ncfg->warnings[i]);
			log_info(MOD, "ConfigMap %s/%s (version %s) loaded: %zu "
			    "pools, %zu peers", k->cm_ns, k->cm_name,
			    k->cm_rv ? k->cm_rv : "?", ncfg->npools,
			    ncfg->npeers);
		}
		cfg_errors_free(&errs);
	}
	if (ncfg == NULL && (local_changed || *nodes_changed))
		ncfg = ks_compose(k, k->good_text, &errs);
	cfg_errors_free(&errs);
	if (ncfg != NULL) {
		char *sig = members_sig(ncfg);

		free(k->members_sig);
		k->members_sig = sig;
		*nodes_changed = false;
	}
	return ncfg;
}

/* Have the Nodes changed what layer 2 membership should list? */
bool
ks_members_changed(struct daemon_k8s *k, const struct cfg *running)
{
	struct cfg *tmp;
	char *sig;
	bool changed;

	if (running == NULL || !running->layer2.has_membership)
		return false;
	tmp = xcalloc(1, sizeof(*tmp));
	tmp->layer2 = running->layer2;
	tmp->layer2.members = NULL;
	tmp->layer2.nmembers = 0;
	set_members(k, tmp);
	sig = members_sig(tmp);
	changed = k->members_sig == NULL || strcmp(sig, k->members_sig) != 0;
	cfg_members_free(&tmp->layer2);
	free(tmp);
	free(sig);
	return changed;
}
