/* The DNS resolver's fast lane (issue 9): plain queries decided, journalled, answered and
 * forwarded in C; everything else handed back ("punted") to the Python handler chain, which stays
 * the reference. `fastlane.py` explains the rules and owns every decision: this file only reads
 * the tables it is given (Python dicts) and repeats, byte for byte, what the chain would send.
 *
 * Every socket call is non-blocking and keeps the GIL: releasing it for a call that cannot wait
 * would let the journal's writer thread take it, and the event loop wait for it back (up to the
 * interpreter's 5 ms switch interval: the p99 goal is 2 ms).
 *
 * One `Lane` per UDP listening socket:
 *   take(subject_for)  recvmmsg a batch; per query: parse, who is asking (subject_for(address),
 *                      once per client per batch), categories (suffix walk over `domains`),
 *                      the decision learnt for (subject, categories) this minute, the journal
 *                      record; blocked names answered, allowed ones queued for the upstream.
 *                      Returns (punted, records, count): the queries Python must handle and the
 *                      batch's journal records, which Python hands to the journal before...
 *   send()             ...the answers and forwards leave (sendmmsg).
 *   relay(index)       the upstream's answers (recvmmsg), patched with the client's ID and
 *                      question, sent on (sendmmsg); odd ones (truncated, another question)
 *                      handed back to Python as the client's query.
 *   expired(before)    queries forwarded before `before` (monotonic) and unanswered: handed
 *                      back to Python, whose Upstream retries them on the next server.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <openssl/evp.h>
#include <zlib.h>

#define BATCH 64
#define BUFSIZE 65536
#define ANSWER_MAX 512
#define MAX_NAME 255
#define QUESTION_MAX (MAX_NAME + 1 + 4)
#define MAX_PENDING 60000
#define MAX_UPSTREAMS 8

#define KIND_FORWARD 1
#define KIND_BLOCK 2
#define FLAG_JOURNAL 4

#define PUNT_SUFFIX 1
#define PUNT_EXACT 2

enum why { WHY_OTHER = 0, WHY_LIKELY = 1, WHY_DECISION = 2 };

/* A client waiting for an upstream's answer. */
typedef struct Waiter {
    struct Waiter *next;
    struct sockaddr_storage client;
    socklen_t client_len;
    unsigned char client_id[2];
    unsigned char question[QUESTION_MAX];
    int question_len;
    int max_udp;
    int edns;
    uint16_t flags;
    int raw_len;
    unsigned char raw[];  /* the client's query, for a hand-back */
} Waiter;

/* A query sent upstream: identical queries asked meanwhile wait for the same answer, as in
 * `Upstream.ask`. */
typedef struct {
    int in_use;
    uint32_t generation;
    Waiter *waiters;     /* the first asker first */
    PyObject *key;       /* the upstream cache's key for this question */
    int upstream;        /* which upstream it went to */
} Pending;

typedef struct {
    uint16_t qid;
    uint32_t generation;
    double sent;
} Sent;

typedef struct {
    PyObject_HEAD
    int listen_fd;
    int upstream_fds[MAX_UPSTREAMS];
    int upstreams;
    int upstream_index;
    /* configuration (Python objects, owned) */
    PyObject *domains;   /* dict str -> int mask */
    PyObject *punt;      /* dict str -> PUNT_SUFFIX | PUNT_EXACT */
    PyObject *literals;  /* tuple of bytes: a name + "/" holding one is punted */
    PyObject *hashed;    /* dict SHA-256 digest -> int mask (`CategoryIndex.hashed`) */
    PyObject *likely;    /* dict name part -> int mask */
    PyObject *cache;     /* the upstream cache's entries (a mapping), or None */
    Py_ssize_t cache_limit; /* the cache's most entries (`AnswerCache.max_entries`) */
    PyObject *waiters;   /* the upstream's queries in flight (a mapping) */
    PyObject *head;      /* bytes: record up to the time */
    PyObject *source;    /* bytes: record from after the time to the address */
    int enabled;
    int nxdomain;
    int have_v4, have_v6;
    unsigned char v4[4], v6[16];
    uint32_t block_ttl;
    /* per batch */
    unsigned char *in;                   /* BATCH * BUFSIZE */
    struct mmsghdr in_msgs[BATCH];
    struct iovec in_iov[BATCH];
    struct sockaddr_storage in_addr[BATCH];
    struct sockaddr_storage relay_addr[BATCH];
    unsigned char answers[BATCH][ANSWER_MAX];
    struct mmsghdr out_msgs[BATCH];
    struct iovec out_iov[BATCH];
    int out_fd[BATCH];
    int outs;
    struct mmsghdr fwd_msgs[BATCH];
    struct iovec fwd_iov[BATCH];
    int fwd_upstream[BATCH];
    int fwds;
    uint32_t epoch;
    PyObject *clients;   /* dict packed address -> slot, this batch only */
    PyObject *inflight;  /* dict cache key -> the lane's query ID, for queries sent upstream */
    /* relaying */
    unsigned char *relay_in;             /* BATCH * BUFSIZE */
    struct mmsghdr relay_msgs[BATCH];
    struct iovec relay_iov[BATCH];
    struct mmsghdr relay_out[BATCH];
    struct iovec relay_out_iov[BATCH];
    unsigned char relay_small[BATCH][ANSWER_MAX];
    Pending *pending;                    /* 65536, by upstream query ID */
    Sent *sent;                          /* ring of 65536, in the order sent */
    uint32_t sent_head, sent_tail;
    int pending_count;
    uint32_t generation;
    uint64_t rng;
    /* journal: the second's text, kept per second */
    time_t second;
    char second_text[32];
    size_t second_len;
    unsigned long long fast, punted;
} Lane;

/* -- small helpers ------------------------------------------------------------------------- */

static uint16_t next_random(Lane *self) {
    uint64_t x = self->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    self->rng = x;
    return (uint16_t)(x >> 24);
}

static double monotonic_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static PyObject *address_key(const struct sockaddr_storage *addr) {
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        return PyBytes_FromStringAndSize((const char *)&a->sin_addr, 4);
    }
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
    return PyBytes_FromStringAndSize((const char *)&a->sin6_addr, 16);
}

/* The address as Python's `recvfrom` gives it, a link-local one with its `%interface`. */
static PyObject *address_text(const struct sockaddr_storage *addr) {
    char text[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
    const void *where = addr->ss_family == AF_INET
        ? (const void *)&((const struct sockaddr_in *)addr)->sin_addr
        : (const void *)&((const struct sockaddr_in6 *)addr)->sin6_addr;
    if (!inet_ntop(addr->ss_family, where, text, INET6_ADDRSTRLEN)) {
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (addr->ss_family == AF_INET6) {
        uint32_t scope = ((const struct sockaddr_in6 *)addr)->sin6_scope_id;
        char name[IF_NAMESIZE];
        size_t at = strlen(text);
        if (scope && if_indextoname(scope, name))
            snprintf(text + at, sizeof text - at, "%%%s", name);
        else if (scope)
            snprintf(text + at, sizeof text - at, "%%%u", scope);
    }
    return PyUnicode_FromString(text);
}

/* (host, port) or (host, port, flowinfo, scope_id): what Python's recvfrom gives. */
static PyObject *address_tuple(const struct sockaddr_storage *addr) {
    PyObject *host = address_text(addr);
    if (!host) return NULL;
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        return Py_BuildValue("(Ni)", host, ntohs(a->sin_port));
    }
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
    return Py_BuildValue("(NiII)", host, ntohs(a->sin6_port), ntohl(a->sin6_flowinfo),
                         a->sin6_scope_id);
}

/* -- the query ------------------------------------------------------------------------------ */

typedef struct {
    const unsigned char *data;
    int len;
    uint16_t id, flags, qtype, qclass;
    int question_end;       /* offset after the question */
    char name[MAX_NAME + 1];
    int name_len;
    int edns;               /* the query had an OPT record */
    int edns_size;
    int dnssec_ok;
} Query;

/* A query the lane may handle: one question of class IN, an ASCII letters-digits-hyphen name,
 * at most an OPT record and no self-test option. 0 when the chain must see it. */
static int parse(Query *q, const unsigned char *data, int len) {
    if (len < 12) return 0;
    q->data = data;
    q->len = len;
    q->id = (data[0] << 8) | data[1];
    q->flags = (data[2] << 8) | data[3];
    if (q->flags & 0x8000 || (q->flags >> 11) & 0xF) return 0;
    int qd = (data[4] << 8) | data[5], an = (data[6] << 8) | data[7];
    int ns = (data[8] << 8) | data[9], ar = (data[10] << 8) | data[11];
    if (qd != 1 || an || ns || ar > 1) return 0;
    int at = 12, out = 0;
    while (1) {
        if (at >= len) return 0;
        int label = data[at];
        if (label == 0) break;
        if (label > 63) return 0;
        if (at + 1 + label > len || at + 1 + label - 12 > MAX_NAME) return 0;
        if (out) q->name[out++] = '.';
        for (int i = 1; i <= label; i++) {
            unsigned char c = data[at + i];
            if (c >= 'A' && c <= 'Z') c += 32;
            else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
                return 0;
            q->name[out++] = (char)c;
        }
        at += 1 + label;
    }
    if (out == 0) return 0;  /* the root is never decided on */
    q->name[out] = 0;
    q->name_len = out;
    at += 1;
    if (at + 4 > len) return 0;
    q->qtype = (data[at] << 8) | data[at + 1];
    q->qclass = (data[at + 2] << 8) | data[at + 3];
    if (q->qclass != 1) return 0;
    at += 4;
    q->question_end = at;
    q->edns = 0;
    q->edns_size = 0;
    q->dnssec_ok = 0;
    if (ar) {
        if (at + 11 > len || data[at] != 0) return 0;
        int rtype = (data[at + 1] << 8) | data[at + 2];
        if (rtype != 41) return 0;
        q->edns_size = (data[at + 3] << 8) | data[at + 4];
        q->dnssec_ok = (data[at + 7] & 0x80) != 0;
        int rdlength = (data[at + 9] << 8) | data[at + 10];
        int options = at + 11, end = options + rdlength;
        if (end > len) return 0;
        while (options + 4 <= end) {
            int code = (data[options] << 8) | data[options + 1];
            int size = (data[options + 2] << 8) | data[options + 3];
            if (code == 65432) return 0;  /* a self-test probe */
            options += 4 + size;
        }
        q->edns = 1;
    }
    return 1;
}

static int max_udp(const Query *q) {
    if (!q->edns) return 512;
    int size = q->edns_size < 4096 ? q->edns_size : 4096;
    return size > 512 ? size : 512;
}

/* -- categories ----------------------------------------------------------------------------- */

/* 1 when some suffix of the name is one the chain must see (site lists, DoH, safe search...). */
static int must_punt(Lane *self, PyObject **suffixes, int count) {
    for (int i = 0; i < count; i++) {
        PyObject *how = PyDict_GetItemWithError(self->punt, suffixes[i]);
        if (how) {
            if (i == 0 || PyLong_AsLong(how) == PUNT_SUFFIX) return 1;
        } else if (PyErr_Occurred()) {
            return -1;
        }
    }
    return 0;
}

/* 1 when the name as a URL (`name/`) holds a literal some expression needs. */
static int holds_literal(Lane *self, const Query *q) {
    char url[MAX_NAME + 2];
    memcpy(url, q->name, q->name_len);
    url[q->name_len] = '/';
    Py_ssize_t count = PyTuple_GET_SIZE(self->literals);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *literal = PyTuple_GET_ITEM(self->literals, i);
        if (memmem(url, q->name_len + 1, PyBytes_AS_STRING(literal), PyBytes_GET_SIZE(literal)))
            return 1;
    }
    return 0;
}

/* The union of the category masks of every suffix (a new reference; 0 when none). */
/* mask |= table[key] when the key is there: 0, or -1 on error. */
static int or_in(PyObject **mask, PyObject *table, PyObject *key) {
    PyObject *bits = PyDict_GetItemWithError(table, key);
    if (!bits) return PyErr_Occurred() ? -1 : 0;
    if (!*mask) {
        *mask = Py_NewRef(bits);
        return 0;
    }
    PyObject *both = PyNumber_Or(*mask, bits);
    if (!both) return -1;
    Py_SETREF(*mask, both);
    return 0;
}

/* The union of the category masks of every suffix (a new reference; 0 when none): the
 * `domains` table, then the hashed lists (IWF, CTIRU: `index.hash_candidates` of a host, each
 * suffix but the top-level one, by SHA-256), as `CategoryIndex.mask_for`. */
static PyObject *domain_mask(Lane *self, PyObject **suffixes, int count) {
    PyObject *mask = NULL;
    for (int i = 0; i < count; i++)
        if (or_in(&mask, self->domains, suffixes[i]) < 0) goto fail;
    if (PyDict_GET_SIZE(self->hashed)) {
        int candidates = count > 1 ? count - 1 : 1;
        for (int i = 0; i < candidates; i++) {
            Py_ssize_t size;
            const char *text = PyUnicode_AsUTF8AndSize(suffixes[i], &size);
            unsigned char digest[EVP_MAX_MD_SIZE];
            unsigned int digest_size = 0;
            if (!text) goto fail;
            if (!EVP_Digest(text, size, digest, &digest_size, EVP_sha256(), NULL)) {
                PyErr_SetString(PyExc_RuntimeError, "SHA-256 failed");
                goto fail;
            }
            PyObject *key = PyBytes_FromStringAndSize((const char *)digest, digest_size);
            if (!key) goto fail;
            int failed = or_in(&mask, self->hashed, key);
            Py_DECREF(key);
            if (failed) goto fail;
        }
    }
    return mask ? mask : PyLong_FromLong(0);
fail:
    Py_XDECREF(mask);
    return NULL;
}

/* The label its owner registered (`host_classifier.name_part`): `best-casino7` for
 * `www.best-casino7.co.uk`. */
static PyObject *name_part(const Query *q) {
    static const char *second_level[] = {"co", "com", "org", "net", "ac", "gov", "edu",
                                         "ltd", "plc", "me", NULL};
    int starts[130], ends[130], labels = 0, start = 0;
    for (int i = 0; i <= q->name_len; i++) {
        if (i == q->name_len || q->name[i] == '.') {
            starts[labels] = start;
            ends[labels] = i;
            labels++;
            start = i + 1;
        }
    }
    if (labels > 1) labels--;
    if (labels > 1) {
        int n = ends[labels - 1] - starts[labels - 1];
        for (const char **s = second_level; *s; s++) {
            if ((int)strlen(*s) == n && memcmp(q->name + starts[labels - 1], *s, n) == 0) {
                labels--;
                break;
            }
        }
    }
    return PyUnicode_FromStringAndSize(q->name + starts[labels - 1],
                                       ends[labels - 1] - starts[labels - 1]);
}

/* -- answers -------------------------------------------------------------------------------- */

static const unsigned char OPT_PLAIN[11] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 0};
static const unsigned char OPT_BLOCKED[17] = {0, 0, 41, 0x04, 0xD0, 0, 0, 0, 0, 0, 6,
                                              0, 15, 0, 2, 0, 15};

static void put16(unsigned char *at, int value) {
    at[0] = (unsigned char)(value >> 8);
    at[1] = (unsigned char)value;
}

/* `Blocking.answer`: the block page's address for A/AAAA, else an empty answer, or NXDOMAIN;
 * the Extended DNS Error "Blocked" when the query had EDNS. Returns the length. */
static int block_answer(Lane *self, const Query *q, unsigned char *out) {
    int rcode = self->nxdomain ? 3 : 0;
    const unsigned char *address = NULL;
    int size = 0;
    if (!self->nxdomain) {
        if (q->qtype == 1 && self->have_v4) address = self->v4, size = 4;
        else if (q->qtype == 28 && self->have_v6) address = self->v6, size = 16;
    }
    put16(out, q->id);
    put16(out + 2, 0x8000 | 0x0080 | (q->flags & 0x0100) | 0x0400 | rcode);
    put16(out + 4, 1);
    put16(out + 6, address ? 1 : 0);
    put16(out + 8, 0);
    put16(out + 10, q->edns ? 1 : 0);
    int at = q->question_end - 12;
    memcpy(out + 12, q->data + 12, at);
    at += 12;
    if (address) {
        out[at] = 0xC0, out[at + 1] = 0x0C;
        put16(out + at + 2, q->qtype);
        put16(out + at + 4, 1);
        out[at + 6] = (unsigned char)(self->block_ttl >> 24);
        out[at + 7] = (unsigned char)(self->block_ttl >> 16);
        out[at + 8] = (unsigned char)(self->block_ttl >> 8);
        out[at + 9] = (unsigned char)self->block_ttl;
        put16(out + at + 10, size);
        memcpy(out + at + 12, address, size);
        at += 12 + size;
    }
    if (q->edns) {
        memcpy(out + at, OPT_BLOCKED, sizeof OPT_BLOCKED);
        at += sizeof OPT_BLOCKED;
    }
    return at;
}

/* `wire.truncated`: an empty answer with TC set, for an answer too big for the client. */
static int truncated_answer(const Waiter *p, unsigned char *out) {
    put16(out, (p->client_id[0] << 8) | p->client_id[1]);
    put16(out + 2, 0x8000 | 0x0080 | 0x0200 | (p->flags & 0x0100));
    put16(out + 4, 1);
    put16(out + 6, 0);
    put16(out + 8, 0);
    put16(out + 10, p->edns ? 1 : 0);
    memcpy(out + 12, p->question, p->question_len);
    int at = 12 + p->question_len;
    if (p->edns) {
        memcpy(out + at, OPT_PLAIN, sizeof OPT_PLAIN);
        at += sizeof OPT_PLAIN;
    }
    return at;
}

/* -- the journal record --------------------------------------------------------------------- */

static int append(PyObject *out, const void *data, Py_ssize_t size) {
    Py_ssize_t at = PyByteArray_GET_SIZE(out);
    if (PyByteArray_Resize(out, at + size) < 0) return -1;
    memcpy(PyByteArray_AS_STRING(out) + at, data, size);
    return 0;
}

static int append_bytes(PyObject *out, PyObject *bytes) {
    return append(out, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
}

/* `DecisionEncoder.encode_records`'s record: payload framed as `SG`, length, CRC-32. The slot
 * gives the address and user, the entry the decision's text around the name. */
static int record(Lane *self, PyObject *out, PyObject *slot_text, PyObject *entry,
                  const char *name, int name_len, int qtype, time_t second, long micro) {
    Py_ssize_t start = PyByteArray_GET_SIZE(out);
    char header[10] = {'S', 'G'};
    if (append(out, header, 10) < 0) return -1;
    if (second != self->second) {
        struct tm when;
        gmtime_r(&second, &when);
        self->second_len = strftime(self->second_text, sizeof self->second_text,
                                    "%Y-%m-%dT%H:%M:%S.", &when);
        self->second = second;
    }
    char micro_text[8], extra[48];
    snprintf(micro_text, sizeof micro_text, "%06ld", micro);
    int extra_len = snprintf(extra, sizeof extra, ",\"extra\":{\"qtype\":%d}}", qtype);
    if (append_bytes(out, self->head) < 0 || append(out, self->second_text, self->second_len) < 0
        || append(out, micro_text, 6) < 0 || append_bytes(out, self->source) < 0
        || append_bytes(out, slot_text) < 0 || append_bytes(out, PyTuple_GET_ITEM(entry, 1)) < 0
        || append(out, "\"", 1) < 0 || append(out, name, name_len) < 0
        || append(out, "\"", 1) < 0 || append_bytes(out, PyTuple_GET_ITEM(entry, 2)) < 0
        || append(out, name, name_len) < 0 || append_bytes(out, PyTuple_GET_ITEM(entry, 3)) < 0
        || append(out, extra, extra_len) < 0)
        return -1;
    unsigned char *frame = (unsigned char *)PyByteArray_AS_STRING(out) + start;
    uint32_t size = (uint32_t)(PyByteArray_GET_SIZE(out) - start - 10);
    uint32_t crc = (uint32_t)crc32(0, frame + 10, size);
    for (int i = 0; i < 4; i++) {
        frame[2 + i] = (unsigned char)(size >> (24 - 8 * i));
        frame[6 + i] = (unsigned char)(crc >> (24 - 8 * i));
    }
    return 0;
}

/* -- one query ------------------------------------------------------------------------------ */

typedef struct {
    PyObject *slot;   /* borrowed */
    PyObject *mask;   /* new reference or NULL */
    PyObject *part;   /* new reference or NULL */
    enum why why;
} Hint;

/* The entry the lane answers `q` by (borrowed), or NULL with `hint` saying why not (an error
 * sets a Python exception and returns NULL with hint->why = -1). */
static PyObject *entry_for(Lane *self, const Query *q, PyObject *slot, Hint *hint) {
    PyObject *suffixes[128];
    int count = 0;
    PyObject *entry = NULL, *name = PyUnicode_FromStringAndSize(q->name, q->name_len);
    hint->why = WHY_OTHER;
    if (!name) goto error;
    suffixes[count++] = name;
    for (int i = 0; i < q->name_len && count < 128; i++) {
        if (q->name[i] != '.') continue;
        PyObject *suffix = PyUnicode_FromStringAndSize(q->name + i + 1, q->name_len - i - 1);
        if (!suffix) goto error;
        suffixes[count++] = suffix;
    }
    int punt = must_punt(self, suffixes, count) || holds_literal(self, q);
    if (punt < 0) goto error;
    if (punt) goto done;
    PyObject *mask = domain_mask(self, suffixes, count);
    if (!mask) goto error;
    int empty = PyObject_Not(mask);
    if (empty) {
        Py_DECREF(mask);
        PyObject *part = name_part(q);
        if (!part) goto error;
        PyObject *likely = PyDict_GetItemWithError(self->likely, part);
        if (!likely) {
            if (PyErr_Occurred()) { Py_DECREF(part); goto error; }
            hint->why = WHY_LIKELY;
            hint->part = part;
            goto done;
        }
        Py_DECREF(part);
        mask = Py_NewRef(likely);
    }
    entry = PyDict_GetItemWithError(PyTuple_GET_ITEM(slot, 1), mask);
    if (!entry) {
        if (PyErr_Occurred()) { Py_DECREF(mask); goto error; }
        hint->why = WHY_DECISION;
        hint->mask = mask;
        goto done;
    }
    Py_DECREF(mask);
    if (!(PyLong_AsLong(PyTuple_GET_ITEM(entry, 0)) & (KIND_FORWARD | KIND_BLOCK))) entry = NULL;
done:
    for (int i = 0; i < count; i++) Py_DECREF(suffixes[i]);
    return entry;
error:
    for (int i = 0; i < count; i++) Py_DECREF(suffixes[i]);
    hint->why = -1;
    return NULL;
}

/* The upstream cache's key for `q` (`upstream.cache_key`), or NULL on error. */
static PyObject *cache_key(const Query *q) {
    return Py_BuildValue("(s#iiOO)", q->name, (Py_ssize_t)q->name_len, q->qtype, q->qclass,
                         q->edns ? Py_True : Py_False, q->dnssec_ok ? Py_True : Py_False);
}

/* Queue the answer written in answers[outs] for the client at `from`. */
static void queue_answer(Lane *self, int size, struct sockaddr_storage *from, socklen_t from_len) {
    int i = self->outs++;
    self->out_iov[i].iov_base = self->answers[i];
    self->out_iov[i].iov_len = size;
    memset(&self->out_msgs[i].msg_hdr, 0, sizeof(struct msghdr));
    self->out_msgs[i].msg_hdr.msg_name = from;
    self->out_msgs[i].msg_hdr.msg_namelen = from_len;
    self->out_msgs[i].msg_hdr.msg_iov = &self->out_iov[i];
    self->out_msgs[i].msg_hdr.msg_iovlen = 1;
}

static PyObject *PATCHED, *PATCHED_SECOND, *QUESTION_END, *EXPIRES, *MOVE_TO_END;

/* The upstream cache's answer to `q` (`upstream.CacheEntry.render`), when the chain has already
 * rendered it this second (its TTLs counted down): 1 queued, 0 the chain must render it. */
static int from_cache(Lane *self, const Query *q, PyObject *key, PyObject *entry,
                      struct sockaddr_storage *from, socklen_t from_len) {
    if (PyTuple_Check(entry)) return 0;  /* kept unparsed: the chain parses it */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    PyObject *second = PyObject_GetAttr(entry, PATCHED_SECOND);
    PyObject *expires = PyObject_GetAttr(entry, EXPIRES);
    PyObject *patched = PyObject_GetAttr(entry, PATCHED);
    PyObject *end = PyObject_GetAttr(entry, QUESTION_END);
    int done = -1;
    if (!second || !expires || !patched || !end) goto out;
    done = 0;
    double when = (double)now.tv_sec + now.tv_nsec / 1e9;
    if (PyLong_AsLongLong(second) != (long long)now.tv_sec || PyFloat_AsDouble(expires) <= when
        || !PyBytes_Check(patched) || PyErr_Occurred())
        goto out;
    Py_ssize_t question_end = PyLong_AsSsize_t(end), size = PyBytes_GET_SIZE(patched);
    int question = q->question_end - 12;
    Py_ssize_t total = 12 + question + size - question_end;
    if (question_end < 12 || question_end > size || total > ANSWER_MAX || total > max_udp(q))
        goto out;
    unsigned char *out = self->answers[self->outs];
    const unsigned char *body = (const unsigned char *)PyBytes_AS_STRING(patched);
    put16(out, q->id);
    memcpy(out + 2, body + 2, 10);
    memcpy(out + 12, q->data + 12, question);
    memcpy(out + 12 + question, body + question_end, size - question_end);
    PyObject *moved = PyObject_CallMethodOneArg(self->cache, MOVE_TO_END, key);
    if (!moved) {
        done = -1;
        goto out;
    }
    Py_DECREF(moved);
    queue_answer(self, (int)total, from, from_len);
    done = 1;
out:
    Py_XDECREF(second);
    Py_XDECREF(expires);
    Py_XDECREF(patched);
    Py_XDECREF(end);
    if (done == 0) PyErr_Clear();
    return done;
}

static Waiter *new_waiter(const Query *q, const unsigned char *data,
                          const struct sockaddr_storage *from, socklen_t from_len) {
    Waiter *w = PyMem_Malloc(sizeof(Waiter) + q->len);
    if (!w) {
        PyErr_NoMemory();
        return NULL;
    }
    w->next = NULL;
    memcpy(&w->client, from, from_len);
    w->client_len = from_len;
    w->client_id[0] = data[0], w->client_id[1] = data[1];
    w->question_len = q->question_end - 12;
    memcpy(w->question, data + 12, w->question_len);
    w->max_udp = max_udp(q);
    w->edns = q->edns;
    w->flags = q->flags;
    w->raw_len = q->len;
    memcpy(w->raw, data, q->len);
    return w;
}

/* Queue `q` for the upstream: 1 queued, 2 answered from the cache, 3 waiting for an identical
 * query the lane sent, 0 the chain must ask (an answer it must render, in flight there, too
 * many waiting). */
static int forward(Lane *self, Query *q, unsigned char *data, struct sockaddr_storage *from,
                   socklen_t from_len) {
    if (self->pending_count >= MAX_PENDING || self->upstreams == 0
        || q->question_end - 12 > QUESTION_MAX)
        return 0;
    while (self->sent_tail - self->sent_head >= 65536) {  /* the ring is full: drop answered */
        Sent *s = &self->sent[self->sent_head & 0xFFFF];
        Pending *p = &self->pending[s->qid];
        if (p->in_use && p->generation == s->generation) return 0;
        self->sent_head++;
    }
    PyObject *key = cache_key(q);
    if (!key) return -1;
    if (self->cache != Py_None) {
        PyObject *entry = PyDict_GetItemWithError(self->cache, key);
        if (entry) {
            Py_INCREF(entry);
            int done = from_cache(self, q, key, entry, from, from_len);
            Py_DECREF(entry);
            Py_DECREF(key);
            return done == 1 ? 2 : done;
        }
        if (PyErr_Occurred()) { Py_DECREF(key); return -1; }
    }
    int known = PySequence_Contains(self->waiters, key);
    if (known) {
        Py_DECREF(key);
        return known < 0 ? -1 : 0;
    }
    Waiter *w = new_waiter(q, data, from, from_len);
    if (!w) { Py_DECREF(key); return -1; }
    PyObject *asked = PyDict_GetItemWithError(self->inflight, key);
    if (asked) {  /* the lane has asked already: wait for that answer */
        Pending *p = &self->pending[PyLong_AsLong(asked)];
        Waiter **last = &p->waiters;
        while (*last) last = &(*last)->next;
        *last = w;
        Py_DECREF(key);
        return 3;
    }
    uint16_t qid = next_random(self);
    while (self->pending[qid].in_use) qid = next_random(self);
    PyObject *id = PyLong_FromLong(qid);
    if (PyErr_Occurred() || !id || PyDict_SetItem(self->inflight, key, id) < 0) {
        Py_XDECREF(id);
        PyMem_Free(w);
        Py_DECREF(key);
        return -1;
    }
    Py_DECREF(id);
    Pending *p = &self->pending[qid];
    p->in_use = 1;
    p->generation = ++self->generation;
    p->waiters = w;
    p->key = key;
    p->upstream = self->upstream_index;
    self->pending_count++;
    Sent *s = &self->sent[self->sent_tail++ & 0xFFFF];
    s->qid = qid, s->generation = p->generation, s->sent = monotonic_now();
    put16(data, qid);  /* the client's packet goes on with the lane's ID */
    int i = self->fwds++;
    self->fwd_iov[i].iov_base = data;
    self->fwd_iov[i].iov_len = q->len;
    memset(&self->fwd_msgs[i].msg_hdr, 0, sizeof(struct msghdr));
    self->fwd_msgs[i].msg_hdr.msg_iov = &self->fwd_iov[i];
    self->fwd_msgs[i].msg_hdr.msg_iovlen = 1;
    self->fwd_upstream[i] = self->upstream_index;
    return 1;
}

static void release(Lane *self, Pending *p) {
    for (Waiter *w = p->waiters, *next; w; w = next) {
        next = w->next;
        PyMem_Free(w);
    }
    p->waiters = NULL;
    if (p->key && self->inflight && PyDict_DelItem(self->inflight, p->key) < 0) PyErr_Clear();
    Py_CLEAR(p->key);
    p->in_use = 0;
    self->pending_count--;
}

/* The slot for the client at `from` this batch: subject_for(address) once per client. */
static PyObject *slot_for(Lane *self, const struct sockaddr_storage *from, PyObject *subject_for) {
    PyObject *key = address_key(from);
    if (!key) return NULL;
    PyObject *slot = PyDict_GetItemWithError(self->clients, key);
    if (slot || PyErr_Occurred()) {
        Py_DECREF(key);
        return slot;
    }
    PyObject *text = address_text(from);
    if (!text) { Py_DECREF(key); return NULL; }
    slot = PyObject_CallOneArg(subject_for, text);
    Py_DECREF(text);
    if (!slot) { Py_DECREF(key); return NULL; }
    if (slot != Py_None && !(PyTuple_Check(slot) && PyTuple_GET_SIZE(slot) >= 2
                             && PyBytes_Check(PyTuple_GET_ITEM(slot, 0))
                             && PyDict_Check(PyTuple_GET_ITEM(slot, 1)))) {
        PyErr_SetString(PyExc_TypeError, "subject_for must return (bytes, dict, ...) or None");
        Py_DECREF(slot);
        Py_DECREF(key);
        return NULL;
    }
    int failed = PyDict_SetItem(self->clients, key, slot);
    Py_DECREF(key);
    Py_DECREF(slot);  /* the dict keeps it for the batch */
    return failed ? NULL : slot;
}

static int check_entry(PyObject *entry) {
    if (!(PyTuple_Check(entry) && PyTuple_GET_SIZE(entry) == 4
          && PyLong_Check(PyTuple_GET_ITEM(entry, 0)) && PyBytes_Check(PyTuple_GET_ITEM(entry, 1))
          && PyBytes_Check(PyTuple_GET_ITEM(entry, 2))
          && PyBytes_Check(PyTuple_GET_ITEM(entry, 3)))) {
        PyErr_SetString(PyExc_TypeError, "an entry is (kind, bytes, bytes, bytes)");
        return -1;
    }
    return 0;
}

/* Handle one received query: 1 done by the lane, 0 punted (hint says why), -1 error. */
static int one(Lane *self, int n, PyObject *subject_for, PyObject *records, Py_ssize_t *count,
               Hint *hint, PyObject **slot_out) {
    unsigned char *data = self->in + (size_t)n * BUFSIZE;
    int len = (int)self->in_msgs[n].msg_len;
    Query q;
    hint->slot = NULL, hint->mask = NULL, hint->part = NULL, hint->why = WHY_OTHER;
    if (!self->enabled || self->in_msgs[n].msg_hdr.msg_flags & MSG_TRUNC || !parse(&q, data, len))
        return 0;
    struct sockaddr_storage *from = &self->in_addr[n];
    PyObject *slot = slot_for(self, from, subject_for);
    if (!slot) return -1;
    if (slot == Py_None) return 0;
    *slot_out = slot;
    hint->slot = slot;
    PyObject *entry = entry_for(self, &q, slot, hint);
    if (!entry) return (int)hint->why == -1 ? -1 : 0;
    if (check_entry(entry) < 0) return -1;
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(entry, 0));
    if (kind & KIND_FORWARD) {
        int queued = forward(self, &q, data, from, self->in_msgs[n].msg_hdr.msg_namelen);
        if (queued <= 0) return queued;
    } else {
        int size = block_answer(self, &q, self->answers[self->outs]);
        queue_answer(self, size, from, self->in_msgs[n].msg_hdr.msg_namelen);
    }
    if (kind & FLAG_JOURNAL) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        long micro = (now.tv_nsec + 500) / 1000;
        time_t second = now.tv_sec;
        if (micro >= 1000000) second++, micro -= 1000000;
        if (record(self, records, PyTuple_GET_ITEM(slot, 0), entry, q.name, q.name_len, q.qtype,
                   second, micro) < 0)
            return -1;
        (*count)++;
    }
    return 1;
}

/* -- the Lane type -------------------------------------------------------------------------- */

static void clear_pending(Lane *self) {
    if (!self->pending) return;
    for (int i = 0; i < 65536; i++)
        if (self->pending[i].in_use) release(self, &self->pending[i]);
}

static void Lane_dealloc(Lane *self) {
    clear_pending(self);
    PyMem_Free(self->pending);
    PyMem_Free(self->sent);
    PyMem_Free(self->in);
    PyMem_Free(self->relay_in);
    Py_XDECREF(self->domains);
    Py_XDECREF(self->punt);
    Py_XDECREF(self->hashed);
    Py_XDECREF(self->literals);
    Py_XDECREF(self->likely);
    Py_XDECREF(self->cache);
    Py_XDECREF(self->waiters);
    Py_XDECREF(self->head);
    Py_XDECREF(self->source);
    Py_XDECREF(self->clients);
    Py_XDECREF(self->inflight);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int Lane_init(Lane *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"listen_fd", "upstream_fds", NULL};
    PyObject *fds;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "iO!", names, &self->listen_fd, &PyList_Type,
                                     &fds))
        return -1;
    if (PyList_GET_SIZE(fds) > MAX_UPSTREAMS) {
        PyErr_SetString(PyExc_ValueError, "too many upstreams for the fast lane");
        return -1;
    }
    self->upstreams = (int)PyList_GET_SIZE(fds);
    for (int i = 0; i < self->upstreams; i++) {
        self->upstream_fds[i] = (int)PyLong_AsLong(PyList_GET_ITEM(fds, i));
        if (PyErr_Occurred()) return -1;
    }
    self->in = PyMem_Malloc((size_t)BATCH * BUFSIZE);
    self->relay_in = PyMem_Malloc((size_t)BATCH * BUFSIZE);
    self->pending = PyMem_Calloc(65536, sizeof(Pending));
    self->sent = PyMem_Calloc(65536, sizeof(Sent));
    self->clients = PyDict_New();
    self->inflight = PyDict_New();
    if (!self->in || !self->relay_in || !self->pending || !self->sent) {
        PyErr_NoMemory();
        return -1;
    }
    if (!self->clients || !self->inflight) return -1;
    for (int i = 0; i < BATCH; i++) {
        self->in_iov[i].iov_base = self->in + (size_t)i * BUFSIZE;
        self->in_iov[i].iov_len = BUFSIZE;
        self->relay_iov[i].iov_base = self->relay_in + (size_t)i * BUFSIZE;
        self->relay_iov[i].iov_len = BUFSIZE;
    }
    if (getrandom(&self->rng, sizeof self->rng, 0) != sizeof self->rng || self->rng == 0)
        self->rng = 0x9E3779B97F4A7C15ULL ^ (uint64_t)time(NULL);
    self->second = -1;
#define NONE(field) self->field = Py_NewRef(Py_None)
    self->domains = PyDict_New();
    self->punt = PyDict_New();
    self->hashed = PyDict_New();
    self->literals = PyTuple_New(0);
    self->likely = PyDict_New();
    self->waiters = PyDict_New();
    NONE(cache);
    self->head = PyBytes_FromString("");
    self->source = PyBytes_FromString("");
    return self->domains && self->punt && self->hashed && self->literals && self->likely
        && self->waiters && self->head && self->source ? 0 : -1;
}

static void replace(PyObject **field, PyObject *value) {
    Py_XSETREF(*field, Py_NewRef(value));
}

PyDoc_STRVAR(configure_doc,
"configure(*, enabled, domains, hashed, punt, literals, likely, cache, cache_limit, waiters,\n"
"          head, source, nxdomain, v4, v6, block_ttl)\n\n"
"What the lane reads: see `fastlane.FastLane.policy_changed`.");

static PyObject *Lane_configure(Lane *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"enabled", "domains", "hashed", "punt", "literals", "likely", "cache",
                            "cache_limit", "waiters", "head", "source", "nxdomain", "v4", "v6",
                            "block_ttl", NULL};
    int enabled, nxdomain;
    unsigned int ttl;
    Py_ssize_t cache_limit;
    PyObject *domains, *hashed, *punt, *literals, *likely, *cache, *waiters, *head, *source;
    PyObject *v4, *v6;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "$pO!O!O!O!O!OnOO!O!pOOI", names, &enabled,
                                     &PyDict_Type, &domains, &PyDict_Type, &hashed,
                                     &PyDict_Type, &punt, &PyTuple_Type,
                                     &literals, &PyDict_Type,
                                     &likely, &cache, &cache_limit, &waiters, &PyBytes_Type, &head,
                                     &PyBytes_Type, &source, &nxdomain, &v4, &v6, &ttl))
        return NULL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(literals); i++) {
        if (!PyBytes_Check(PyTuple_GET_ITEM(literals, i))) {
            PyErr_SetString(PyExc_TypeError, "literals is a tuple of bytes");
            return NULL;
        }
    }
    if (cache != Py_None && !PyDict_Check(cache)) {
        PyErr_SetString(PyExc_TypeError, "cache is a dict (the upstream cache's entries) or None");
        return NULL;
    }
    if ((v4 != Py_None && !(PyBytes_Check(v4) && PyBytes_GET_SIZE(v4) == 4))
        || (v6 != Py_None && !(PyBytes_Check(v6) && PyBytes_GET_SIZE(v6) == 16))) {
        PyErr_SetString(PyExc_ValueError, "v4 is 4 bytes, v6 16 bytes, or None");
        return NULL;
    }
    self->enabled = enabled;
    replace(&self->domains, domains);
    replace(&self->punt, punt);
    replace(&self->hashed, hashed);
    replace(&self->literals, literals);
    replace(&self->likely, likely);
    replace(&self->cache, cache);
    self->cache_limit = cache_limit;
    replace(&self->waiters, waiters);
    replace(&self->head, head);
    replace(&self->source, source);
    self->nxdomain = nxdomain;
    self->have_v4 = v4 != Py_None;
    self->have_v6 = v6 != Py_None;
    if (self->have_v4) memcpy(self->v4, PyBytes_AS_STRING(v4), 4);
    if (self->have_v6) memcpy(self->v6, PyBytes_AS_STRING(v6), 16);
    self->block_ttl = ttl;
    Py_RETURN_NONE;
}

static PyObject *hint_tuple(const Hint *hint) {
    if (hint->why == WHY_OTHER || !hint->slot) return Py_NewRef(Py_None);
    return Py_BuildValue("(iOOO)", (int)hint->why, hint->slot, hint->mask ? hint->mask : Py_None,
                         hint->part ? hint->part : Py_None);
}

PyDoc_STRVAR(take_doc,
"take(subject_for, upstream_index) -> (punted, records, count)\n\n"
"Read waiting queries; answer or queue those the lane can. `punted` is a list of\n"
"(packet, address, hint, offset) for the chain, `offset` being where in `records` (the\n"
"journal records of the rest) its record goes.");

static PyObject *Lane_take(Lane *self, PyObject *args) {
    PyObject *subject_for;
    int upstream_index;
    if (!PyArg_ParseTuple(args, "Oi", &subject_for, &upstream_index)) return NULL;
    if (self->outs || self->fwds) {
        PyErr_SetString(PyExc_RuntimeError, "take() again before send()");
        return NULL;
    }
    self->upstream_index = upstream_index < self->upstreams ? upstream_index : 0;
    for (int i = 0; i < BATCH; i++) {
        memset(&self->in_msgs[i].msg_hdr, 0, sizeof(struct msghdr));
        self->in_msgs[i].msg_hdr.msg_name = &self->in_addr[i];
        self->in_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
        self->in_msgs[i].msg_hdr.msg_iov = &self->in_iov[i];
        self->in_msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int got = recvmmsg(self->listen_fd, self->in_msgs, BATCH, MSG_DONTWAIT, NULL);
    if (got < 0) got = 0;  /* nothing waiting, or an ICMP error queued: the next read goes on */
    PyObject *punted = PyList_New(0), *records = PyByteArray_FromStringAndSize(NULL, 0);
    Py_ssize_t count = 0;
    if (!punted || !records) goto fail;
    PyDict_Clear(self->clients);
    for (int n = 0; n < got; n++) {
        Hint hint;
        PyObject *slot = NULL;
        int done = one(self, n, subject_for, records, &count, &hint, &slot);
        if (done < 0) {
            Py_XDECREF(hint.mask);
            Py_XDECREF(hint.part);
            goto fail;
        }
        if (done) {
            self->fast++;
            continue;
        }
        self->punted++;
        PyObject *address = address_tuple(&self->in_addr[n]);
        PyObject *packet = PyBytes_FromStringAndSize((const char *)self->in + (size_t)n * BUFSIZE,
                                                     self->in_msgs[n].msg_len);
        PyObject *why = hint_tuple(&hint);
        Py_XDECREF(hint.mask);
        Py_XDECREF(hint.part);
        if (!address || !packet || !why) {
            Py_XDECREF(address);
            Py_XDECREF(packet);
            Py_XDECREF(why);
            goto fail;
        }
        PyObject *offset = PyLong_FromSsize_t(PyByteArray_GET_SIZE(records));
        PyObject *item = offset ? PyTuple_Pack(4, packet, address, why, offset) : NULL;
        Py_XDECREF(offset);
        Py_DECREF(address);
        Py_DECREF(packet);
        Py_DECREF(why);
        if (!item || PyList_Append(punted, item) < 0) {
            Py_XDECREF(item);
            goto fail;
        }
        Py_DECREF(item);
    }
    PyDict_Clear(self->clients);
    return Py_BuildValue("(NNn)", punted, records, count);
fail:
    /* what was queued still goes out at send(); the error is the chain's to log */
    Py_XDECREF(punted);
    Py_XDECREF(records);
    PyDict_Clear(self->clients);
    return NULL;
}

static void send_all(int fd, struct mmsghdr *msgs, int count) {
    int at = 0;
    while (at < count) {
        int sent = sendmmsg(fd, msgs + at, count - at, MSG_DONTWAIT);
        if (sent <= 0) {
            if (sent < 0 && errno == EINTR) continue;
            at++;  /* a full buffer or an unreachable client: UDP clients ask again */
            continue;
        }
        at += sent;
    }
}

PyDoc_STRVAR(send_doc, "send()\n\nSend the batch's answers and forwards (after the hand-over).");

static PyObject *Lane_send(Lane *self, PyObject *Py_UNUSED(ignored)) {
    send_all(self->listen_fd, self->out_msgs, self->outs);
    for (int i = 0; i < self->fwds;) {
        int upstream = self->fwd_upstream[i], j = i;
        while (j < self->fwds && self->fwd_upstream[j] == upstream) j++;
        send_all(self->upstream_fds[upstream], self->fwd_msgs + i, j - i);
        i = j;
    }
    self->outs = self->fwds = 0;
    Py_RETURN_NONE;
}

/* Whether the answer's question is the one asked (ignoring case), as `Upstream` checks. */
static int same_question(const unsigned char *data, int len, const Waiter *p) {
    if (len < 12 + p->question_len) return 0;
    for (int i = 0; i < p->question_len; i++) {
        unsigned char a = data[12 + i], b = p->question[i];
        if (a >= 'A' && a <= 'Z') a += 32;
        if (b >= 'A' && b <= 'Z') b += 32;
        if (a != b) return 0;
    }
    return 1;
}

/* Why a forwarded query is handed back to the chain's Upstream. */
enum back { BACK_EXPIRED = 0, BACK_TRUNCATED = 1, BACK_OTHER_QUESTION = 2 };

/* Every waiter's (packet, address, why) appended to `back`: 0, or -1 on error. */
static int hand_back(const Pending *p, enum back why, PyObject *back) {
    for (const Waiter *w = p->waiters; w; w = w->next) {
        PyObject *packet = PyBytes_FromStringAndSize((const char *)w->raw, w->raw_len);
        PyObject *address = address_tuple(&w->client);
        PyObject *item = packet && address
            ? Py_BuildValue("(OOii)", packet, address, (int)why, p->upstream) : NULL;
        Py_XDECREF(packet);
        Py_XDECREF(address);
        if (!item || PyList_Append(back, item) < 0) {
            Py_XDECREF(item);
            return -1;
        }
        Py_DECREF(item);
    }
    return 0;
}

/* An answer for a second or later waiter: its own copy, sent at once (rare: identical queries
 * in flight together). */
static void answer_also(Lane *self, const Waiter *w, const unsigned char *data, int len) {
    unsigned char small[ANSWER_MAX];
    unsigned char *out = small;
    int out_len;
    if (len > w->max_udp) {
        out_len = truncated_answer(w, small);
    } else {
        out = PyMem_Malloc(len);
        if (!out) return;  /* UDP clients ask again */
        memcpy(out, data, len);
        out[0] = w->client_id[0], out[1] = w->client_id[1];
        memcpy(out + 12, w->question, w->question_len);
        out_len = len;
    }
    sendto(self->listen_fd, out, out_len, MSG_DONTWAIT, (const struct sockaddr *)&w->client,
           w->client_len);
    if (out != small) PyMem_Free(out);
}

static PyObject *POPITEM;

/* `AnswerCache.put`: the answer as it came, and when, for the chain to parse if it is asked
 * again; truncated answers and errors but NXDOMAIN are not kept. The cache is an OrderedDict,
 * so only its own methods change it (never the dict API, which would bypass its order). */
static int cache_answer(Lane *self, PyObject *key, const unsigned char *data, int len,
                        PyObject *when) {
    if (self->cache == Py_None || self->cache_limit <= 0 || len < 12 || data[2] & 0x02) return 0;
    int rcode = data[3] & 0xF;
    if (rcode != 0 && rcode != 3) return 0;
    int known = PySequence_Contains(self->cache, key);
    PyObject *value = Py_BuildValue("(y#O)", (const char *)data, (Py_ssize_t)len, when);
    if (known < 0 || !value || PyObject_SetItem(self->cache, key, value) < 0) {
        Py_XDECREF(value);
        return -1;
    }
    Py_DECREF(value);
    if (known) {
        PyObject *moved = PyObject_CallMethodOneArg(self->cache, MOVE_TO_END, key);
        if (!moved) return -1;
        Py_DECREF(moved);
    }
    while (PyObject_Size(self->cache) > self->cache_limit) {
        PyObject *oldest = PyObject_CallMethodOneArg(self->cache, POPITEM, Py_False);
        if (!oldest) return -1;
        Py_DECREF(oldest);
    }
    return 0;
}

PyDoc_STRVAR(relay_doc,
"relay(index, now) -> handed_back\n\n"
"Read upstream `index`'s answers and send each to its client; `now` (time.time()) is when\n"
"they are cached. Returns [(packet, address, why, upstream)] of queries the chain must ask\n"
"again (why: BACK_TRUNCATED, BACK_OTHER_QUESTION).");

static PyObject *Lane_relay(Lane *self, PyObject *args) {
    int index;
    double now;
    if (!PyArg_ParseTuple(args, "id", &index, &now)) return NULL;
    if (index < 0 || index >= self->upstreams) {
        PyErr_SetString(PyExc_IndexError, "no such upstream");
        return NULL;
    }
    PyObject *back = PyList_New(0);
    if (!back) return NULL;
    PyObject *when = PyFloat_FromDouble(now);
    if (!when) { Py_DECREF(back); return NULL; }
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < BATCH; i++) {
            memset(&self->relay_msgs[i].msg_hdr, 0, sizeof(struct msghdr));
            self->relay_msgs[i].msg_hdr.msg_iov = &self->relay_iov[i];
            self->relay_msgs[i].msg_hdr.msg_iovlen = 1;
        }
        int got = recvmmsg(self->upstream_fds[index], self->relay_msgs, BATCH, MSG_DONTWAIT, NULL);
        if (got <= 0) break;
        int outs = 0;
        for (int n = 0; n < got; n++) {
            unsigned char *data = self->relay_in + (size_t)n * BUFSIZE;
            int len = (int)self->relay_msgs[n].msg_len;
            if (len < 12 || !(data[2] & 0x80) || self->relay_msgs[n].msg_hdr.msg_flags & MSG_TRUNC)
                continue;
            Pending *p = &self->pending[(data[0] << 8) | data[1]];
            if (!p->in_use) continue;  /* late, or a stranger's */
            Waiter *first = p->waiters;
            if (data[2] & 0x02 || !same_question(data, len, first)) {
                /* truncated (fetch it over TCP) or another question: the chain asks again */
                int failed = hand_back(p, data[2] & 0x02 ? BACK_TRUNCATED : BACK_OTHER_QUESTION,
                                       back);
                release(self, p);
                if (failed) goto fail;
                continue;
            }
            if (cache_answer(self, p->key, data, len, when) < 0) goto fail;
            for (const Waiter *w = first->next; w; w = w->next) answer_also(self, w, data, len);
            const Waiter *q = first;
            unsigned char *out = data;
            int out_len = len;
            if (len > q->max_udp) {
                out = self->relay_small[n];
                out_len = truncated_answer(q, out);
            } else {
                data[0] = q->client_id[0], data[1] = q->client_id[1];
                memcpy(data + 12, q->question, q->question_len);
            }
            struct mmsghdr *m = &self->relay_out[outs];
            memset(&m->msg_hdr, 0, sizeof(struct msghdr));
            self->relay_out_iov[outs].iov_base = out;
            self->relay_out_iov[outs].iov_len = out_len;
            m->msg_hdr.msg_iov = &self->relay_out_iov[outs];
            m->msg_hdr.msg_iovlen = 1;
            /* the client's address stays valid until sent: copied out of the table first */
            memcpy(&self->relay_addr[outs], &q->client, q->client_len);
            m->msg_hdr.msg_name = &self->relay_addr[outs];
            m->msg_hdr.msg_namelen = q->client_len;
            release(self, p);
            outs++;
        }
        if (outs) send_all(self->listen_fd, self->relay_out, outs);
        if (got < BATCH) break;
    }
    Py_DECREF(when);
    return back;
fail:
    Py_DECREF(when);
    Py_DECREF(back);
    return NULL;
}

PyDoc_STRVAR(expired_doc,
"expired(before) -> handed_back\n\n"
"Queries forwarded before `before` (time.monotonic()) and still unanswered, taken out of the\n"
"lane: [(packet, address, BACK_EXPIRED, upstream)] for the chain, whose Upstream retries\n"
"them.");

static PyObject *Lane_expired(Lane *self, PyObject *args) {
    double before;
    if (!PyArg_ParseTuple(args, "d", &before)) return NULL;
    PyObject *back = PyList_New(0);
    if (!back) return NULL;
    while (self->sent_head != self->sent_tail) {
        Sent *s = &self->sent[self->sent_head & 0xFFFF];
        Pending *p = &self->pending[s->qid];
        if (!p->in_use || p->generation != s->generation) {
            self->sent_head++;
            continue;
        }
        if (s->sent > before) break;
        int failed = hand_back(p, BACK_EXPIRED, back);
        release(self, p);
        self->sent_head++;
        if (failed) {
            Py_DECREF(back);
            return NULL;
        }
    }
    return back;
}

PyDoc_STRVAR(waiting_doc, "waiting() -> int\n\nQueries forwarded by the lane, not yet answered.");

static PyObject *Lane_waiting(Lane *self, PyObject *Py_UNUSED(ignored)) {
    return PyLong_FromLong(self->pending_count);
}

PyDoc_STRVAR(counts_doc, "counts() -> (fast, punted)");

static PyObject *Lane_counts(Lane *self, PyObject *Py_UNUSED(ignored)) {
    return Py_BuildValue("(KK)", self->fast, self->punted);
}

PyDoc_STRVAR(render_doc,
"render(packet, slot, entry, second, micro) -> (answer or None, payload)\n\n"
"What the lane would send and journal for `packet` by `entry` (a check: `fastlane.py`\n"
"compares both with the chain's before it lets the lane use an entry).");

static PyObject *Lane_render(Lane *self, PyObject *args) {
    Py_buffer packet;
    PyObject *slot, *entry;
    long long second;
    long micro;
    if (!PyArg_ParseTuple(args, "y*OOLl", &packet, &slot, &entry, &second, &micro)) return NULL;
    Query q;
    PyObject *result = NULL, *records = NULL;
    if (packet.len > BUFSIZE || !parse(&q, packet.buf, (int)packet.len)) {
        PyErr_SetString(PyExc_ValueError, "not a query the lane handles");
        goto done;
    }
    if (check_entry(entry) < 0) goto done;
    if (!(PyTuple_Check(slot) && PyTuple_GET_SIZE(slot) >= 2
          && PyBytes_Check(PyTuple_GET_ITEM(slot, 0)))) {
        PyErr_SetString(PyExc_TypeError, "a slot is (bytes, dict, ...)");
        goto done;
    }
    records = PyByteArray_FromStringAndSize(NULL, 0);
    if (!records || record(self, records, PyTuple_GET_ITEM(slot, 0), entry, q.name, q.name_len,
                           q.qtype, (time_t)second, micro) < 0)
        goto done;
    PyObject *answer = Py_None;
    unsigned char out[ANSWER_MAX];
    if (PyLong_AsLong(PyTuple_GET_ITEM(entry, 0)) & KIND_BLOCK) {
        answer = PyBytes_FromStringAndSize((const char *)out, block_answer(self, &q, out));
        if (!answer) goto done;
    } else {
        Py_INCREF(answer);
    }
    result = Py_BuildValue("(Ny#)", answer, PyByteArray_AS_STRING(records) + 10,
                           PyByteArray_GET_SIZE(records) - 10);
done:
    Py_XDECREF(records);
    PyBuffer_Release(&packet);
    return result;
}

static PyMethodDef Lane_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))Lane_configure, METH_VARARGS | METH_KEYWORDS,
     configure_doc},
    {"take", (PyCFunction)Lane_take, METH_VARARGS, take_doc},
    {"send", (PyCFunction)Lane_send, METH_NOARGS, send_doc},
    {"relay", (PyCFunction)Lane_relay, METH_VARARGS, relay_doc},
    {"expired", (PyCFunction)Lane_expired, METH_VARARGS, expired_doc},
    {"waiting", (PyCFunction)Lane_waiting, METH_NOARGS, waiting_doc},
    {"counts", (PyCFunction)Lane_counts, METH_NOARGS, counts_doc},
    {"render", (PyCFunction)Lane_render, METH_VARARGS, render_doc},
    {NULL},
};

static PyTypeObject LaneType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "schoolgate.gateway.dns._fastlane.Lane",
    .tp_doc = "The DNS fast lane of one UDP listening socket (see fastlane.py).",
    .tp_basicsize = sizeof(Lane),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Lane_init,
    .tp_dealloc = (destructor)Lane_dealloc,
    .tp_methods = Lane_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fastlane", "The DNS resolver's fast lane (see fastlane.py).", -1,
    NULL, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fastlane(void) {
    if (PyType_Ready(&LaneType) < 0) return NULL;
    PATCHED = PyUnicode_InternFromString("patched");
    PATCHED_SECOND = PyUnicode_InternFromString("patched_second");
    QUESTION_END = PyUnicode_InternFromString("question_end");
    EXPIRES = PyUnicode_InternFromString("expires");
    MOVE_TO_END = PyUnicode_InternFromString("move_to_end");
    POPITEM = PyUnicode_InternFromString("popitem");
    if (!PATCHED || !PATCHED_SECOND || !QUESTION_END || !EXPIRES || !MOVE_TO_END || !POPITEM)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m) return NULL;
    if (PyModule_AddObjectRef(m, "Lane", (PyObject *)&LaneType) < 0
        || PyModule_AddIntConstant(m, "KIND_FORWARD", KIND_FORWARD) < 0
        || PyModule_AddIntConstant(m, "KIND_BLOCK", KIND_BLOCK) < 0
        || PyModule_AddIntConstant(m, "FLAG_JOURNAL", FLAG_JOURNAL) < 0
        || PyModule_AddIntConstant(m, "PUNT_SUFFIX", PUNT_SUFFIX) < 0
        || PyModule_AddIntConstant(m, "PUNT_EXACT", PUNT_EXACT) < 0
        || PyModule_AddIntConstant(m, "WHY_LIKELY", WHY_LIKELY) < 0
        || PyModule_AddIntConstant(m, "WHY_DECISION", WHY_DECISION) < 0
        || PyModule_AddIntConstant(m, "BACK_EXPIRED", BACK_EXPIRED) < 0
        || PyModule_AddIntConstant(m, "BACK_TRUNCATED", BACK_TRUNCATED) < 0
        || PyModule_AddIntConstant(m, "BACK_OTHER_QUESTION", BACK_OTHER_QUESTION) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
