# Write-path integration tests: real mounts of the stagefs binary against Ceph
# RGW (tests/integration/writes/*.py, Python 3 stdlib only; they import the
# FUSE harness from tests/integration/fuse/harness.py). Labels: fuse;s3, plus
# slow for the long ones. They need root (/dev/fuse) and fusermount3.
set(STAGEFS_WRITES_TEST_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/writes)

# stagefs_writes_test(<name> <unittest target> <timeout s> <labels>)
function(stagefs_writes_test name target timeout labels)
  add_test(NAME writes_${name}_rgw
           COMMAND /usr/bin/python3 -m unittest -v ${target}
           WORKING_DIRECTORY ${STAGEFS_WRITES_TEST_DIR})
  set_tests_properties(writes_${name}_rgw PROPERTIES
    LABELS "${labels}"
    TIMEOUT ${timeout}
    ENVIRONMENT "STAGEFS_TEST_SERVER=rgw;STAGEFS_BIN=$<TARGET_FILE:stagefs>;PYTHONDONTWRITEBYTECODE=1;PYTHONUNBUFFERED=1")
endfunction()

# 2,000 seeded operations, export delay 60 (with a remount) and 1.
stagefs_writes_test(differential test_differential.Differential 900 "fuse;s3")
# Every operation, chmod and renames included: an expected failure today.
stagefs_writes_test(differential_all_ops test_differential.DifferentialAllOps 600 "fuse;s3")
stagefs_writes_test(differential_long test_differential.DifferentialSlow 7200 "fuse;s3;slow")
stagefs_writes_test(export_bugs test_export_races 600 "fuse;s3")
stagefs_writes_test(crash test_crash 300 "fuse;s3")
stagefs_writes_test(semantics test_semantics_table 300 "fuse;s3")
stagefs_writes_test(partial_update test_partial_update 600 "fuse;s3")
# Starts, stops and restarts an RGW of its own (not the one scripts/test started).
stagefs_writes_test(rgw_outage test_rgw_outage 600 "fuse;s3;slow")
# New files created write-only use direct I/O: nothing observable changes.
stagefs_writes_test(write_only_create test_write_only_create 300 "fuse;s3")
