/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* One query in, one decision out: answer it from the container table (quilt.local, the
 * bare names and ids, reverse names of container addresses), refuse it, or forward it. */

#include <arpa/inet.h>
#include <stdio.h>
#include <strings.h>

#include "dns-internal.h"
#include "log.h"

static int errno_from_ldns(ldns_status st) {
        return st == LDNS_STATUS_MEM_ERR ? -ENOMEM : -EINVAL;
}

int dns_reply_build(DnsServer *s, const ldns_pkt *query, ldns_pkt_rcode rcode, bool authoritative,
                    const ldns_rr_list *answers, bool with_soa, uint8_t **ret, size_t *ret_size) {
        ldns_pkt *reply;
        ldns_status st;
        ldns_rr_list *question = ldns_pkt_question(query);
        int r = 0;

        reply = ldns_pkt_new();
        if (!reply)
                return -ENOMEM;

        ldns_pkt_set_id(reply, ldns_pkt_id(query));
        ldns_pkt_set_qr(reply, true);
        ldns_pkt_set_opcode(reply, ldns_pkt_get_opcode(query));
        ldns_pkt_set_aa(reply, authoritative);
        ldns_pkt_set_rd(reply, ldns_pkt_rd(query));
        ldns_pkt_set_cd(reply, ldns_pkt_cd(query));
        /* Recursion is available: whatever is not ours is forwarded. */
        ldns_pkt_set_ra(reply, true);
        ldns_pkt_set_rcode(reply, rcode);

        /* The question is echoed as asked (the client may check the letter case). */
        for (size_t i = 0; question && i < ldns_rr_list_rr_count(question); i++) {
                ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(question, i));
                if (!rr || !ldns_pkt_push_rr(reply, LDNS_SECTION_QUESTION, rr)) {
                        if (rr)
                                ldns_rr_free(rr);
                        r = -ENOMEM;
                        goto finish;
                }
        }
        for (size_t i = 0; answers && i < ldns_rr_list_rr_count(answers); i++) {
                ldns_rr *rr = ldns_rr_clone(ldns_rr_list_rr(answers, i));
                if (!rr || !ldns_pkt_push_rr(reply, LDNS_SECTION_ANSWER, rr)) {
                        if (rr)
                                ldns_rr_free(rr);
                        r = -ENOMEM;
                        goto finish;
                }
        }
        if (with_soa) {
                ldns_rr *rr = ldns_rr_clone(s->soa);
                if (!rr || !ldns_pkt_push_rr(reply, LDNS_SECTION_AUTHORITY, rr)) {
                        if (rr)
                                ldns_rr_free(rr);
                        r = -ENOMEM;
                        goto finish;
                }
        }

        /* EDNS only for clients that spoke it (RFC 6891 6.1.1). */
        if (ldns_pkt_edns_udp_size(query) > 0) {
                ldns_pkt_set_edns_udp_size(reply, DNS_EDNS_UDP_SIZE);
                ldns_pkt_set_edns_version(reply, 0);
                ldns_pkt_set_edns_do(reply, ldns_pkt_edns_do(query));
        }

        st = ldns_pkt2wire(ret, reply, ret_size);
        if (st != LDNS_STATUS_OK)
                r = errno_from_ldns(st);
finish:
        ldns_pkt_free(reply);
        return r;
}

static void reply_send(DnsServer *s, const DnsClient *c, const ldns_pkt *query, ldns_pkt_rcode rcode,
                       bool authoritative, const ldns_rr_list *answers, bool with_soa) {
        _cleanup_free_ uint8_t *wire = NULL;
        size_t size = 0;
        int r;

        r = dns_reply_build(s, query, rcode, authoritative, answers, with_soa, &wire, &size);
        if (r < 0) {
                log_debug_errno(r, "DNS: cannot build a reply: %m");
                return;
        }
        dns_client_send(s, c, wire, size);
}

void dns_reply_send_rcode(DnsServer *s, const DnsClient *c, const ldns_pkt *query, ldns_pkt_rcode rcode) {
        reply_send(s, c, query, rcode, false, NULL, false);
}

/* A record (or PTR) for the answer section; the owner is the question's name as asked. */
static ldns_rr *rr_new(const ldns_rdf *owner, ldns_rr_type type, ldns_rdf *rdata) {
        ldns_rr *rr;
        ldns_rdf *o;

        if (!rdata)
                return NULL;
        rr = ldns_rr_new();
        o = ldns_rdf_clone(owner);
        if (!rr || !o) {
                if (rr)
                        ldns_rr_free(rr);
                if (o)
                        ldns_rdf_deep_free(o);
                ldns_rdf_deep_free(rdata);
                return NULL;
        }
        ldns_rr_set_owner(rr, o);
        ldns_rr_set_type(rr, type);
        ldns_rr_set_class(rr, LDNS_RR_CLASS_IN);
        ldns_rr_set_ttl(rr, DNS_TTL_SEC);
        if (!ldns_rr_push_rdf(rr, rdata)) {
                ldns_rdf_deep_free(rdata);
                ldns_rr_free(rr);
                return NULL;
        }
        return rr;
}

static void answer_with(DnsServer *s, const DnsClient *c, const ldns_pkt *query, ldns_rr *rr) {
        ldns_rr_list *list;

        list = ldns_rr_list_new();
        if (!list || !rr || !ldns_rr_list_push_rr(list, rr)) {
                if (rr)
                        ldns_rr_free(rr);
                if (list)
                        ldns_rr_list_free(list);
                dns_reply_send_rcode(s, c, query, LDNS_RCODE_SERVFAIL);
                return;
        }
        reply_send(s, c, query, LDNS_RCODE_NOERROR, true, list, false);
        ldns_rr_list_deep_free(list);
}

/* "4.3.2.1.in-addr.arpa" (no trailing dot) → 1.2.3.4. */
static bool reverse_name_parse(const char *name, struct in_addr *ret) {
        unsigned b[4];
        char tail[16];
        int n = 0;

        if (sscanf(name, "%3u.%3u.%3u.%3u.%15s%n", &b[3], &b[2], &b[1], &b[0], tail, &n) != 5 ||
            (size_t) n != strlen(name) || strcasecmp(tail, "in-addr.arpa") != 0)
                return false;
        for (size_t i = 0; i < 4; i++)
                if (b[i] > 255)
                        return false;
        ret->s_addr = htonl(b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]);
        return true;
}

static bool answer_reverse(DnsServer *s, const DnsClient *c, const ldns_pkt *query, const ldns_rr *question,
                           const char *name) {
        const DnsServerEntry *e = NULL;
        _cleanup_free_ char *target = NULL;
        struct in_addr a;

        if (!reverse_name_parse(name, &a))
                return false;
        for (size_t i = 0; i < s->n_entries && !e; i++)
                if (s->entries[i].addr.s_addr == a.s_addr)
                        e = &s->entries[i];
        if (!e)
                return false; /* not a container: the upstream knows better */

        if (ldns_rr_get_type(question) != LDNS_RR_TYPE_PTR) {
                reply_send(s, c, query, LDNS_RCODE_NOERROR, true, NULL, false);
                return true;
        }

        if (asprintf(&target, "%s.%s.", e->name, DNS_ZONE) < 0) {
                dns_reply_send_rcode(s, c, query, LDNS_RCODE_SERVFAIL);
                return true;
        }
        answer_with(s, c, query, rr_new(ldns_rr_owner(question), LDNS_RR_TYPE_PTR, ldns_dname_new_frm_str(target)));
        return true;
}

/* Answers from the table if the name is ours; false when it must be forwarded. */
static bool answer_local(DnsServer *s, const DnsClient *c, const ldns_pkt *query, const ldns_rr *question) {
        _cleanup_free_ char *name = NULL;
        const DnsServerEntry *e;
        ldns_rr_type type = ldns_rr_get_type(question);
        ldns_rr_class class = ldns_rr_get_class(question);
        bool in_zone, class_in = class == LDNS_RR_CLASS_IN || class == LDNS_RR_CLASS_ANY;
        size_t n;

        name = ldns_rdf2str(ldns_rr_owner(question));
        if (!name) {
                dns_reply_send_rcode(s, c, query, LDNS_RCODE_SERVFAIL);
                return true;
        }
        n = strlen(name);
        if (n > 0 && name[n - 1] == '.')
                name[--n] = '\0';

        /* The zone itself: its SOA, nothing else. */
        if (strcasecmp(name, DNS_ZONE) == 0) {
                if (class_in && (type == LDNS_RR_TYPE_SOA || type == LDNS_RR_TYPE_ANY)) {
                        answer_with(s, c, query, ldns_rr_clone(s->soa));
                        return true;
                }
                reply_send(s, c, query, LDNS_RCODE_NOERROR, true, NULL, true);
                return true;
        }

        in_zone = n > strlen("." DNS_ZONE) && strcasecmp(name + n - strlen("." DNS_ZONE), "." DNS_ZONE) == 0;

        if (class_in && n > strlen(".in-addr.arpa") && answer_reverse(s, c, query, question, name))
                return true;

        e = dns_server_lookup(s, name);
        if (!e) {
                if (!in_zone)
                        return false;
                reply_send(s, c, query, LDNS_RCODE_NXDOMAIN, true, NULL, true);
                return true;
        }

        if (!class_in || (type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_ANY)) {
                /* The name exists, with no data of this type (AAAA: containers have IPv4
                 * only). */
                reply_send(s, c, query, LDNS_RCODE_NOERROR, true, NULL, true);
                return true;
        }

        answer_with(s, c, query,
                    rr_new(ldns_rr_owner(question), LDNS_RR_TYPE_A,
                           ldns_rdf_new_frm_data(LDNS_RDF_TYPE_A, sizeof e->addr, &e->addr)));
        return true;
}

void dns_server_handle_packet(DnsServer *s, const uint8_t *data, size_t size, const DnsClient *client) {
        ldns_pkt *query = NULL;
        ldns_status st;

        /* Too short for a header, or a response (QR set): never answer those, or two servers
         * could bounce packets between each other forever. */
        if (size < DNS_HEADER_SIZE || (data[2] & 0x80))
                return;

        st = ldns_wire2pkt(&query, data, size);
        if (st != LDNS_STATUS_OK) {
                log_debug("DNS: dropping a malformed query (%s).", ldns_get_errorstr_by_id(st));
                return;
        }

        if (ldns_pkt_get_opcode(query) != LDNS_PACKET_QUERY)
                dns_reply_send_rcode(s, client, query, LDNS_RCODE_NOTIMPL);
        else if (ldns_rr_list_rr_count(ldns_pkt_question(query)) != 1)
                dns_reply_send_rcode(s, client, query, LDNS_RCODE_FORMERR);
        else if (!answer_local(s, client, query, ldns_rr_list_rr(ldns_pkt_question(query), 0)))
                dns_forward(s, query, data, size, client);

        ldns_pkt_free(query);
}
