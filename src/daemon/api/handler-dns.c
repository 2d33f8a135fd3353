/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* ListDnsEntries: the names the DNS server on quilt0 answers right now, from its table
 * (not from the database: what resolves is what the server has). */

#include <arpa/inet.h>

#include "api-handlers.h"
#include "dns-server.h"
#include "manager.h"
#include "quilt.pb-c.h"

static Quilt__DnsEntry *dns_entry_to_proto(const DnsServerEntry *e) {
        Quilt__DnsEntry *p;
        char buf[INET_ADDRSTRLEN];

        p = malloc(sizeof *p);
        if (!p)
                return NULL;
        quilt__dns_entry__init(p);
        p->container_id = strdup(e->id);
        p->container_name = strdup(e->name);
        p->ip_address = strdup(inet_ntop(AF_INET, &e->addr, buf, sizeof buf) ?: "");
        if (!p->container_id || !p->container_name || !p->ip_address) {
                protobuf_c_message_free_unpacked(&p->base, NULL);
                return NULL;
        }
        return p;
}

int api_list_dns_entries(Manager *m, ApiCall *call) {
        _cleanup_proto_ ProtobufCMessage *reply_base = NULL;
        Quilt__ListDnsEntriesResponse *reply;
        const DnsServerEntry *entries;
        size_t n = 0;

        entries = dns_server_entries(m->dns, &n);

        reply = malloc(sizeof *reply);
        if (!reply)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");
        quilt__list_dns_entries_response__init(reply);
        reply_base = &reply->base;

        reply->entries = calloc(MAX(n, (size_t) 1), sizeof(Quilt__DnsEntry *));
        if (!reply->entries)
                return api_call_fail_errno(call, ENOMEM, "Out of memory.");
        for (size_t i = 0; i < n; i++) {
                reply->entries[i] = dns_entry_to_proto(&entries[i]);
                if (!reply->entries[i])
                        return api_call_fail_errno(call, ENOMEM, "Out of memory.");
                reply->n_entries++;
        }
        reply->success = true;

        api_call_reply(call, TAKE_PTR(reply_base));
        return 0;
}
