# FUSE integration tests: real mounts of the stagefs binary against the S3
# servers that scripts/test starts (tests/integration/fuse/*.py, Python 3
# stdlib only). Labels: fuse;s3, plus slow for the long ones. Each module runs
# once per server where that makes sense (STAGEFS_TEST_SERVER=rgw|s3rver).
# They need root (drop_caches, /dev/fuse) and fusermount3.
set(STAGEFS_FUSE_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/fuse)

# NFS readiness probe: name_to_handle_at / open_by_handle_at across drop_caches.
enable_language(C)
add_executable(handle_probe ${STAGEFS_FUSE_TEST_DIR}/handle_probe.c)

# stagefs_fuse_test(<module> <timeout s> <labels> <servers...>)
function(stagefs_fuse_test module timeout labels)
  foreach(server ${ARGN})
    set(name fuse_${module}_${server})
    add_test(NAME ${name}
             COMMAND /usr/bin/python3 -m unittest -v test_${module}
             WORKING_DIRECTORY ${STAGEFS_FUSE_TEST_DIR})
    set_tests_properties(${name} PROPERTIES
      LABELS "${labels}"
      TIMEOUT ${timeout}
      ENVIRONMENT "STAGEFS_TEST_SERVER=${server};STAGEFS_BIN=$<TARGET_FILE:stagefs>;STAGEFS_HANDLE_PROBE=$<TARGET_FILE:handle_probe>;PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")
  endforeach()
endfunction()

stagefs_fuse_test(tree 300 "fuse;s3" rgw s3rver)
stagefs_fuse_test(read 300 "fuse;s3" rgw s3rver)
stagefs_fuse_test(refresh 300 "fuse;s3" rgw s3rver)
# Access denied needs a server that verifies signatures; the rest is
# server-independent, so once is enough.
stagefs_fuse_test(errors 300 "fuse;s3" rgw)
# Names S3 cannot store (not UTF-8, keys over 1,024 bytes) and unusual valid ones.
stagefs_fuse_test(names 300 "fuse;s3" rgw)
# Lost+found rules and missing bytes: never a byte nobody wrote (about 2 min).
stagefs_fuse_test(lost_found 600 "fuse;s3" rgw)
stagefs_fuse_test(nfs_handles 300 "fuse;s3" rgw)
# 1 GiB sequential read and a 100 MiB file: RGW only (s3rver is slow and keeps
# everything on local disk).
stagefs_fuse_test(large 1200 "fuse;s3;slow" rgw)
stagefs_fuse_test(sync 300 "fuse;s3" rgw)
# Ceph RGW's own bucket-notification push into --events-addr.
stagefs_fuse_test(events_push 300 "fuse;s3" rgw)
# Randomized mount writes against awscli writes on the same keys, checked
# against a recorded oracle (two variants: re-list, events), and deterministic
# reproductions of the export/re-list race it found (about 80 s).
stagefs_fuse_test(sync_mixed 300 "fuse;s3" rgw)
# Expiration with a 3 s window and the cache-size watermark (about 50 s).
stagefs_fuse_test(expiration 300 "fuse;s3" rgw)
