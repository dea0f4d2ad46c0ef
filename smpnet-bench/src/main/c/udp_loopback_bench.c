/*
 * Linux baseline for issue 4's UDP packet-rate benchmark: FLOWS sender/receiver thread pairs exchange
 * PAYLOAD-byte UDP datagrams over the kernel's loopback (127.0.0.1), each pair on its own port, one
 * sendto()/recvfrom() per datagram as an ordinary program does. After WARMUP seconds the receivers count
 * datagrams for SECONDS seconds; the result is datagrams received per second, all flows together.
 *
 *   udp_loopback_bench FLOWS SECONDS [PAYLOAD] [WARMUP]
 *
 * Prints one line: "flows=F payload=P seconds=S received=N sent=M pps=X cpu=Cns/datagram" (C: the process's
 * user and system CPU time during the window, kernel work done in its system calls included, per datagram).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static atomic_int phase;              /* 0 warm-up, 1 measuring, 2 done */
static int payload = 64;
static int batch = 1;                 /* datagrams per system call; 1: sendto()/recv() */
#define MAX_BATCH 1024

struct flow {
    int rx, tx;
    struct sockaddr_in dst;
    unsigned long received;           /* during phase 1 */
    unsigned long sent;               /* during phase 1 */
};

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void *receiver(void *arg) {
    struct flow *f = arg;
    static __thread char bufs[MAX_BATCH][2048];
    static __thread struct mmsghdr msgs[MAX_BATCH];
    static __thread struct iovec iov[MAX_BATCH];
    for (int i = 0; i < batch; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    struct timeval tv = { 0, 100000 };  /* wake up to notice the end */
    if (setsockopt(f->rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
        die("SO_RCVTIMEO");
    for (;;) {
        int p = atomic_load_explicit(&phase, memory_order_relaxed);
        if (p == 2)
            break;
        ssize_t n = batch == 1 ? (recv(f->rx, bufs[0], sizeof bufs[0], 0) < 0 ? -1 : 1)
                : recvmmsg(f->rx, msgs, (unsigned) batch, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR)
                continue;
            die("recv");
        }
        if (atomic_load_explicit(&phase, memory_order_relaxed) == 1)
            f->received += (unsigned long) n;
    }
    return NULL;
}

static void *sender(void *arg) {
    struct flow *f = arg;
    char buf[65536];
    memset(buf, 'x', (size_t) payload);
    static __thread struct mmsghdr msgs[MAX_BATCH];
    struct iovec iov = { buf, (size_t) payload };
    for (int i = 0; i < batch; i++) {
        msgs[i].msg_hdr.msg_iov = &iov;
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = &f->dst;
        msgs[i].msg_hdr.msg_namelen = sizeof f->dst;
    }
    for (;;) {
        int p = atomic_load_explicit(&phase, memory_order_relaxed);
        if (p == 2)
            break;
        ssize_t n = batch == 1
                ? (sendto(f->tx, buf, (size_t) payload, 0, (struct sockaddr *) &f->dst, sizeof f->dst) < 0 ? -1 : 1)
                : sendmmsg(f->tx, msgs, (unsigned) batch, 0);
        if (n < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
                continue;
            die("sendto");
        }
        if (p == 1)
            f->sent += (unsigned long) n;
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s FLOWS SECONDS [PAYLOAD] [WARMUP] [BATCH]\n", argv[0]);
        return 2;
    }
    int flows = atoi(argv[1]);
    double seconds = atof(argv[2]);
    if (argc > 3)
        payload = atoi(argv[3]);
    double warmup = argc > 4 ? atof(argv[4]) : 1.0;
    if (argc > 5)
        batch = atoi(argv[5]);
    if (flows < 1 || flows > 64 || seconds <= 0 || payload < 0 || payload > 65507 || batch < 1 || batch > MAX_BATCH) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct flow *fl = calloc((size_t) flows, sizeof *fl);
    pthread_t *th = calloc((size_t) flows * 2, sizeof *th);
    for (int i = 0; i < flows; i++) {
        struct flow *f = &fl[i];
        f->rx = socket(AF_INET, SOCK_DGRAM, 0);
        f->tx = socket(AF_INET, SOCK_DGRAM, 0);
        if (f->rx < 0 || f->tx < 0)
            die("socket");
        int big = 4 << 20;
        setsockopt(f->rx, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0 };
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(f->rx, (struct sockaddr *) &a, sizeof a) < 0)
            die("bind");
        socklen_t len = sizeof f->dst;
        if (getsockname(f->rx, (struct sockaddr *) &f->dst, &len) < 0)
            die("getsockname");
    }
    for (int i = 0; i < flows; i++) {
        pthread_create(&th[2 * i], NULL, receiver, &fl[i]);
        pthread_create(&th[2 * i + 1], NULL, sender, &fl[i]);
    }
    struct timespec ws = { (time_t) warmup, (long) ((warmup - (time_t) warmup) * 1e9) };
    nanosleep(&ws, NULL);
    struct timespec t0, t1;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    atomic_store(&phase, 1);
    struct timespec ms = { (time_t) seconds, (long) ((seconds - (time_t) seconds) * 1e9) };
    nanosleep(&ms, NULL);
    atomic_store(&phase, 2);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    getrusage(RUSAGE_SELF, &r1);
    for (int i = 0; i < 2 * flows; i++)
        pthread_join(th[i], NULL);
    double el = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    unsigned long rx = 0, tx = 0;
    for (int i = 0; i < flows; i++) {
        rx += fl[i].received;
        tx += fl[i].sent;
    }
    double cpu = (double) (r1.ru_utime.tv_sec - r0.ru_utime.tv_sec + r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) * 1e9
            + (double) (r1.ru_utime.tv_usec - r0.ru_utime.tv_usec + r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e3;
    printf("flows=%d payload=%d batch=%d seconds=%.3f received=%lu sent=%lu pps=%.0f cpu=%.0fns/datagram\n", flows, payload, batch, el,
           rx, tx, (double) rx / el, rx ? cpu / (double) rx : 0.0);
    return 0;
}
