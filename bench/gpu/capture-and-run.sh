#!/usr/bin/env bash
# For a session that has a machine with a real NVIDIA GPU (not run yet: no
# session of this project had one). Captures the outputs pcc's GPU parsers
# read, then runs the GPU path on the same machine: sshd on loopback as the
# host, pcc run from here, `docker run --rm --gpus all <cuda image> nvidia-smi`.
# Everything lands in $OUT (default a new temp dir); each step's exit status is
# in $OUT/steps.tsv, and a failed step does not stop the next. A few minutes.
#
# Prepare here (the GPU machine may have no network):
#   npm run build && bash bench/gpu/capture-and-run.sh --prepare
# then run there with the ignored paths carried:  carry: ["dist", ".gpu-carry"]
#   bash bench/gpu/capture-and-run.sh
# CUDA_IMAGE picks the image (default nvidia/cuda:12.4.1-base-ubuntu22.04). If
# it is neither local nor pullable, an image is built FROM scratch with this
# machine's glibc (the NVIDIA runtime mounts nvidia-smi and the driver libs in).
set -uo pipefail
cd "$(dirname "$0")/../.."
if [ "${1:-}" = --prepare ]; then
  # The externals of the bundled CLI (dist/bundle), small enough to carry.
  rm -rf .gpu-carry && mkdir -p .gpu-carry/node_modules
  for m in ssh2 node-ssh esbuild @esbuild asn1 bcrypt-pbkdf tweetnacl safer-buffer cpu-features nan \
           sb-promise-queue sb-scandir is-stream make-dir semver shell-escape; do
    [ -e "node_modules/$m" ] && cp -a "node_modules/$m" .gpu-carry/node_modules/
  done
  grep -qx '.gpu-carry' .git/info/exclude 2>/dev/null || echo .gpu-carry >> .git/info/exclude
  du -sh .gpu-carry dist
  exit 0
fi

OUT="${OUT:-$(mktemp -d -t pcc-gpu-capture.XXXXXX)}"
mkdir -p "$OUT/raw"
IMAGE="${CUDA_IMAGE:-nvidia/cuda:12.4.1-base-ubuntu22.04}"
printf 'step\texit\n' > "$OUT/steps.tsv"
step() { # step NAME OUTFILE CMD...: runs CMD with a 120 s limit, output to OUTFILE
  local name=$1 file=$2; shift 2
  timeout 120 "$@" > "$file" 2>&1; local rc=$?
  printf '%s\t%s\n' "$name" "$rc" >> "$OUT/steps.tsv"
  return $rc
}

# 1. Raw captures, each as the tool prints it.
{ date -u; uname -a; cat /etc/os-release; } > "$OUT/raw/machine.txt" 2>&1
step lspci "$OUT/raw/lspci-nn.txt" lspci -nn
step nvidia-smi "$OUT/raw/nvidia-smi.txt" nvidia-smi
step nvidia-smi-query "$OUT/raw/nvidia-smi-query.csv" nvidia-smi --query-gpu=uuid,name,memory.total,driver_version --format=csv
step nvidia-smi-q "$OUT/raw/nvidia-smi-q.txt" nvidia-smi -q
step sysfs "$OUT/raw/sysfs-pci.txt" sh -c 'for d in /sys/bus/pci/devices/*; do printf "%s vendor=%s device=%s class=%s\n" "${d##*/}" "$(cat $d/vendor)" "$(cat $d/device)" "$(cat $d/class)"; done'
step docker-info "$OUT/raw/docker-info-runtimes.txt" docker info --format '{{json .Runtimes}} default={{.DefaultRuntime}}'
step nvidia-ctk "$OUT/raw/nvidia-ctk-version.txt" nvidia-ctk --version

# 2. pcc: the CLI from dist/, its externals from .gpu-carry where node_modules is missing.
[ -d node_modules ] || { [ -d .gpu-carry/node_modules ] && ln -s .gpu-carry/node_modules node_modules; }
if command -v node >/dev/null && [ -f dist/bundle/src/cli/main.js ]; then
  # The gpu fact's own script, run here, is the fixture in pcc's format; then the parser on it.
  node --input-type=module -e "import('./dist/src/facts/host.js').then(m => process.stdout.write(m.gpu.script))" > "$OUT/gpu-fact.sh" &&
    step gpu-fact "$OUT/gpu-fact.txt" sh "$OUT/gpu-fact.sh"
  step parse "$OUT/parsed.json" node --input-type=module -e "
    import('./dist/src/facts/host.js').then(async (m) => { const fs = await import('node:fs');
      console.log(JSON.stringify(m.parseGpu(fs.readFileSync('$OUT/gpu-fact.txt', 'utf8')), null, 2)); })"

  # sshd on a loopback address as the host, with a key of this run's own.
  work=$(mktemp -d); ssh-keygen -q -t ed25519 -N '' -f "$work/key"; ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
  cp "$work/key.pub" "$work/authorized_keys"; mkdir -p /run/sshd
  /usr/sbin/sshd -f /dev/null -o ListenAddress=127.0.0.9:2222 -o HostKey="$work/host_key" -o AuthorizedKeysFile="$work/authorized_keys" \
    -o StrictModes=no -o PermitRootLogin=prohibit-password -o PasswordAuthentication=no -o PidFile="$work/sshd.pid" -E "$work/sshd.log"
  printf 'sshd\t%s\n' "$?" >> "$OUT/steps.tsv"
  proj="$work/project"; mkdir -p "$proj"
  export PCC_SSH_KEY="$work/key" HOME="$work"   # a home of this run's own: pcc's ssh config and known_hosts go there
  step hosts-add "$OUT/pcc-hosts-add.txt" node bin/pcc.js hosts add gpu1 "$(id -un)@127.0.0.9:2222" --key "$work/key" --project "$proj"
  step probe "$OUT/pcc-probe.json" node bin/pcc.js run bench/gpu/probe.pcc.ts gpu1 --project "$proj" --json
  mkdir -p "$proj/config" && echo GPU_APPLY=1 > "$proj/config/gpu.env"
  step apply "$OUT/pcc-apply.json" node bin/pcc.js run bench/gpu/probe.pcc.ts gpu1 --project "$proj" --json
  rm "$proj/config/gpu.env"
  step probe-again "$OUT/pcc-probe-again.json" node bin/pcc.js run bench/gpu/probe.pcc.ts gpu1 --project "$proj" --json
  [ -f "$work/sshd.pid" ] && kill "$(cat "$work/sshd.pid")"
  cp "$work/sshd.log" "$OUT/sshd.log" 2>/dev/null
else
  printf 'pcc\tskipped: no node or no dist/ (run --prepare and carry dist, .gpu-carry)\n' >> "$OUT/steps.tsv"
fi

# 3. docker run --gpus all: the image asked for, or one built here from this machine's glibc.
if ! docker image inspect "$IMAGE" >/dev/null 2>&1 && ! timeout 120 docker pull -q "$IMAGE" >/dev/null 2>&1; then
  ctx=$(mktemp -d); IMAGE=pcc-gpu-probe:local
  for f in /lib64/ld-linux-x86-64.so.2 /lib/x86_64-linux-gnu/{libc.so.6,libm.so.6,libdl.so.2,libpthread.so.0,librt.so.1}; do
    [ -e "$f" ] && mkdir -p "$ctx/root$(dirname "$f")" && cp -L "$f" "$ctx/root$f"
  done
  printf 'FROM scratch\nCOPY root/ /\nENV NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=utility\n' > "$ctx/Dockerfile"
  step build-probe-image "$OUT/docker-build.txt" docker build -q -t "$IMAGE" "$ctx"
fi
echo "$IMAGE" > "$OUT/docker-run-image.txt"
step docker-run-gpus "$OUT/docker-run-gpus.txt" docker run --rm --gpus all "$IMAGE" nvidia-smi
step docker-inspect-config "$OUT/image-config.json" docker image inspect --format '{{json .Config}}' "$IMAGE"
cat "$OUT/steps.tsv"
