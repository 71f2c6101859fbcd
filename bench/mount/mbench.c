// Small file-system micro-benchmarks for bench/run-mount-bench. Plain C, no
// dependencies; built by the runner into its temp dir:
//   gcc -O2 -o mbench bench/mount/mbench.c -lpthread
//
// Every command prints one line of key=value pairs (seconds, rates) so the
// runner can parse it; errors go to stderr and give a non-zero exit.
//
//   mbench gen FILE BYTES SEED          write BYTES of pseudo-random data
//   mbench sum FILE                     checksum of FILE (same as seqread's)
//   mbench statall DIR N                stat DIR/f000000 .. DIR/f{N-1}
//   mbench seqread FILE                 open, read 4 KiB (time to first byte),
//                                       then the rest in 1 MiB reads
//   mbench randread FILE SECONDS        4 KiB preads at random 4 KiB-aligned
//                                       offsets, one at a time, for SECONDS
//                                       (POSIX_FADV_RANDOM: no kernel read-ahead)
//   mbench create DIR N BYTES           create+write+close DIR/c000000..
//   mbench seqwrite FILE BYTES          1 MiB writes, then close
//   mbench pwrite FILE OFFSET BYTES     open O_WRONLY (no truncate), pwrite the
//                                       pattern byte(i) = (i * 7 + 13) & 0xff, close
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024.0 * 1024.0)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char* what, const char* path) {
  fprintf(stderr, "mbench: %s %s: %s\n", what, path ? path : "", strerror(errno));
  exit(1);
}

static uint64_t xorshift(uint64_t* s) {
  uint64_t x = *s;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return *s = x;
}

// A cheap order-dependent checksum over 8-byte words (tail zero-padded).
typedef struct {
  uint64_t h;
  uint64_t n;
} sum_t;

static void sum_update(sum_t* s, const unsigned char* p, size_t len) {
  size_t i = 0;
  for (; i + 8 <= len; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    s->h = (s->h ^ w) * 0x100000001b3ULL + (s->n += 8);
  }
  if (i < len) {
    uint64_t w = 0;
    memcpy(&w, p + i, len - i);
    s->h = (s->h ^ w) * 0x100000001b3ULL + (s->n += len - i);
  }
}

static unsigned char* big_buf(size_t n) {
  unsigned char* b;
  if (posix_memalign((void**)&b, 4096, n) != 0) die("posix_memalign", NULL);
  memset(b, 0, n);
  return b;
}

static void full_write(int fd, const unsigned char* p, size_t n, const char* path) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("write", path);
    }
    p += w;
    n -= (size_t)w;
  }
}

static int cmd_gen(const char* path, uint64_t bytes, uint64_t seed) {
  const size_t bs = 1 << 20;
  unsigned char* buf = big_buf(bs);
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open", path);
  for (uint64_t done = 0; done < bytes;) {
    size_t n = bytes - done < bs ? (size_t)(bytes - done) : bs;
    for (size_t i = 0; i < n; i += 8) {
      uint64_t w = xorshift(&s);
      memcpy(buf + i, &w, n - i < 8 ? n - i : 8);
    }
    full_write(fd, buf, n, path);
    done += n;
  }
  if (close(fd) != 0) die("close", path);
  printf("bytes=%llu\n", (unsigned long long)bytes);
  return 0;
}

static int cmd_seqread(const char* path, int quiet_ttfb) {
  const size_t bs = 1 << 20;
  unsigned char* buf = big_buf(bs);
  sum_t sum = {0xcbf29ce484222325ULL, 0};
  double t0 = now();
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open", path);
  ssize_t r = read(fd, buf, 4096);
  if (r < 0) die("read", path);
  double t_first = now();
  uint64_t total = (uint64_t)r;
  sum_update(&sum, buf, (size_t)r);
  if (r > 0) {
    for (;;) {
      r = read(fd, buf, bs);
      if (r < 0) {
        if (errno == EINTR) continue;
        die("read", path);
      }
      if (r == 0) break;
      sum_update(&sum, buf, (size_t)r);
      total += (uint64_t)r;
    }
  }
  if (close(fd) != 0) die("close", path);
  double t1 = now();
  if (quiet_ttfb) {
    printf("bytes=%llu sum=%016llx\n", (unsigned long long)total, (unsigned long long)sum.h);
  } else {
    printf("bytes=%llu seconds=%.4f mibps=%.1f ttfb_ms=%.2f sum=%016llx\n",
           (unsigned long long)total, t1 - t0, total / MIB / (t1 - t0), (t_first - t0) * 1000,
           (unsigned long long)sum.h);
  }
  return 0;
}

static int cmd_statall(const char* dir, long n) {
  char path[4096];
  struct stat st;
  long errors = 0;
  double t0 = now();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/f%06ld", dir, i);
    if (stat(path, &st) != 0) {
      if (errors++ == 0) fprintf(stderr, "mbench: stat %s: %s\n", path, strerror(errno));
    }
  }
  double t = now() - t0;
  printf("files=%ld errors=%ld seconds=%.4f per_s=%.0f\n", n, errors, t, n / t);
  return errors ? 1 : 0;
}

static int cmd_randread(const char* path, double seconds) {
  unsigned char* buf = big_buf(4096);
  int fd = open(path, O_RDONLY);
  if (fd < 0) die("open", path);
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat", path);
  uint64_t blocks = (uint64_t)st.st_size / 4096;
  if (blocks == 0) {
    fprintf(stderr, "mbench: %s is smaller than 4 KiB\n", path);
    return 1;
  }
  // As fio does for random I/O: no kernel read-ahead, so every miss is one 4 KiB read.
  posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM);
  uint64_t s = 42;
  long ops = 0;
  double t0 = now(), t = t0;
  while (t - t0 < seconds) {
    off_t off = (off_t)(xorshift(&s) % blocks) * 4096;
    ssize_t r = pread(fd, buf, 4096, off);
    if (r != 4096) die("pread", path);
    ops++;
    if ((ops & 7) == 0 || seconds < 1) t = now();
  }
  t = now();
  close(fd);
  printf("ops=%ld seconds=%.3f iops=%.0f\n", ops, t - t0, ops / (t - t0));
  return 0;
}

static int cmd_create(const char* dir, long n, size_t bytes) {
  char path[4096];
  unsigned char* buf = big_buf(bytes ? bytes : 1);
  for (size_t i = 0; i < bytes; i++) buf[i] = (unsigned char)(i * 31 + 7);
  double t0 = now();
  for (long i = 0; i < n; i++) {
    snprintf(path, sizeof path, "%s/c%06ld", dir, i);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die("open", path);
    full_write(fd, buf, bytes, path);
    if (close(fd) != 0) die("close", path);
  }
  double t = now() - t0;
  printf("files=%ld seconds=%.4f per_s=%.0f\n", n, t, n / t);
  return 0;
}

static int cmd_seqwrite(const char* path, uint64_t bytes) {
  const size_t bs = 1 << 20;
  unsigned char* buf = big_buf(bs);
  uint64_t s = 7;
  for (size_t i = 0; i < bs; i += 8) {
    uint64_t w = xorshift(&s);
    memcpy(buf + i, &w, 8);
  }
  double t0 = now();
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) die("open", path);
  for (uint64_t done = 0; done < bytes;) {
    size_t n = bytes - done < bs ? (size_t)(bytes - done) : bs;
    buf[0] = (unsigned char)(done >> 20);  // no two MiB alike
    full_write(fd, buf, n, path);
    done += n;
  }
  if (close(fd) != 0) die("close", path);
  double t = now() - t0;
  printf("bytes=%llu seconds=%.4f mibps=%.1f\n", (unsigned long long)bytes, t, bytes / MIB / t);
  return 0;
}

static int cmd_pwrite(const char* path, uint64_t off, size_t bytes) {
  unsigned char* buf = big_buf(bytes);
  for (size_t i = 0; i < bytes; i++) buf[i] = (unsigned char)(i * 7 + 13);
  double t0 = now();
  int fd = open(path, O_WRONLY);
  if (fd < 0) die("open", path);
  ssize_t w = pwrite(fd, buf, bytes, (off_t)off);
  if (w != (ssize_t)bytes) die("pwrite", path);
  if (close(fd) != 0) die("close", path);
  printf("seconds=%.4f\n", now() - t0);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 5 && !strcmp(argv[1], "gen"))
    return cmd_gen(argv[2], strtoull(argv[3], 0, 10), strtoull(argv[4], 0, 10));
  if (argc >= 3 && !strcmp(argv[1], "sum")) return cmd_seqread(argv[2], 1);
  if (argc >= 4 && !strcmp(argv[1], "statall")) return cmd_statall(argv[2], atol(argv[3]));
  if (argc >= 3 && !strcmp(argv[1], "seqread")) return cmd_seqread(argv[2], 0);
  if (argc >= 4 && !strcmp(argv[1], "randread")) return cmd_randread(argv[2], atof(argv[3]));
  if (argc >= 5 && !strcmp(argv[1], "create"))
    return cmd_create(argv[2], atol(argv[3]), strtoull(argv[4], 0, 10));
  if (argc >= 4 && !strcmp(argv[1], "seqwrite"))
    return cmd_seqwrite(argv[2], strtoull(argv[3], 0, 10));
  if (argc >= 5 && !strcmp(argv[1], "pwrite"))
    return cmd_pwrite(argv[2], strtoull(argv[3], 0, 10), strtoull(argv[4], 0, 10));
  fprintf(stderr, "usage: see the comment at the top of bench/mount/mbench.c\n");
  return 2;
}
