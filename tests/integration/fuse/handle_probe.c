/* handle_probe: checks that a file handle from a stagefs mount survives the
 * kernel dropping its dentry and inode caches, as an NFS server (ganesha
 * FSAL_VFS) needs.
 *
 *   handle_probe MOUNTDIR PATH
 *   handle_probe save PATH HANDLEFILE      (prints PATH's inode number)
 *   handle_probe open MOUNTDIR HANDLEFILE
 *
 * Gets a handle for PATH with name_to_handle_at, closes everything under the
 * mount except MOUNTDIR, writes 2 to /proc/sys/vm/drop_caches (root only; the
 * kernel then forgets the node and must ask stagefs with LOOKUP(node, ".") and
 * "..") and opens the handle again with open_by_handle_at. Prints the file's
 * bytes, or for a directory its entry names (sorted, one per line, without "."
 * and ".."), to stdout. The inode numbers before and after go to stderr.
 * save/open split the two halves, so a handle can be taken from one mount and
 * opened on the next mount of the same cache dir (an NFS server restart).
 * Exit status: 0 on success, 2 on usage errors, 1 when a step fails (named on
 * stderr with errno).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(const char* what) {
  fprintf(stderr, "handle_probe: %s: %s\n", what, strerror(errno));
  return 1;
}

static int cmp(const void* a, const void* b) {
  return strcmp(*(char* const*)a, *(char* const*)b);
}

static int print_dir(int fd) {
  DIR* d = fdopendir(fd);
  if (!d) return fail("fdopendir");
  char** names = NULL;
  size_t n = 0, cap = 0;
  struct dirent* e;
  errno = 0;
  while ((e = readdir(d)) != NULL) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      names = realloc(names, cap * sizeof(*names));
      if (!names) return fail("realloc");
    }
    names[n++] = strdup(e->d_name);
  }
  if (errno) return fail("readdir");
  qsort(names, n, sizeof(*names), cmp);
  for (size_t i = 0; i < n; ++i) printf("%s\n", names[i]);
  closedir(d);
  return 0;
}

static int print_file(int fd) {
  char buf[65536];
  ssize_t r;
  while ((r = read(fd, buf, sizeof(buf))) > 0) {
    if (fwrite(buf, 1, (size_t)r, stdout) != (size_t)r) return fail("write stdout");
  }
  if (r < 0) return fail("read");
  close(fd);
  return 0;
}

static int drop_caches(void) {
  sync();
  int dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (dc < 0) return fail("open /proc/sys/vm/drop_caches");
  if (write(dc, "2", 1) != 1) return fail("write /proc/sys/vm/drop_caches");
  close(dc);
  return 0;
}

/* Drops caches, opens `fh` relative to `mount_dir` and prints what it names.
 * `want_ino` (0: do not check) is the inode number the handle must open. */
static int open_and_print(const char* mount_dir, struct file_handle* fh, ino_t want_ino) {
  int mount_fd = open(mount_dir, O_RDONLY | O_DIRECTORY);
  if (mount_fd < 0) return fail("open MOUNTDIR");
  if (drop_caches() != 0) return 1;
  int fd = open_by_handle_at(mount_fd, fh, O_RDONLY);
  if (fd < 0) return fail("open_by_handle_at");
  struct stat after;
  if (fstat(fd, &after) != 0) return fail("fstat");
  fprintf(stderr, "reopened: ino %llu\n", (unsigned long long)after.st_ino);
  if (want_ino != 0 && after.st_ino != want_ino) {
    fprintf(stderr, "handle_probe: the handle opened inode %llu, not %llu\n",
            (unsigned long long)after.st_ino, (unsigned long long)want_ino);
    return 1;
  }
  int rc = S_ISDIR(after.st_mode) ? print_dir(fd) : print_file(fd);
  fflush(stdout);
  close(mount_fd);
  return rc;
}

static struct file_handle* get_handle(const char* path, struct stat* st) {
  if (stat(path, st) != 0) {
    fail("stat PATH");
    return NULL;
  }
  struct file_handle* fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
  fh->handle_bytes = MAX_HANDLE_SZ;
  int mount_id;
  if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0) != 0) {
    fail("name_to_handle_at");
    return NULL;
  }
  fprintf(stderr, "handle: type %d, %u bytes, ino %llu\n", fh->handle_type, fh->handle_bytes,
          (unsigned long long)st->st_ino);
  return fh;
}

int main(int argc, char** argv) {
  struct stat st;
  if (argc == 3) {
    struct file_handle* fh = get_handle(argv[2], &st);
    return fh ? open_and_print(argv[1], fh, st.st_ino) : 1;
  }
  if (argc == 4 && !strcmp(argv[1], "save")) {
    struct file_handle* fh = get_handle(argv[2], &st);
    if (!fh) return 1;
    FILE* f = fopen(argv[3], "wb");
    if (!f || fwrite(fh, sizeof(*fh) + fh->handle_bytes, 1, f) != 1 || fclose(f) != 0)
      return fail("write HANDLEFILE");
    printf("%llu\n", (unsigned long long)st.st_ino);
    return 0;
  }
  if (argc == 4 && !strcmp(argv[1], "open")) {
    struct file_handle* fh = malloc(sizeof(*fh) + MAX_HANDLE_SZ);
    FILE* f = fopen(argv[3], "rb");
    if (!f || fread(fh, sizeof(*fh), 1, f) != 1 || fh->handle_bytes > MAX_HANDLE_SZ ||
        fread(fh->f_handle, 1, fh->handle_bytes, f) != fh->handle_bytes)
      return fail("read HANDLEFILE");
    fclose(f);
    return open_and_print(argv[2], fh, 0);
  }
  fprintf(stderr,
          "usage: handle_probe MOUNTDIR PATH\n"
          "       handle_probe save PATH HANDLEFILE\n"
          "       handle_probe open MOUNTDIR HANDLEFILE\n");
  return 2;
}
