/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/socket.h>
#include <nftables/libnftables.h>

#include "config.h"
#include "dns-server.h"
#include "log.h"
#include "manager.h"
#include "net-link.h"
#include "net-nft.h"
#include "net-worker.h"
#include "network.h"
#include "proc-util.h"
#include "store.h"
#include "strv.h"
#include "time-util.h"

/* What the worker thread uses. The configuration part is written before the thread starts
 * and only read afterwards; the rest is the worker's alone. */
typedef struct NetInfra {
        char *bridge;
        Ipv4Subnet subnet;
        NetFirewall firewall;
        int self_netns_fd; /* quiltd's own network namespace, to return to */

        struct nl_sock *sk; /* in quiltd's namespace */
        struct nft_ctx *nft;
        bool ready;         /* bridge, forwarding and rules are in place */
        int bridge_ifindex;
} NetInfra;

/* A container whose network is set up or being set up. */
typedef struct NetEntry {
        char *id;
        char *name;
        uint32_t address;
        uint64_t seq; /* tells this setup apart from an earlier one of the same container */
        bool ready;
        struct NetEntry *next;
} NetEntry;

struct Network {
        Manager *manager;
        NetworkPool pool;
        NetInfra infra;
        NetWorker *worker;

        NetEntry *entries;
        unsigned n_entries;
        uint64_t seq;

        bool reconciling;
        bool saw_stale; /* a veth of a container that stopped while quiltd was away */
        bool dns_listening;
};

typedef enum JobKind {
        JOB_SETUP,
        JOB_TEARDOWN,
        JOB_ENSURE, /* bridge and rules, for containers adopted at start-up */
        JOB_FLUSH,  /* rules out: no container uses the network */
        JOB_PRUNE,
} JobKind;

typedef struct Job {
        NetJob base; /* first */
        Network *network;
        JobKind kind;

        char *id;
        uint64_t seq;
        pid_t pid;
        int pidfd;
        char veth[IFNAMSIZ];
        uint32_t address;
        bool flush;

        int error;
        char *message;
        char **removed;

        uint64_t submitted_usec, started_usec, finished_usec; /* CLOCK_MONOTONIC */

        NetworkCallback callback;
        NetworkPruneCallback prune_callback;
        void *userdata;
} Job;

/* ---- names and the pool ------------------------------------------------------------- */

void network_veth_name(const char *id, char ret[static IFNAMSIZ]) {
        size_t n = strlen(NETWORK_VETH_PREFIX);

        memcpy(ret, NETWORK_VETH_PREFIX, n);
        for (const char *p = id; p && *p && n < IFNAMSIZ - 2; p++)
                if (*p != '-')
                        ret[n++] = *p;
        ret[n] = '\0';
}

const char *network_bridge(Network *n) {
        return n->infra.bridge;
}

const Ipv4Subnet *network_subnet(Network *n) {
        return &n->infra.subnet;
}

uint32_t network_gateway(Network *n) {
        return ipv4_subnet_gateway(&n->infra.subnet);
}

const NetworkPool *network_pool(Network *n) {
        return &n->pool;
}

char *network_pool_exhausted_message(Network *n) {
        char subnet[IPV4_SUBNET_STRING_MAX];
        char *m;

        if (asprintf(&m,
                     "address pool %s is exhausted: all %u container addresses are allocated (remove "
                     "containers, or set a larger [Network] Subnet= in quiltd.conf)",
                     ipv4_subnet_to_string(&n->infra.subnet, subnet), n->pool.last - n->pool.first + 1) < 0)
                return NULL;
        return m;
}

int network_container_address(Network *n, const char *id, char ret[static INET_ADDRSTRLEN]) {
        _cleanup_(network_allocation_done) NetworkAllocation a = {};
        int r;

        ret[0] = '\0';
        r = store_network_get(n->manager->store, id, &a);
        if (r < 0)
                return r;
        (void) ipv4_to_string(a.address, ret);
        return 0;
}

unsigned network_n_active(Network *n) {
        return n->n_entries;
}

static NetEntry *entry_find(Network *n, const char *id) {
        for (NetEntry *e = n->entries; e; e = e->next)
                if (streq(e->id, id))
                        return e;
        return NULL;
}

bool network_is_active(Network *n, const char *id) {
        NetEntry *e = entry_find(n, id);
        return e && e->ready;
}

static NetEntry *entry_add(Network *n, const char *id, const char *name, uint32_t address) {
        NetEntry *e = new0(NetEntry, 1);

        if (!e)
                return NULL;
        e->id = strdup(id);
        e->name = strdup(name);
        if (!e->id || !e->name) {
                free(e->id);
                free(e->name);
                return mfree(e);
        }
        e->address = address;
        e->seq = ++n->seq;
        e->next = n->entries;
        n->entries = e;
        n->n_entries++;
        return e;
}

static void entry_remove(Network *n, NetEntry *e) {
        for (NetEntry **p = &n->entries; *p; p = &(*p)->next)
                if (*p == e) {
                        *p = e->next;
                        n->n_entries--;
                        break;
                }
        free(e->id);
        free(e->name);
        free(e);
}

/* ---- the worker's side ---------------------------------------------------------------- */

static int infra_open(NetInfra *i, char **ret_error) {
        int r;

        if (!i->sk) {
                r = net_socket_open(&i->sk);
                if (r < 0) {
                        if (asprintf(ret_error, "open a netlink socket: %s", strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
        }
        if (!i->nft) {
                r = net_nft_open(&i->nft);
                if (r < 0) {
                        if (asprintf(ret_error, "set up libnftables: %s", strerror(-r)) < 0)
                                *ret_error = NULL;
                        return r;
                }
        }
        return 0;
}

/* Routing between the bridge and the outside. This is a setting of quiltd's network
 * namespace (the host's, normally), as with every container runtime; it is left on. */
static void enable_ip_forward(void) {
        static const char path[] = "/proc/sys/net/ipv4/ip_forward";
        char c = 0;
        int fd;

        fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0) {
                log_warning_errno(errno, "Cannot open %s, containers may not reach the outside: %m", path);
                return;
        }
        if (read(fd, &c, 1) == 1 && c == '1') {
                (void) close(fd);
                return;
        }
        if (pwrite(fd, "1\n", 2, 0) != 2)
                log_warning_errno(errno, "Cannot enable IPv4 forwarding (%s), containers may not reach the outside: %m",
                                  path);
        else
                log_info("Enabled IPv4 forwarding for the container network.");
        (void) close(fd);
}

static int infra_ensure(NetInfra *i, char **ret_error) {
        int r;

        r = infra_open(i, ret_error);
        if (r < 0)
                return r;
        r = net_bridge_ensure(i->sk, i->bridge, ipv4_subnet_gateway(&i->subnet), i->subnet.prefixlen,
                              &i->bridge_ifindex, ret_error);
        if (r < 0)
                return r;
        enable_ip_forward();
        r = net_nft_apply(i->nft, &i->firewall, ret_error);
        if (r < 0)
                return r;
        i->ready = true;
        return 0;
}

/* The bridge may have been deleted behind our back since the last job. */
static int infra_check(NetInfra *i, char **ret_error) {
        if (i->ready && i->sk && net_link_ifindex(i->sk, i->bridge) == i->bridge_ifindex)
                return 0;
        return infra_ensure(i, ret_error);
}

/* A netlink socket in the container's network namespace and an fd of the namespace, for a
 * veth peer to be created in it. The worker thread enters the namespace just long enough
 * to open the socket: the socket stays bound to it. */
static int open_container_netns(NetInfra *i, pid_t pid, int pidfd, int *ret_nsfd, struct nl_sock **ret_sk) {
        _cleanup_close_ int nsfd = -EBADF;
        char path[64];
        int r;

        (void) snprintf(path, sizeof path, "/proc/%d/ns/net", (int) pid);
        nsfd = open(path, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0)
                return -errno;
        /* If the pid had been reused, the process the pidfd refers to would be dead. */
        if (pidfd_signal(pidfd, 0) < 0)
                return -ESRCH;

        if (setns(nsfd, CLONE_NEWNET) < 0)
                return -errno;
        r = net_socket_open(ret_sk);
        if (setns(i->self_netns_fd, CLONE_NEWNET) < 0) {
                /* The thread would go on working in a container's namespace. */
                log_error_errno(errno, "Failed to return to quiltd's network namespace: %m");
                abort();
        }
        if (r < 0)
                return r;
        *ret_nsfd = TAKE_FD(nsfd);
        return 0;
}

static void run_setup(Job *j, NetInfra *i) {
        _cleanup_nl_sock_ struct nl_sock *csk = NULL;
        _cleanup_close_ int nsfd = -EBADF;
        char *msg = NULL;
        int r;

        r = infra_check(i, &msg);
        if (r < 0)
                goto finish;

        r = open_container_netns(i, j->pid, j->pidfd, &nsfd, &csk);
        if (r < 0) {
                if (asprintf(&msg, "enter the container's network namespace: %s", strerror(-r)) < 0)
                        msg = NULL;
                goto finish;
        }
        r = net_veth_create(i->sk, j->veth, i->bridge_ifindex, nsfd, NETWORK_CONTAINER_IFNAME, j->address, &msg);
        if (r < 0)
                goto finish;
        r = net_container_configure(csk, NETWORK_CONTAINER_IFNAME, j->address, i->subnet.prefixlen,
                                    ipv4_subnet_gateway(&i->subnet), &msg);
finish:
        j->error = r < 0 ? r : 0;
        j->message = msg;
}

static void run_teardown(Job *j, NetInfra *i) {
        char *msg = NULL;
        int r;

        r = infra_open(i, &msg);
        if (r >= 0) {
                r = net_link_delete(i->sk, j->veth);
                if (r == -ENODEV)
                        r = 0; /* went with the container's namespace */
                else if (r < 0 && asprintf(&msg, "delete %s: %s", j->veth, strerror(-r)) < 0)
                        msg = NULL;
        }
        if (r >= 0 && j->flush) {
                r = net_nft_flush(i->nft, &msg);
                i->ready = false;
        }
        j->error = r < 0 ? r : 0;
        j->message = msg;
}

static int removed_add(Job *j, const char *kind, const char *what) {
        size_t n = strv_length(j->removed);
        char **l = realloc(j->removed, (n + 2) * sizeof(char *));

        if (!l)
                return -ENOMEM;
        j->removed = l;
        if (asprintf(&l[n], "%s %s", kind, what) < 0) {
                l[n] = NULL;
                return -ENOMEM;
        }
        l[n + 1] = NULL;
        return 0;
}

static void run_prune(Job *j, NetInfra *i) {
        _cleanup_strv_free_ char **veths = NULL;
        char *msg = NULL;
        int r;

        i->ready = false;
        r = infra_open(i, &msg);
        if (r < 0)
                goto finish;

        /* Host ends left behind, say by a namespace that something else kept alive. */
        r = net_links_with_prefix(i->sk, NETWORK_VETH_PREFIX, &veths);
        if (r < 0)
                goto finish;
        for (char **v = veths; *v; v++)
                if (net_link_delete(i->sk, *v) >= 0)
                        (void) removed_add(j, "veth", *v);

        r = net_link_delete(i->sk, i->bridge);
        if (r >= 0)
                (void) removed_add(j, "bridge", i->bridge);
        else if (r != -ENODEV) {
                if (asprintf(&msg, "delete the bridge %s: %s", i->bridge, strerror(-r)) < 0)
                        msg = NULL;
                goto finish;
        }

        r = net_nft_delete(i->nft, &msg);
        if (r > 0)
                (void) removed_add(j, "nftables table", NET_NFT_FAMILY " " NET_NFT_TABLE);
finish:
        j->error = r < 0 ? r : 0;
        j->message = msg;
}

static void job_run(NetJob *base) {
        Job *j = (Job *) base;
        NetInfra *i = &j->network->infra;
        char *msg = NULL;
        int r;

        j->started_usec = now_usec(CLOCK_MONOTONIC);

        switch (j->kind) {
        case JOB_SETUP:
                run_setup(j, i);
                break;
        case JOB_TEARDOWN:
                run_teardown(j, i);
                break;
        case JOB_ENSURE:
                r = infra_ensure(i, &msg);
                j->error = r < 0 ? r : 0;
                j->message = msg;
                break;
        case JOB_FLUSH:
                r = infra_open(i, &msg);
                if (r >= 0)
                        r = net_nft_flush(i->nft, &msg);
                i->ready = false;
                j->error = r < 0 ? r : 0;
                j->message = msg;
                break;
        case JOB_PRUNE:
                run_prune(j, i);
                break;
        }
        j->finished_usec = now_usec(CLOCK_MONOTONIC);
}

/* ---- the event loop's side ------------------------------------------------------------ */

static Job *job_free(Job *j) {
        if (!j)
                return NULL;
        free(j->id);
        free(j->message);
        strv_free(j->removed);
        safe_close(j->pidfd);
        return mfree(j);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Job *, job_free);

/* The DNS server answers on the gateway address from the first container on. Its sockets
 * use IP_FREEBIND, so this works before the bridge has the address. */
static void dns_listen(Network *n) {
        struct in_addr gateway = { .s_addr = htonl(network_gateway(n)) };
        int r;

        if (n->dns_listening || !n->manager->dns)
                return;
        r = dns_server_listen(n->manager->dns, &gateway, n->manager->config->dns_port);
        if (r < 0) {
                char buf[INET_ADDRSTRLEN];

                log_warning_errno(r, "Containers cannot resolve names: the DNS server cannot listen on %s:%u: %m",
                                  ipv4_to_string(network_gateway(n), buf), n->manager->config->dns_port);
                return;
        }
        n->dns_listening = true;
}

static void dns_add(Network *n, const NetEntry *e) {
        struct in_addr a = { .s_addr = htonl(e->address) };
        int r;

        if (!n->manager->dns)
                return;
        r = dns_server_add_container(n->manager->dns, e->id, e->name, &a);
        if (r < 0)
                log_warning_errno(r, "Failed to add container %s to the DNS server: %m", e->name);
}

static void dns_remove(Network *n, const char *id) {
        if (n->manager->dns)
                (void) dns_server_remove_container(n->manager->dns, id);
}

static void setup_done(Network *n, Job *j) {
        NetEntry *e = entry_find(n, j->id);

        /* Still the same run of the container? A stop in between has torn it down already. */
        if (e && e->seq == j->seq && j->error >= 0) {
                int k;

                e->ready = true;
                /* Before the command starts (the callback lets it), so that it resolves. */
                dns_add(n, e);
                k = store_network_set_setup_completed(n->manager->store, j->id, true);
                if (k < 0)
                        log_warning_errno(k, "Failed to record the network of container %s: %m", e->name);
                /* bench/network-latency.sh reads this line. */
                log_debug("Container %s: %s is up, network set up in %" PRIu64 " us (%" PRIu64 " us of it in the "
                          "worker).",
                          e->name, j->veth, now_usec(CLOCK_MONOTONIC) - j->submitted_usec,
                          j->finished_usec - j->started_usec);
        } else if (j->error < 0)
                log_debug("Container %s: network setup failed: %s", j->id, strempty(j->message));

        if (j->callback)
                j->callback(j->error, j->message, j->id, j->userdata);
}

static void job_done(NetJob *base) {
        _cleanup_(job_freep) Job *j = (Job *) base;
        Network *n = j->network;

        if (base->cancelled) {
                /* Whoever waits for a teardown holds things to release. */
                if (j->kind == JOB_TEARDOWN && j->callback)
                        j->callback(-ECANCELED, "quiltd is shutting down", j->id, j->userdata);
                return;
        }

        switch (j->kind) {
        case JOB_SETUP:
                setup_done(n, j);
                break;
        case JOB_TEARDOWN:
        case JOB_ENSURE:
        case JOB_FLUSH:
                if (j->kind == JOB_TEARDOWN && j->callback)
                        j->callback(j->error, j->message, j->id, j->userdata);
                if (j->error < 0)
                        log_warning("Container network: failed to %s: %s",
                                    j->kind == JOB_TEARDOWN ? "clean up" :
                                    j->kind == JOB_ENSURE   ? "restore the bridge and the rules" :
                                                              "remove the rules",
                                    strempty(j->message));
                break;
        case JOB_PRUNE:
                if (n->dns_listening && n->n_entries == 0) {
                        dns_server_stop_listening(n->manager->dns);
                        n->dns_listening = false;
                }
                if (j->prune_callback)
                        j->prune_callback(j->error, j->message, j->removed, j->userdata);
                break;
        }
}

static Job *job_new(Network *n, JobKind kind) {
        Job *j = new0(Job, 1);

        if (!j)
                return NULL;
        j->base.run = job_run;
        j->base.done = job_done;
        j->network = n;
        j->kind = kind;
        j->pidfd = -EBADF;
        return j;
}

static int job_submit(Network *n, Job *j) {
        int r;

        j->submitted_usec = now_usec(CLOCK_MONOTONIC);
        r = net_worker_submit(n->worker, &j->base);

        if (r < 0)
                job_free(j);
        return r;
}

static int submit_simple(Network *n, JobKind kind) {
        Job *j = job_new(n, kind);

        if (!j)
                return -ENOMEM;
        return job_submit(n, j);
}

int network_allocate_container(Network *n, const ContainerRecord *c) {
        char veth[IFNAMSIZ];
        uint32_t address;
        int r;

        if (c->network != CONTAINER_NETWORK_QUILT)
                return 0;

        network_veth_name(c->id, veth);
        r = store_network_allocate(n->manager->store, c->id, &n->pool, veth, &address);
        if (r >= 0) {
                char buf[INET_ADDRSTRLEN];
                log_debug("Container %s gets %s.", c->name, ipv4_to_string(address, buf));
        }
        return r;
}

static int strv_push_pair(char ***l, size_t *n, const char *name, char *content) {
        char **m;

        if (!content)
                return -ENOMEM;
        m = realloc(*l, (*n + 3) * sizeof(char *));
        if (!m) {
                free(content);
                return -ENOMEM;
        }
        *l = m;
        m[(*n)++] = strdup(name);
        m[(*n)++] = content;
        m[*n] = NULL;
        return m[*n - 2] ? 0 : -ENOMEM;
}

static char *format_string(const char *format, ...) _printf_(1, 2);
static char *format_string(const char *format, ...) {
        va_list ap;
        char *s;

        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        return s;
}

int network_fill_spec(Network *n, const ContainerRecord *c, ContainerSpec *spec) {
        _cleanup_strv_free_ char **files = NULL;
        char address[INET_ADDRSTRLEN], gateway[INET_ADDRSTRLEN], veth[IFNAMSIZ];
        size_t k = 0;
        uint32_t a;
        int r;

        if (spec->namespaces & CONTAINER_NS_UTS) {
                r = strv_push_pair(&files, &k, "hostname", format_string("%s\n", c->name));
                if (r < 0)
                        return r;
        }

        switch (c->network) {
        case CONTAINER_NETWORK_QUILT:
                network_veth_name(c->id, veth);
                r = store_network_ensure(n->manager->store, c->id, &n->pool, veth, &a);
                if (r < 0)
                        return r;
                (void) ipv4_to_string(a, address);
                (void) ipv4_to_string(network_gateway(n), gateway);
                spec->wait_network = true;
                r = strv_push_pair(&files, &k, "hosts",
                                   format_string("127.0.0.1\tlocalhost\n"
                                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                                 "%s\t%s." NETWORK_DNS_DOMAIN " %s %s\n",
                                                 address, c->name, c->name, c->id));
                if (r < 0)
                        return r;
                r = strv_push_pair(&files, &k, "resolv.conf",
                                   format_string("# Written by Quilt: the DNS server of the container network.\n"
                                                 "nameserver %s\n"
                                                 "search " NETWORK_DNS_DOMAIN "\n"
                                                 "options ndots:1 timeout:2 attempts:2\n",
                                                 gateway));
                if (r < 0)
                        return r;
                break;
        case CONTAINER_NETWORK_NONE:
                r = strv_push_pair(&files, &k, "hosts",
                                   format_string("127.0.0.1\tlocalhost\n"
                                                 "::1\tlocalhost ip6-localhost ip6-loopback\n"
                                                 "127.0.1.1\t%s %s\n",
                                                 c->name, c->id));
                if (r < 0)
                        return r;
                break;
        default:
                break; /* the host's network: the image's files */
        }

        strv_free(spec->etc_files);
        spec->etc_files = TAKE_PTR(files);
        return 0;
}

int network_setup_container(Network *n, const char *id, const char *name, pid_t init_pid, int init_pidfd,
                            NetworkCallback callback, void *userdata) {
        _cleanup_(network_allocation_done) NetworkAllocation a = {};
        _cleanup_(job_freep) Job *j = NULL;
        NetEntry *e;
        int r;

        r = store_network_get(n->manager->store, id, &a);
        if (r < 0)
                return log_error_errno(r, "Container %s has no address: %m", name);

        j = job_new(n, JOB_SETUP);
        if (!j || !(j->id = strdup(id)))
                return -ENOMEM;
        j->pid = init_pid;
        j->pidfd = fcntl(init_pidfd, F_DUPFD_CLOEXEC, 3);
        if (j->pidfd < 0)
                return -errno;
        network_veth_name(id, j->veth);
        j->address = a.address;
        j->callback = callback;
        j->userdata = userdata;

        e = entry_find(n, id);
        if (e)
                entry_remove(n, e);
        e = entry_add(n, id, name, a.address);
        if (!e)
                return -ENOMEM;
        j->seq = e->seq;
        dns_listen(n);

        r = job_submit(n, TAKE_PTR(j));
        if (r < 0) {
                entry_remove(n, e);
                return r;
        }
        return 0;
}

static int submit_teardown(Network *n, const char *id, bool flush, NetworkCallback callback, void *userdata) {
        Job *j = job_new(n, JOB_TEARDOWN);

        if (!j || !(j->id = strdup(id))) {
                job_free(j);
                return -ENOMEM;
        }
        network_veth_name(id, j->veth);
        j->flush = flush;
        j->callback = callback;
        j->userdata = userdata;
        return job_submit(n, j);
}

int network_teardown_container(Network *n, const char *id, NetworkCallback callback, void *userdata) {
        NetEntry *e = entry_find(n, id);
        bool had_network = e;
        int r;

        if (!e) {
                _cleanup_(network_allocation_done) NetworkAllocation a = {};

                /* A container that stopped while quiltd was away, or one whose setup never
                 * started: the database says whether there is a veth to remove. */
                had_network = store_network_get(n->manager->store, id, &a) >= 0 && a.setup_completed;
        }
        if (!had_network)
                return 0;

        if (e)
                entry_remove(n, e);
        dns_remove(n, id);
        r = store_network_set_setup_completed(n->manager->store, id, false);
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Failed to record the end of the network of container %s: %m", id);

        if (n->reconciling)
                n->saw_stale = true;
        r = submit_teardown(n, id, n->n_entries == 0 && !n->reconciling, callback, userdata);
        if (r < 0) {
                log_warning_errno(r, "Failed to clean up the network of container %s: %m", id);
                return 0;
        }
        return 1;
}

void network_begin_reconcile(Network *n) {
        n->reconciling = true;
        n->saw_stale = false;
}

void network_adopt_container(Network *n, const char *id, const char *name) {
        _cleanup_(network_allocation_done) NetworkAllocation a = {};
        NetEntry *e;

        if (store_network_get(n->manager->store, id, &a) < 0 || !a.setup_completed)
                return;
        e = entry_add(n, id, name, a.address);
        if (!e) {
                log_oom();
                return;
        }
        e->ready = true;
        dns_add(n, e);
}

void network_end_reconcile(Network *n) {
        int r = 0;

        n->reconciling = false;
        if (n->n_entries > 0) {
                log_info("Restoring the container network for %u running container%s.", n->n_entries,
                         n->n_entries == 1 ? "" : "s");
                r = submit_simple(n, JOB_ENSURE);
                dns_listen(n);
        } else if (n->saw_stale)
                r = submit_simple(n, JOB_FLUSH);
        if (r < 0)
                log_warning_errno(r, "Failed to reconcile the container network: %m");
}

int network_prune(Network *n, NetworkPruneCallback callback, void *userdata) {
        Job *j;

        if (n->n_entries > 0)
                return -EBUSY;
        j = job_new(n, JOB_PRUNE);
        if (!j)
                return -ENOMEM;
        j->prune_callback = callback;
        j->userdata = userdata;
        return job_submit(n, j);
}

/* ---- the object ------------------------------------------------------------------------- */

static uint16_t listen_port(const char *address) {
        const char *colon = address ? strrchr(address, ':') : NULL;
        unsigned long p;

        if (!colon)
                return 0;
        p = strtoul(colon + 1, NULL, 10);
        return p <= UINT16_MAX ? (uint16_t) p : 0;
}

int network_new(Manager *m, Network **ret) {
        _cleanup_(network_freep) Network *n = NULL;
        const QuiltConfig *c = m->config;
        int r;

        n = new0(Network, 1);
        if (!n)
                return -ENOMEM;
        n->manager = m;
        n->infra.self_netns_fd = -EBADF;
        n->infra.bridge = strdup(c->bridge);
        if (!n->infra.bridge)
                return -ENOMEM;
        n->infra.subnet = c->subnet;
        n->pool = (NetworkPool) {
                .first = ipv4_subnet_pool_first(&c->subnet),
                .last = ipv4_subnet_pool_last(&c->subnet),
        };
        n->infra.firewall = (NetFirewall) {
                .bridge = n->infra.bridge,
                .subnet = c->subnet,
                .api_ports = { listen_port(c->grpc_listen), listen_port(c->http_listen) },
                .api_access = c->container_api_access,
        };

        /* Where the worker returns to after visiting a container's namespace. */
        n->infra.self_netns_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (n->infra.self_netns_fd < 0)
                return log_error_errno(errno, "Failed to open quiltd's network namespace: %m");

        r = net_worker_new(m->event, &n->worker);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the network worker: %m");

        *ret = TAKE_PTR(n);
        return 0;
}

Network *network_free(Network *n) {
        if (!n)
                return NULL;

        /* First: the thread may be using the infrastructure below. */
        net_worker_free(n->worker);
        while (n->entries)
                entry_remove(n, n->entries);
        if (n->infra.sk)
                nl_socket_free(n->infra.sk);
        if (n->infra.nft)
                nft_ctx_free(n->infra.nft);
        safe_close(n->infra.self_netns_fd);
        free(n->infra.bridge);
        return mfree(n);
}
