/*
 * libpcap's own BPF interpreter as the baseline for smpnet's BPF JIT and interpreter
 * (issue 3, R-BPF-1). Built and run by scripts/bench-bpf; its output is parsed by
 * org.smpnet.bench.BpfVsLibpcap.
 *
 *   bpf_libpcap_bench FILE.pcap ROUNDS EXPR...
 *
 * Loads every packet of FILE.pcap into one contiguous buffer, then for each expression:
 * compiles it with pcap_compile (DLT_EN10MB, snaplen 262144, optimised, netmask unknown, as
 * tcpdump does), prints the program in tcpdump -ddd form so the Java side runs the very same
 * code, counts the packets bpf_filter accepts, and times ROUNDS passes of bpf_filter over all
 * packets after two warm-up passes. Output lines (tab-separated):
 *
 *   version LIBPCAP_VERSION
 *   packets COUNT
 *   filter  EXPR
 *   program N           followed by N lines "code jt jf k"
 *   accepted COUNT
 *   round   WALL_NS_PER_PKT CPU_NS_PER_PKT      one per round
 *   end
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOT 64 /* bytes kept per packet; the benchmark's packets are all 64 bytes */

struct packets {
    unsigned char *data; /* n slots of SLOT bytes */
    uint32_t *caplen;
    uint32_t *wirelen;
    size_t n;
};

static void die(const char *what, const char *why) {
    fprintf(stderr, "bpf_libpcap_bench: %s: %s\n", what, why);
    exit(2);
}

static void load(const char *file, struct packets *p) {
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *in = pcap_open_offline(file, err);
    if (in == NULL) {
        die(file, err);
    }
    if (pcap_datalink(in) != DLT_EN10MB) {
        die(file, "link type is not EN10MB");
    }
    size_t cap = 1 << 20;
    p->data = malloc(cap * SLOT);
    p->caplen = malloc(cap * sizeof(uint32_t));
    p->wirelen = malloc(cap * sizeof(uint32_t));
    p->n = 0;
    struct pcap_pkthdr *h;
    const u_char *bytes;
    int rc;
    while ((rc = pcap_next_ex(in, &h, &bytes)) == 1) {
        if (p->n == cap) {
            cap *= 2;
            p->data = realloc(p->data, cap * SLOT);
            p->caplen = realloc(p->caplen, cap * sizeof(uint32_t));
            p->wirelen = realloc(p->wirelen, cap * sizeof(uint32_t));
        }
        if (p->data == NULL || p->caplen == NULL || p->wirelen == NULL) {
            die(file, "out of memory");
        }
        uint32_t len = h->caplen < SLOT ? h->caplen : SLOT;
        memcpy(p->data + p->n * SLOT, bytes, len);
        p->caplen[p->n] = len;
        p->wirelen[p->n] = h->len;
        p->n++;
    }
    if (rc != PCAP_ERROR_BREAK) {
        die(file, pcap_geterr(in));
    }
    pcap_close(in);
}

static uint64_t pass(const struct bpf_insn *prog, const struct packets *p) {
    uint64_t accepted = 0;
    for (size_t i = 0; i < p->n; i++) {
        accepted += bpf_filter(prog, p->data + i * SLOT, p->wirelen[i], p->caplen[i]) != 0;
    }
    return accepted;
}

static int64_t nanos(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: bpf_libpcap_bench FILE.pcap ROUNDS EXPR...\n");
        return 2;
    }
    struct packets p;
    load(argv[1], &p);
    int rounds = atoi(argv[2]);
    if (rounds < 1) {
        die(argv[2], "ROUNDS must be at least 1");
    }
    printf("version\t%s\npackets\t%zu\n", pcap_lib_version(), p.n);
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    for (int e = 3; e < argc; e++) {
        struct bpf_program prog;
        if (pcap_compile(dead, &prog, argv[e], 1, PCAP_NETMASK_UNKNOWN) != 0) {
            die(argv[e], pcap_geterr(dead));
        }
        printf("filter\t%s\nprogram\t%u\n", argv[e], prog.bf_len);
        for (u_int i = 0; i < prog.bf_len; i++) {
            struct bpf_insn *in = &prog.bf_insns[i];
            printf("%u %u %u %u\n", in->code, in->jt, in->jf, in->k);
        }
        uint64_t accepted = pass(prog.bf_insns, &p);
        printf("accepted\t%llu\n", (unsigned long long) accepted);
        pass(prog.bf_insns, &p);
        for (int r = 0; r < rounds; r++) {
            int64_t w0 = nanos(CLOCK_MONOTONIC);
            int64_t c0 = nanos(CLOCK_PROCESS_CPUTIME_ID);
            uint64_t again = pass(prog.bf_insns, &p);
            int64_t c1 = nanos(CLOCK_PROCESS_CPUTIME_ID);
            int64_t w1 = nanos(CLOCK_MONOTONIC);
            if (again != accepted) {
                die(argv[e], "bpf_filter accepted a different number of packets on a later pass");
            }
            printf("round\t%.3f\t%.3f\n", (double) (w1 - w0) / p.n, (double) (c1 - c0) / p.n);
        }
        printf("end\n");
        fflush(stdout);
        pcap_freecode(&prog);
    }
    pcap_close(dead);
    return 0;
}
