"""Landlock, the Linux security module that lets an unprivileged process confine itself, by syscall.

Three syscalls (``landlock_create_ruleset``, ``landlock_add_rule``, ``landlock_restrict_self``;
numbers 444-446 on every architecture that has them) through :mod:`ctypes`. The PyPI ``landlock``
package covers only ABI 1 (file system); grading also needs TCP rules (ABI 4) and the scoping of
signals and abstract Unix sockets (ABI 6). See the kernel's ``Documentation/userspace-api/landlock.rst``.

:func:`abi` says what the running kernel offers (0: none); :func:`restrict_self` applies a policy to
the calling thread and everything it executes or forks afterwards, irrevocably.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
from typing import Iterable

_SYS = {"create_ruleset": 444, "add_rule": 445, "restrict_self": 446}
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

# File-system rights, with the ABI that introduced them.
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE, MAKE_CHAR, MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
REFER = 1 << 13       # ABI 2
TRUNCATE = 1 << 14    # ABI 3
IOCTL_DEV = 1 << 15   # ABI 5
_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # rights a rule on a file may hold

# Network rights (ABI 4) and scopes (ABI 6).
BIND_TCP, CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
WRITE = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO
         | MAKE_SYM | REFER | TRUNCATE)


class LandlockError(OSError):
    pass


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.syscall.restype = ctypes.c_long


def _syscall(name: str, *args) -> int:
    ret = _libc.syscall(ctypes.c_long(_SYS[name]), *args)
    if ret < 0:
        err = ctypes.get_errno()
        raise LandlockError(err, f"landlock_{name}: {os.strerror(err)}")
    return ret


def abi() -> int:
    """The Landlock ABI version of the running kernel; 0 where there is none (or not Linux)."""
    if platform.system() != "Linux":
        return 0
    try:
        return _syscall("create_ruleset", None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION))
    except (LandlockError, AttributeError):
        return 0


def handled_fs(version: int) -> int:
    """Every file-system right ``version`` knows: all of them are handled, so none is left open."""
    return _FS_BY_ABI[max(v for v in _FS_BY_ABI if v <= version)]


def restrict_self(read: Iterable[str], write: Iterable[str], devices: Iterable[str] = (),
                  deny_tcp: bool = True, scope: bool = True) -> int:
    """Confine the calling thread (and what it execs or forks) for good; return the ABI used.

    ``read``: directories and files readable (and executable); ``write``: directories that may also
    be written, created in and removed from; ``devices``: device files that may be read, written
    and ioctl'ed (``/dev/null``). Everything else of the file system is out of reach. With
    ``deny_tcp`` (ABI >= 4) no TCP port may be bound or connected to; with ``scope`` (ABI >= 6) no
    signal reaches, and no abstract Unix socket connects to, a process outside the domain. Paths
    that do not exist are skipped. Raises :class:`LandlockError` where the kernel has no Landlock.
    """
    version = abi()
    if version < 1:
        raise LandlockError(0, "this kernel has no Landlock")
    fs = handled_fs(version)
    attr = _RulesetAttr(fs, BIND_TCP | CONNECT_TCP if deny_tcp and version >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if scope and version >= 6 else 0)
    size = 24 if version >= 6 else 16 if version >= 4 else 8
    ruleset = _syscall("create_ruleset", ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0))
    try:
        for paths, rights in ((read, READ), (write, READ | WRITE), (devices, READ_FILE | WRITE_FILE | IOCTL_DEV)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except FileNotFoundError:
                    continue
                try:
                    allowed = rights & fs
                    if not os.path.isdir(path):
                        allowed &= FILE_ONLY
                    rule = _PathBeneathAttr(allowed, fd)
                    _syscall("add_rule", ctypes.c_int(ruleset), ctypes.c_int(_RULE_PATH_BENEATH),
                             ctypes.byref(rule), ctypes.c_uint32(0))
                finally:
                    os.close(fd)
        if _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise LandlockError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
        _syscall("restrict_self", ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)
    return version
