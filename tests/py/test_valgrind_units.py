"""Every unit test executable of the build (S3S_BUILD_DIR/tests/test_*) under valgrind memcheck:
--leak-check=full, and any invalid read or write, use of uninitialised memory, bad free or
definite/indirect leak makes the run fail (--error-exitcode), as does the test's own failure.
test_fuzz_regressions is among them, so the fuzz seeds and regression inputs run under
valgrind too.

Skipped (exit 0 with a "skipped" line) when valgrind is not installed, and in a sanitizer build
(S3S_SANITIZE=ON in the build's CMakeCache.txt, or __asan_init in a test binary): valgrind and
ASan cannot run together, and that build is checked by ASan itself."""
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import time

BUILD_DIR = os.environ.get("S3S_BUILD_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build")
TESTS_DIR = os.path.join(BUILD_DIR, "tests")
PER_TEST_TIMEOUT = 600
VALGRIND = ["valgrind", "--tool=memcheck", "--error-exitcode=97", "--leak-check=full",
            "--show-leak-kinds=definite,indirect", "--errors-for-leak-kinds=definite,indirect",
            "--track-origins=yes", "--child-silent-after-fork=yes", "--num-callers=30", "-q"]


def sanitized_build():
    try:
        with open(os.path.join(BUILD_DIR, "CMakeCache.txt"), encoding="utf-8") as f:
            if re.search(r"^S3S_SANITIZE:BOOL=(ON|1|TRUE|YES)$", f.read(), re.M | re.I):
                return True
    except OSError:
        pass
    for exe in unit_tests()[:1]:
        p = subprocess.run(["nm", "-D", "--undefined-only", exe], capture_output=True,
                           text=True)
        q = subprocess.run(["nm", exe], capture_output=True, text=True)
        if "__asan_init" in p.stdout + q.stdout:
            return True
    return False


def unit_tests():
    if not os.path.isdir(TESTS_DIR):
        return []
    out = []
    for name in sorted(os.listdir(TESTS_DIR)):
        path = os.path.join(TESTS_DIR, name)
        if name.startswith("test_") and os.path.isfile(path) and os.access(path, os.X_OK):
            out.append(path)
    return out


def run_one(exe):
    env = dict(os.environ)
    src = env.get("S3S_SOURCE_DIR") or os.path.abspath(os.path.join(BUILD_DIR, ".."))
    env.setdefault("S3S_SOURCE_DIR", src)
    env.setdefault("S3S_SHARED_DIR", os.path.join(src, "..", "shared"))
    t0 = time.monotonic()
    try:
        p = subprocess.run(VALGRIND + [exe], capture_output=True, text=True, errors="replace",
                           timeout=PER_TEST_TIMEOUT, env=env, cwd=TESTS_DIR)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = -1, (e.stdout or b"").decode(errors="replace") if isinstance(
            e.stdout, bytes) else (e.stdout or ""), "timed out after %ds" % PER_TEST_TIMEOUT
    return exe, rc, out, err, time.monotonic() - t0


def main():
    if shutil.which("valgrind") is None:
        print("skipped: valgrind is not installed (scripts/setup.sh installs it)")
        return 0
    tests = unit_tests()
    if not tests:
        print("FAIL: no unit test executables in %s" % TESTS_DIR)
        return 1
    if sanitized_build():
        print("skipped: %s is a sanitizer build (ASan and valgrind do not mix)" % BUILD_DIR)
        return 0
    failed = []
    jobs = int(os.environ.get("S3S_VALGRIND_JOBS", "2"))
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for exe, rc, out, err, took in pool.map(run_one, tests):
            name = os.path.basename(exe)
            if rc == 0:
                print("ok   %s (%.1fs)" % (name, took), flush=True)
                continue
            why = "valgrind errors" if rc == 97 else "exit %d" % rc
            print("FAIL %s (%s, %.1fs)" % (name, why, took), flush=True)
            print(out[-3000:])
            print(err[-12000:], flush=True)
            failed.append(name)
    print("%d passed, %d failed (valgrind memcheck on %d unit tests)"
          % (len(tests) - len(failed), len(failed), len(tests)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
