"""The packages and the man pages: `cmake --build BUILD --target package` makes a .deb (CPack)
with the binaries, both systemd units, the example configuration as a conffile, gzipped man
pages and the Debian docs; its Depends names the package of every shared library the binaries
load; lintian finds no error; `dpkg -x` gives the files as they are in the tree; `dpkg -i`
installs it and /usr/bin/s3statusd --version runs (then it is purged again). The man pages
render without a groff warning and document every configuration key, option and command.
The RPM spec lists the same files, and rpmbuild builds it (when the rpm tools are there).

The package is built in a fresh build directory (RelWithDebInfo, tests off) so a sanitizer
build or a half-written test elsewhere cannot leak into it; S3S_PACKAGE_BUILD_DIR reuses one.
S3S_PACKAGE_INSTALL=0 skips the dpkg -i step (it is also skipped when not root, or when an
s3statusd package is installed already)."""
import atexit
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["S3S_SOURCE_DIR"], "tests", "lib"))
import harness as h  # noqa: E402

SRC = h.SOURCE_DIR
VERSION = re.search(r"project\(s3statusd VERSION (\S+)",
                    open(os.path.join(SRC, "CMakeLists.txt")).read()).group(1)
MAN_PAGES = {"s3statusd.8": "man8", "s3status.1": "man1", "s3statusd.conf.5": "man5"}
EXPECTED = {
    "./usr/bin/s3statusd": 0o755,
    "./usr/bin/s3status": 0o755,
    "./lib/systemd/system/s3statusd.service": 0o644,
    "./lib/systemd/system/s3statusd@.service": 0o644,
    "./etc/s3statusd/s3statusd.conf": 0o644,
    "./usr/share/man/man8/s3statusd.8.gz": 0o644,
    "./usr/share/man/man1/s3status.1.gz": 0o644,
    "./usr/share/man/man5/s3statusd.conf.5.gz": 0o644,
    "./usr/share/doc/s3statusd/copyright": 0o644,
    "./usr/share/doc/s3statusd/changelog.Debian.gz": 0o644,
    "./usr/share/lintian/overrides/s3statusd": 0o644,
}

_deb = []


def run(*cmd, check=True, **kw):
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        raise AssertionError("%s: exit %d\n%s\n%s" % (" ".join(map(str, cmd)), p.returncode,
                                                      p.stdout[-3000:], p.stderr[-3000:]))
    return p


def need(tool, package):
    """The path of tool, installing its Debian package with apt-get when missing (root only)."""
    path = shutil.which(tool)
    if path or os.geteuid() != 0 or not shutil.which("apt-get"):
        return path
    print("  installing %s for %s (scripts/setup.sh should)" % (package, tool), flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    p = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package],
                       capture_output=True, env=env)
    return shutil.which(tool)


def deb():
    """Builds the package once; returns the path of the .deb."""
    if _deb:
        return _deb[0]
    assert need("dpkg-shlibdeps", "dpkg-dev"), "dpkg-shlibdeps (dpkg-dev) is needed"
    build = os.environ.get("S3S_PACKAGE_BUILD_DIR")
    if not build:
        build = tempfile.mkdtemp(prefix="s3s-pkg-")
        atexit.register(shutil.rmtree, build, True)
    run("cmake", "-S", SRC, "-B", build, "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DS3S_TESTS=OFF",
        "-DS3S_SANITIZE=OFF")
    for old in glob.glob(os.path.join(build, "*.deb")):
        os.unlink(old)
    run("cmake", "--build", build, "-j%d" % (os.cpu_count() or 2), "--target", "package")
    debs = glob.glob(os.path.join(build, "*.deb"))
    assert len(debs) == 1, debs
    assert os.path.basename(debs[0]) == "s3statusd_%s-1_%s.deb" % (
        VERSION, run("dpkg", "--print-architecture").stdout.strip()), debs
    _deb.append(debs[0])
    return debs[0]


def control(pkg):
    out = {}
    key = None
    for line in run("dpkg-deb", "-f", pkg).stdout.splitlines():
        if line.startswith(" ") and key:
            out[key] += "\n" + line
        else:
            key, _, v = line.partition(":")
            out[key] = v.strip()
    return out


# ---------------------------------------------------------------------------------------------


def test_control_fields_and_depends():
    pkg = deb()
    c = control(pkg)
    assert c["Package"] == "s3statusd" and c["Version"] == VERSION + "-1", c
    assert c["Section"] == "admin" and c["Priority"] == "optional", c
    assert re.match(r"^.+ <[^@\s]+@[^@\s]+>$", c["Maintainer"]), c
    synopsis, _, extended = c["Description"].partition("\n")
    assert synopsis and len(synopsis) < 80 and extended.strip(), c["Description"]
    depends = {d.strip().split()[0] for d in c["Depends"].split(",")}
    # Every shared library the binaries load comes from a package named in Depends.
    for binary in ("s3statusd", "s3status"):
        path = os.path.join(os.path.dirname(pkg), binary)
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]",
                                run("readelf", "-d", path).stdout))
        assert "libcurl.so.4" in needed, needed
        for line in run("ldd", path).stdout.splitlines():
            m = re.match(r"\s*(\S+) => (/\S+)", line)
            if not m or m.group(1) not in needed:
                continue
            real = os.path.realpath(m.group(2))
            owner = None
            for path in (m.group(2), real, real.replace("/usr/lib/", "/lib/", 1)):
                q = run("dpkg-query", "-S", path, check=False)
                if q.returncode == 0:
                    owner = q.stdout.split(":")[0]
                    break
            assert owner, "no package owns %s" % m.group(2)
            assert owner in depends, "%s (%s) not in Depends: %s" % (owner, m.group(1),
                                                                     c["Depends"])
    for lib in ("libc6", "libcurl4", "libjson-c5", "libssl3", "libsystemd0", "libxml2"):
        assert lib in depends, (lib, c["Depends"])
    print("  Depends: %s" % c["Depends"])


def test_contents_and_conffiles():
    pkg = deb()
    listing = run("dpkg-deb", "-c", pkg).stdout.splitlines()
    files = {}
    for line in listing:
        perms, owner, _size, _date, _time, path = line.split(None, 5)
        assert owner == "root/root", line
        if perms.startswith("d"):
            assert perms == "drwxr-xr-x", line
            continue
        mode = 0
        for i, ch in enumerate(perms[1:]):
            if ch != "-":
                mode |= 1 << (8 - i)
        files[path] = mode
    assert files == EXPECTED, "unexpected contents:\n  extra %s\n  missing %s\n  modes %s" % (
        sorted(set(files) - set(EXPECTED)), sorted(set(EXPECTED) - set(files)),
        {p: oct(m) for p, m in files.items() if EXPECTED.get(p, m) != m})
    d = tempfile.mkdtemp(prefix="s3s-ctrl-")
    run("dpkg-deb", "-e", pkg, d)
    assert open(os.path.join(d, "conffiles")).read().split() == ["/etc/s3statusd/s3statusd.conf"]
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(d, script)
        assert os.stat(path).st_mode & 0o777 == 0o755, script
        run("sh", "-n", path)
    shutil.rmtree(d)
    print("  %d files, conffile /etc/s3statusd/s3statusd.conf" % len(files))


def test_lintian_reports_no_error():
    pkg = deb()
    lintian = need("lintian", "lintian")
    if not lintian:
        print("SKIP: lintian not found and cannot be installed (not root)")
        return
    p = run(lintian, "--no-tag-display-limit", "-EvIL", "+pedantic", pkg, check=False)
    tags = [ln for ln in p.stdout.splitlines() if re.match(r"^[EWIPX]: ", ln)]
    errors = [t for t in tags if t.startswith("E: ")]
    assert not errors and p.returncode in (0, 2), "lintian (exit %d):\n%s\n%s" % (
        p.returncode, p.stdout, p.stderr)
    counts = {k: sum(t.startswith(k + ":") for t in tags) for k in "EWIP"}
    print("  lintian: %(E)d errors, %(W)d warnings, %(I)d info, %(P)d pedantic" % counts)
    for t in tags:
        print("    " + t)


def test_extracted_files_match_the_tree():
    pkg = deb()
    root = tempfile.mkdtemp(prefix="s3s-root-")
    run("dpkg-deb", "-x", pkg, root)

    def same(a, b):
        return open(a, "rb").read() == open(b, "rb").read()
    for unit in ("s3statusd.service", "s3statusd@.service"):
        assert same(os.path.join(root, "lib/systemd/system", unit),
                    os.path.join(SRC, "systemd", unit)), unit
    assert same(os.path.join(root, "etc/s3statusd/s3statusd.conf"),
                os.path.join(SRC, "examples", "s3statusd.conf"))
    assert same(os.path.join(root, "usr/share/doc/s3statusd/copyright"),
                os.path.join(SRC, "packaging", "debian", "copyright"))
    for page, sect in MAN_PAGES.items():
        gz = os.path.join(root, "usr/share/man", sect, page + ".gz")
        raw = open(gz, "rb").read()
        assert raw[4:8] == b"\0\0\0\0" and not raw[3] & 0x08, "gzip -n: no time, no name"
        assert gzip.decompress(raw) == open(os.path.join(SRC, "man", page), "rb").read(), page
    # The binaries run from the extracted tree (stripped, same libraries).
    p = run(os.path.join(root, "usr/bin/s3statusd"), "--version")
    assert p.stdout.strip() == "s3statusd " + VERSION, p.stdout
    assert "send" in run(os.path.join(root, "usr/bin/s3status"), "--help", check=False).stdout
    if shutil.which("file"):
        assert "not stripped" not in run("file", os.path.join(root, "usr/bin/s3statusd")).stdout
    shutil.rmtree(root)


def test_dpkg_install_runs_and_purges():
    if os.environ.get("S3S_PACKAGE_INSTALL") == "0":
        print("SKIP: S3S_PACKAGE_INSTALL=0")
        return
    if os.geteuid() != 0:
        print("SKIP: dpkg -i needs root")
        return
    if run("dpkg-query", "-W", "-f", "${Status}", "s3statusd", check=False).stdout.startswith(
            "install ok"):
        print("SKIP: an s3statusd package is installed on this machine already; not touching it")
        return
    pkg = deb()
    try:
        run("dpkg", "-i", pkg)
        p = run("/usr/bin/s3statusd", "--version")
        assert p.stdout.strip() == "s3statusd " + VERSION, p.stdout
        conff = run("dpkg-query", "-W", "-f", "${Conffiles}", "s3statusd").stdout
        assert "/etc/s3statusd/s3statusd.conf" in conff, conff
        if shutil.which("man"):
            found = run("man", "-w", "5", "s3statusd.conf").stdout.strip()
            assert found == "/usr/share/man/man5/s3statusd.conf.5.gz", found
        # The installed config (all keys commented out) loads; --check then wants queue_url.
        p = run("/usr/bin/s3statusd", "--check", check=False, env=h.aws_env())
        assert p.returncode == 2 and "queue_url: required" in p.stderr, (p.returncode, p.stderr)
        print("  installed: %s" % p.stderr.strip())
    finally:
        run("dpkg", "--purge", "s3statusd", check=False)
    assert not os.path.exists("/usr/bin/s3statusd")
    assert not os.path.exists("/etc/s3statusd/s3statusd.conf")


# ---------------------------------------------------------------------------------------------


def test_man_pages_render_without_warnings():
    groff = shutil.which("groff")
    assert groff, "groff is needed (Debian: groff-base)"
    for page in MAN_PAGES:
        path = os.path.join(SRC, "man", page)
        p = run(groff, "-man", "-Tutf8", "-ww", "-z", path, check=False,
                env=dict(os.environ, LC_ALL="C.UTF-8"))
        assert p.returncode == 0 and not p.stderr.strip(), "%s:\n%s" % (page, p.stderr)
        if shutil.which("man"):
            p = run("man", "-l", path, env=dict(os.environ, MANWIDTH="80", MAN_KEEP_STDERR="1",
                                                   LC_ALL="C.UTF-8"), check=False)
            assert p.returncode == 0 and "NAME" in p.stdout and not p.stderr.strip(), p.stderr


def rendered(page):
    p = run("groff", "-man", "-Tutf8", "-P-cbou", os.path.join(SRC, "man", page),
            env=dict(os.environ, LC_ALL="C.UTF-8"))
    return re.sub(r"[\u2010\u2011\u2212]", "-", p.stdout)


def test_man_pages_document_every_key_option_and_command():
    usage = run(h.DAEMON, "--help").stdout
    keys = [k.replace("-", "_") for k in re.findall(r"^  --([a-z0-9-]+) ",
                                                     usage.split("Switches:")[0], re.M)]
    switches = re.findall(r"^  --([a-z]+)\s", usage.split("Switches:")[1], re.M)
    assert "queue_url" in keys and "metrics_file" in keys and "drain" in switches, usage
    conf = rendered("s3statusd.conf.5")
    missing = [k for k in keys if k != "config" and
               not re.search(r"^\s{7}(?:.*, )?%s\b" % re.escape(k), conf, re.M)]
    assert not missing, "keys not documented in s3statusd.conf(5): %s" % missing
    daemon = rendered("s3statusd.8")
    for opt in ["config"] + switches:
        assert re.search(r"^\s+--%s\b" % opt, daemon, re.M), "s3statusd(8) lacks --%s" % opt
    for word in ("SIGTERM", "SIGHUP", "READY=1", "WATCHDOG=1", "RELOADING=1", "STOPPING=1",
                 "EXTEND_TIMEOUT_USEC", "EXIT STATUS", "ENVIRONMENT", "FILES",
                 "s3statusd_messages_dead_lettered_total", "s3statusd_receive_to_delete_seconds"):
        assert word in daemon, "s3statusd(8) lacks %s" % word
    cli = rendered("s3status.1")
    for cmd in ("send", "check", "get", "summary", "dlq redrive"):
        assert re.search(r"^\s{7}%s\b" % cmd, cli, re.M), "s3status(1) lacks %s" % cmd
    for opt in ("--batch", "--task", "--status", "--payload", "--payload-file", "--body",
                "--history", "--rebuild", "--json"):
        assert opt in cli, "s3status(1) lacks %s" % opt
    print("  %d keys, %d switches, 5 commands documented" % (len(keys), len(switches)))


def test_rpm_spec_lists_the_same_files():
    spec = open(os.path.join(SRC, "packaging", "rpm", "s3statusd.spec")).read()
    assert re.search(r"^Version:\s+%s$" % re.escape(VERSION), spec, re.M), "spec Version"
    files = spec.split("%files", 1)[1].split("%changelog", 1)[0]
    for want in ("%{_bindir}/s3statusd", "%{_bindir}/s3status", "%{_unitdir}/s3statusd.service",
                 "%{_unitdir}/s3statusd@.service",
                 "%config(noreplace) %{_sysconfdir}/s3statusd/s3statusd.conf",
                 "%{_mandir}/man1/s3status.1*", "%{_mandir}/man5/s3statusd.conf.5*",
                 "%{_mandir}/man8/s3statusd.8*"):
        assert want in files, "%%files lacks %s" % want
    for macro in ("%systemd_post s3statusd.service", "%systemd_preun s3statusd.service",
                  "%systemd_postun_with_restart s3statusd.service"):
        assert macro in spec, macro
    for br in ("cmake", "gcc", "libcurl-devel", "openssl-devel", "json-c-devel",
               "libxml2-devel", "systemd-devel", "systemd-rpm-macros"):
        assert re.search(r"^BuildRequires:\s+%s\b" % re.escape(br), spec, re.M), br
    assert "-DS3S_SYSTEMD_UNIT_DIR=%{_unitdir}" in spec
    rpmspec = shutil.which("rpmspec")
    if rpmspec:
        p = run(rpmspec, "-q", "--qf", "%{name} %{version}\n", os.path.join(
            SRC, "packaging", "rpm", "s3statusd.spec"), check=False)
        assert p.returncode == 0 and p.stdout.split()[:2] == ["s3statusd", VERSION], p.stderr
    else:
        print("  (rpmspec not installed: the spec was checked as text)")


def test_rpm_spec_builds_with_rpmbuild():
    """rpmbuild -bb on this Debian host (rpm package): the macros that come from Amazon Linux's
    cmake-rpm-macros and systemd-rpm-macros are defined as they expand there, and
    BuildRequires are not checked (--nodeps). Proves %prep/%build/%install/%check and %files."""
    rpmbuild = shutil.which("rpmbuild")
    if not rpmbuild:
        print("SKIP: rpmbuild not found (Debian: apt-get install rpm)")
        return
    top = tempfile.mkdtemp(prefix="s3s-rpm-")
    os.makedirs(os.path.join(top, "SOURCES"))
    tarball = os.path.join(top, "SOURCES", "s3statusd-%s.tar.gz" % VERSION)
    run("tar", "-C", os.path.dirname(SRC), "-czf", tarball, "--exclude=.git",
        "--exclude=build*", "--exclude=__pycache__",
        "--transform", "s,^%s,s3statusd-%s," % (re.escape(os.path.basename(SRC)), VERSION),
        os.path.basename(SRC))
    defines = {
        "_topdir": top, "_unitdir": "/usr/lib/systemd/system", "dist": ".test",
        "cmake": "cmake -S . -B rpm-build -DCMAKE_INSTALL_PREFIX=/usr",
        "cmake_build": "cmake --build rpm-build -j%d" % (os.cpu_count() or 2),
        "cmake_install": "DESTDIR=%{buildroot} cmake --install rpm-build",
        "systemd_post()": ":", "systemd_preun()": ":", "systemd_postun_with_restart()": ":",
    }
    args = []
    for k, v in defines.items():
        args += ["--define", "%s %s" % (k, v)]
    run(rpmbuild, "-bb", "--nodeps", *args,
        os.path.join(SRC, "packaging", "rpm", "s3statusd.spec"))
    rpms = glob.glob(os.path.join(top, "RPMS", "*", "s3statusd-%s-1.test.*.rpm" % VERSION))
    assert len(rpms) == 1, rpms
    listing = set(run("rpm", "-qlp", rpms[0]).stdout.split())
    for want in ("/usr/bin/s3statusd", "/usr/bin/s3status",
                 "/usr/lib/systemd/system/s3statusd.service",
                 "/usr/lib/systemd/system/s3statusd@.service", "/etc/s3statusd/s3statusd.conf",
                 "/usr/share/man/man8/s3statusd.8.gz", "/usr/share/man/man1/s3status.1.gz",
                 "/usr/share/man/man5/s3statusd.conf.5.gz"):
        assert want in listing, (want, sorted(listing))
    assert run("rpm", "-qp", "--configfiles", rpms[0]).stdout.split() == [
        "/etc/s3statusd/s3statusd.conf"]
    shutil.rmtree(top)
    print("  %s" % os.path.basename(rpms[0]))


if __name__ == "__main__":
    sys.exit(h.run_tests(globals()))
