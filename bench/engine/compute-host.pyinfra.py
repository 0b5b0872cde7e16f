# The same 11 steps as compute-host.pcc.ts and compute-host.ansible.yml, as a
# pyinfra 3 deploy. Run: pyinfra -y --parallel N --data bench_root=DIR INVENTORY.py
# compute-host.pyinfra.py. Every write is under bench_root/<host name>.
#
# Where a step maps imperfectly:
# - pyinfra runs the deploy file once per host before anything is executed, so
#   a fact read here at the top level sees the host as it was before the run.
#   That is right for the dd step's `creates` (nothing earlier in the deploy
#   makes the image) and for the CPU count, but not for the size of the image
#   that dd has just made: that step is a small operation of this file's own
#   (`scratch_size`), whose body pyinfra runs when it executes it, after dd.
#   It reads the fact then and writes with files.put, as files.template does.
# - The dd step's `creates` is an `if` on the File fact around server.shell:
#   pyinfra's shell operation has no `creates`.
# - pyinfra's files.line matches by regex and appends `replace` when nothing
#   matches, as Ansible's lineinfile with regexp and pcc's lineInFile with match.
# - files.put (copy) and files.template write the whole file when its sha1
#   differs; files.file sets the mode in a step of its own, as in the others.
# - files.block creates a missing file through mktemp, so the new etc/hosts is
#   0600 where pcc's and Ansible's is 0644; its content is the same.
# - pyinfra reports 13 changed operations per host on a first run (pcc: 13
#   changes, Ansible: 9 changed tasks, its directory loop being one task).
from io import StringIO
from pathlib import Path

from pyinfra import host
from pyinfra.api import operation
from pyinfra.facts.files import File
from pyinfra.facts.hardware import Cpus
from pyinfra.operations import files, server

here = Path(__file__).parent
root = f"{host.data.bench_root}/{host.name}"
registry = "10.214.0.1:5000"
scratch = f"{root}/var/lib/pcc/scratch.img"

# 1: a tree of 5 directories (five operations, as pcc's five ops; Ansible's is
# one task with a loop)
for d in ["etc", "etc/pcc", "var", "var/lib", "var/lib/pcc"]:
    files.directory(name=f"directory {d}", path=f"{root}/{d}", mode="755")

# 2: registry line
files.line(
    name="registry line",
    path=f"{root}/etc/pcc/env",
    line="^REGISTRY_HOST=",
    replace=f"REGISTRY_HOST={registry}",
)

# 3: unit from a template (the Ansible playbook's own .j2, which names the host
# by Ansible's inventory_hostname)
files.template(
    name="unit from a template",
    src=str(here / "agent.service.j2"),
    dest=f"{root}/etc/pcc/agent.service",
    inventory_hostname=host.name,
    registry=registry,
)

# 4: copied config
files.put(
    name="copied config",
    src=StringIO("log_level = info\nworkers = 4\n"),
    dest=f"{root}/etc/pcc/agent.conf",
)

# 5: one-time scratch image (creates: the File fact, read before the run)
if not host.get_fact(File, path=scratch):
    server.shell(
        name="one-time scratch image",
        commands=[f"dd if=/dev/zero of={scratch} bs=64k count=16 2>/dev/null"],
    )

# 6: file mode
files.file(name="file mode", path=f"{root}/etc/pcc/agent.conf", mode="600")

# 7: managed hosts block
files.block(
    name="managed hosts block",
    path=f"{root}/etc/hosts",
    content="10.214.0.1 init\n10.214.0.2 cpu1\n10.214.0.3 gpu1",
    marker="# {mark} PCC MANAGED BLOCK",
)


# 8-9: stat the scratch image and record its size, read when this step runs
# (after dd), as pcc's fileState fact and Ansible's stat task do
@operation()
def scratch_size(src: str, dest: str):
    state = host.get_fact(File, path=src)
    if state:
        yield from files.put._inner(src=StringIO(f"{state['size']}\n"), dest=dest)
    else:
        host.noop(f"{src} does not exist")


scratch_size(name="record its size", src=scratch, dest=f"{root}/var/lib/pcc/scratch.size")

# 10-11: read the CPU count and write the cpus line (the count is a fact read
# before the run, like pcc's cpuCount; Ansible runs nproc as a task)
files.line(
    name="cpus line",
    path=f"{root}/etc/pcc/env",
    line="^CPUS=",
    replace=f"CPUS={host.get_fact(Cpus)}",
)
