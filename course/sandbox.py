"""Where a submission's code runs: a bubblewrap sandbox, as an unprivileged user, with limits.

Why bubblewrap: it is one small Debian package, needs no daemon, and gives a job its own
mount, pid, network, IPC and UTS namespaces in one command. The job sees a read-only system
(``/usr``, ``/etc``), the Python installation and the virtual environment read-only, its own
copy of ``tinyquant`` (read-only) and its own work folder (read-write) — not the repository,
``source/``, the gradebook or other submissions, which are simply not mounted. Its ``/tmp`` is
private. Because bwrap runs the job as pid 1's child in a new pid namespace and dies with the
grader (``--die-with-parent``), every process the job started is killed when it ends.

As root (CI, most grading servers), bwrap runs as root and ``setpriv`` drops to the dedicated
user ``tinyquant-grader`` with no capabilities and ``no_new_privs`` before Python starts. The
limits (address space, CPU seconds, processes, file size) are rlimits set on bwrap and
inherited; RLIMIT_NPROC counts the processes of that user. As another user, bwrap runs
unprivileged (user namespaces) under that user's own id.

``python -m course.sandbox setup`` (run by ``make``) installs bubblewrap and creates the user
when run as root; ``status()`` says what is missing, and the grader refuses to call a run
isolated when it is not.
"""
from __future__ import annotations

import os
import pwd
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass
from pathlib import Path

USER = "tinyquant-grader"
COURSE = Path(__file__).resolve().parent
INSIDE_COURSE = "/opt/tinyquant-grader"   # holds the course package (worker and wire only run)
INSIDE_LIB = "/opt/tinyquant-lib"         # the job's own tinyquant
INSIDE_JOB = "/job"


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 4 << 30     # address space per process
    cpu_seconds: int = 900          # CPU time per process
    processes: int = 256            # of the grading user (threads count too)
    file_bytes: int = 64 << 20      # largest file a job may write
    tmp_bytes: int = 256 << 20      # its private /tmp (memory-backed)

    def apply(self) -> None:
        """Set the limits on the calling process (a ``preexec_fn``: they are inherited)."""
        for limit, value in ((resource.RLIMIT_AS, self.memory_bytes),
                             (resource.RLIMIT_CPU, self.cpu_seconds),
                             (resource.RLIMIT_NPROC, self.processes),
                             (resource.RLIMIT_FSIZE, self.file_bytes),
                             (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(limit, (value, value))
        os.setsid()


def bwrap() -> str | None:
    return shutil.which("bwrap")


def grading_user() -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(USER)
    except KeyError:
        return None


def status() -> tuple[bool, str]:
    """(isolated?, what it is or what is missing)."""
    if bwrap() is None:
        return False, "bubblewrap (bwrap) is not installed: run `make sandbox` as root, or apt-get install bubblewrap"
    if os.geteuid() == 0 and grading_user() is None:
        return False, f"the user {USER!r} does not exist: run `python -m course.sandbox setup` as root"
    with tempfile.TemporaryDirectory() as scratch:
        probe = subprocess.run([*wrap(Path(scratch), None, None), "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return False, f"bubblewrap cannot create a sandbox here: {probe.stderr.strip()}"
    who = f"user {USER}" if os.geteuid() == 0 else f"your own user ({pwd.getpwuid(os.getuid()).pw_name})"
    return True, f"bubblewrap sandbox as {who}, no network, private /tmp and pids"


def system_binds() -> list[str]:
    """The read-only system: /usr (and the /bin, /lib symlinks into it), /etc, Python, the venv."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    prefixes = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
                Path(sysconfig.get_paths()["purelib"]).resolve()}
    for prefix in sorted(prefixes):
        if not str(prefix).startswith("/usr/"):
            args += ["--ro-bind", str(prefix), str(prefix)]
    return args


def folders_for(binds: list[str]) -> list[str]:
    """Readable parent folders for the mount points (bwrap, as root, would make them 0700)."""
    targets = [binds[i + 2] for i, arg in enumerate(binds) if arg in ("--bind", "--ro-bind")]
    parents = sorted({str(parent) for target in targets for parent in Path(target).parents
                      if str(parent) not in ("/", "/usr", "/etc", "/tmp")})
    return [arg for parent in parents for arg in ("--perms", "0755", "--dir", parent)]


def wrap(job: Path, lib: Path | None, limits: Limits | None) -> list[str]:
    """The bwrap command line that runs a command in `job` (its work folder)."""
    # Not --unshare-all: as root it would add a user namespace in which the grading user's id
    # is not mapped, and setpriv could not switch to it.
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    if os.geteuid() != 0:
        namespaces.append("--unshare-user")
    binds = [*system_binds(), "--ro-bind", str(COURSE), f"{INSIDE_COURSE}/course"]
    if lib is not None:
        binds += ["--ro-bind", str(lib), INSIDE_LIB]
    binds += ["--bind", str(job), INSIDE_JOB]
    # The private /tmp first: a venv or course folder under /tmp (a fresh clone in CI) is then
    # bound on top of it instead of being hidden by it.
    args = [bwrap(), *namespaces, "--die-with-parent", "--new-session",
            "--size", str((limits or Limits()).tmp_bytes), "--perms", "1777", "--tmpfs", "/tmp",
            *folders_for(binds), *binds, "--proc", "/proc", "--dev", "/dev",
            "--chdir", INSIDE_JOB, "--clearenv"]
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp",
           "PYTHONPATH": f"{INSIDE_LIB}:{INSIDE_COURSE}", "PYTHONDONTWRITEBYTECODE": "1",
           "MPLCONFIGDIR": "/tmp/matplotlib", "IPYTHONDIR": "/tmp/ipython", "LANG": "C.UTF-8",
           "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    # Set on some CPUs because old OpenBLAS builds crash there: keep what the machine has.
    env |= {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ}
    for key, value in env.items():
        args += ["--setenv", key, value]
    user = grading_user() if os.geteuid() == 0 else None
    if user is not None:
        args += ["--", "setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}",
                 "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs"]
    else:
        args += ["--"]
    return args


def prepare_folder(job: Path) -> None:
    """Let the grading user write into the job's work folder (and nothing else of ours)."""
    user = grading_user() if os.geteuid() == 0 else None
    if user is not None:
        os.chown(job, user.pw_uid, user.pw_gid)


def popen(job: Path, lib: Path, command: list[str], limits: Limits, isolated: bool):
    """Start `command` in the sandbox (or, not isolated, as a plain child in `job`)."""
    if isolated:
        prepare_folder(job)
        argv, cwd, env = [*wrap(job, lib, limits), *command], None, None
    else:
        argv = [part.replace(INSIDE_JOB, str(job)) for part in command]
        cwd = job
        env = dict(os.environ, PYTHONPATH=f"{lib}:{COURSE.parent}", MPLBACKEND="Agg",
                   OPENBLAS_NUM_THREADS="1")
    return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, preexec_fn=limits.apply)


def setup() -> int:
    """Install bubblewrap and create the grading user (root only; idempotent)."""
    if os.geteuid() != 0:
        ok, why = status()
        print(("✓ " if ok else "✗ ") + why)
        return 0
    if bwrap() is None:
        print("installing bubblewrap (apt-get)")
        quiet = {"stdout": subprocess.DEVNULL}
        if subprocess.run(["apt-get", "install", "-y", "bubblewrap"], **quiet).returncode != 0:
            subprocess.run(["apt-get", "update"], **quiet)
            subprocess.run(["apt-get", "install", "-y", "bubblewrap"], **quiet, check=True)
    if grading_user() is None:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                       check=True)
        print(f"created the grading user {USER}")
    ok, why = status()
    print(("✓ " if ok else "✗ ") + why)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(setup() if sys.argv[1:] == ["setup"] else (0 if status()[0] else 1))
