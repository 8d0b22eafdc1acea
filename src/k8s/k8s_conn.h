/*
 * k8s_conn.h - where the API server is and how to authenticate to it
 * (k8s_conn.c): a struct k8s_conn made from a kubeconfig or from the
 * in-cluster service-account environment, and the token file reader the
 * HTTP layer re-reads the bearer token with.
 *
 * The HTTP layer (k8s_http.h) is built on this; nothing here knows HTTP.
 */
#ifndef BGPLB_K8S_CONN_H
#define BGPLB_K8S_CONN_H

#include <stdbool.h>
#include <stddef.h>

/* Where and how to reach the API server. */
struct k8s_conn {
	char	*server;		/* https://host:port (no trailing slash) */
	char	*ca_file;		/* PEM file, or NULL */
	char	*ca_data;		/* PEM text (kubeconfig certificate-authority-data), or NULL */
	bool	 insecure;		/* insecure-skip-tls-verify: never by default */
	char	*token;			/* bearer token, or NULL */
	char	*token_file;		/* re-read every minute and after a 401 */
	char	*client_cert_file, *client_key_file;
	char	*client_cert_data, *client_key_data;	/* PEM text */
	char	*namespace;		/* the context's namespace, or NULL */
};

/*
 * kubeconfig (libyaml): clusters/users/contexts/current-context; server,
 * certificate-authority(-data), insecure-skip-tls-verify, token, tokenFile,
 * client-certificate(-data), client-key(-data).  Relative file names are
 * relative to the kubeconfig's directory.  Errors name the file and key.
 */
int	k8s_conn_from_kubeconfig(const char *path, const char *context,
	    struct k8s_conn *out, char *err, size_t errlen);
/* In-cluster: KUBERNETES_SERVICE_HOST/PORT, the service account's token and
 * CA under dir (default /var/run/secrets/kubernetes.io/serviceaccount). */
int	k8s_conn_in_cluster(const char *dir, struct k8s_conn *out, char *err,
	    size_t errlen);
/* A deep copy of src into dst. */
void	k8s_conn_copy(struct k8s_conn *dst, const struct k8s_conn *src);
void	k8s_conn_free(struct k8s_conn *);

/* A token file's content with surrounding white space cut; NULL with
 * *errnum set when it can't be read. */
char	*k8s_read_token_file(const char *path, int *errnum);

#endif
