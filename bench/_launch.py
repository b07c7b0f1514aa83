"""Run a command as a grandchild of the benchmark and report its own peak RSS and wall time.

Linux carries a process's RSS high-water mark across exec(): a command spawned straight from the harness
reports ru_maxrss >= the harness's own peak (Python's subprocess spawns with vfork, sharing the harness's
memory map until exec). This tiny launcher (a few MiB, started with `python -I -S`) forks the command
itself, so the command's ru_maxrss starts from the launcher's size, not the harness's.

    python -I -S bench/_launch.py RESULT.json COMMAND [ARGS...]
"""

import json
import os
import sys
import time

result_path, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)  # noqa: S606 (argv as given, no shell)
    except OSError as exc:
        os.write(2, f"cannot run {argv[0]}: {exc}\n".encode())
    os._exit(127)
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - t0
with open(result_path, "w") as f:  # noqa: PTH123 (pathlib not imported: keep the launcher small)
    json.dump({"maxrss_kib": usage.ru_maxrss, "wall_s": wall, "pid": pid}, f)
sys.exit(os.waitstatus_to_exitcode(status))
