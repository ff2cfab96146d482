#!/usr/bin/env bash
# The GPU path in one script (about 8 minutes on one H100/H200), every figure under OUT:
#
#   bash bench/gpu.sh [OUT]              # on a CUDA machine; OUT defaults to outputs/gpu
#   bash bench/gpu.sh --dry-run [OUT]    # the same steps on the CPU at tiny sizes (tests/test_gpu_script.py)
#
#  1. env.txt          torch, CUDA and the GPUs
#  2. train_step.txt   training-step throughput in bf16, channels-last, torch.compile off and on
#                      (python -m bench.train_step), images/s and the share of the GPU's dense bf16 peak
#  3. ddp.log          train.py with DDP over NCCL on every visible GPU (gloo on two CPU processes when dry)
#  4. data_loader.txt  the data module's images/s with one worker per CPU core
#  5. inference.txt    CUDA inference at 1024² (python bench/inference.py --devices cuda)
#  6. run/             a short real training run on the shared photos: checkpoints, samples, logs;
#                      pretrained/ its fp16 weights-only checkpoint and their scores (stylenet evaluate)
#  7. summary.md       the figures of 2-6 in one place, and the full Johnson recipe (40k steps x batch 4 at
#                      256²) projected from the measured throughput
#
# PYTHON names the interpreter (default: python); the package and its dependencies must import there.
set -euo pipefail
cd "$(dirname "$0")/.."
dry=0
if [[ "${1:-}" == --dry-run ]]; then dry=1; shift; fi
out=$(mkdir -p "${1:-outputs/gpu}" && cd "${1:-outputs/gpu}" && pwd)
python=${PYTHON:-python}
export PYTHONUNBUFFERED=1

if ((dry)); then
  device=cpu size=32 batch=2 repeats=1 steps=6 infer_size=64 batches=2 workers=1 gpus=2 peak=
  small=(data.image_size=32 data.batch_size=2 data.max_images=16 data.val_size=2 data.num_workers=0
    model.channels=8 model.num_blocks=1 style.size=64 trainer.val_check_interval=3
    callbacks.model_checkpoint.every_n_train_steps=3 callbacks.sample_grid.every_n_steps=3 callbacks.run_eta.every_n_steps=2)
  train=(trainer=cpu trainer.precision=bf16-mixed)
  ddp=(trainer=ddp trainer.accelerator=cpu trainer.devices=2 trainer.precision=32-true trainer.max_steps=4)
  evaluate=(--size 64 --device cpu)
else
  device=cuda size=256 batch=4 repeats=5 steps=3000 infer_size=1024 batches=200 workers=$(nproc)
  gpus=$("$python" -c "import torch; print(torch.cuda.device_count())")
  # dense bf16 peak in TFLOP/s, by name (the data sheets; no sparsity)
  peak=$("$python" -c "import torch; n = torch.cuda.get_device_name(); print(next((v for k, v in
    {'H200': 989, 'H100': 989, 'A100': 312, 'L40S': 362, 'L4': 121}.items() if k in n), ''))")
  small=(data.num_workers=$workers trainer.val_check_interval=500 callbacks.model_checkpoint.every_n_train_steps=1000
    callbacks.sample_grid.every_n_steps=500 callbacks.run_eta.every_n_steps=250)
  train=(trainer=gpu)
  ddp=(trainer=ddp trainer.devices=$gpus trainer.max_steps=600 data.num_workers=$((workers / gpus)) callbacks.run_eta.every_n_steps=200)
  evaluate=(--size 512 --device cuda)
fi

section() { printf '\n== %s (%s)\n' "$1" "$(date +%T)"; }
{
  section env
  "$python" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'devices', torch.cuda.device_count(),
    [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())])"
  if ((!dry)); then nvidia-smi; fi
} >"$out/env.txt" 2>&1

section "training step"
step=(-m bench.train_step --device "$device" --precision bf16-mixed --batch "$batch" --size "$size" --repeats "$repeats")
[[ -n "$peak" ]] && step+=(--peak-tflops "$peak")
{
  "$python" "${step[@]}" system.compile=false --recipes gram crosslayer
  "$python" "${step[@]}" system.compile=true --recipes gram
  "$python" "${step[@]}" --recipes metanet
} 2>&1 | grep -v -i warn | tee "$out/train_step.txt"

section "DDP on $gpus devices"
"$python" train.py "${ddp[@]}" "${small[@]}" hydra.run.dir="$out/ddp" 2>&1 | tee "$out/ddp.log" | grep -E "s/step|Error" || true

section "data loader"
"$python" -m bench.data_loader data.num_workers="$workers" --batches "$batches" 2>&1 | grep -v -i -E "warn|set_vital" |
  tee "$out/data_loader.txt"

section "inference at ${infer_size}²"
"$python" bench/inference.py --devices "$device" --sizes "$infer_size" --repeats 3 2>&1 | grep -v -i warn |
  tee "$out/inference.txt"

section "a short real training run ($steps steps)"
"$python" train.py "${train[@]}" "${small[@]}" style=starry trainer.max_steps="$steps" hydra.run.dir="$out/run" 2>&1 |
  tee "$out/run.log" | grep -E "s/step|final metrics|Error" || true
"$python" -m stylenet.cli export "$out/run/checkpoints/last.ckpt" --weights-only -o "$out/pretrained/starry"
"$python" -m stylenet.cli evaluate -m "$out/pretrained/starry.ckpt" -o "$out/pretrained/evaluation" "${evaluate[@]}" |
  tee "$out/pretrained/evaluation.txt"

section summary
"$python" - "$out" "$batch" "$gpus" <<'EOF' | tee "$out/summary.md"
import re
import sys
from pathlib import Path

out, batch, gpus = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print("# bench/gpu.sh\n")
print(next(line for line in (out / "env.txt").read_text().splitlines() if line.startswith("torch")), "\n")
rows = [line for line in (out / "train_step.txt").read_text().splitlines() if re.match(r"(gram|crosslayer|metanet) ", line)]
print("## training step (bf16)\n\n```\n" + "\n".join(rows) + "\n```\n")
best = min(float(re.search(r"\)\s+([\d.]+)", line).group(1)) for line in rows if "stylizer bf16" in line)
print(f"full Johnson recipe, 40,000 steps x batch {batch}: {40000 * best / 60:.1f} min at the best step ({best:.3f} s/step)\n")
ddp = re.findall(r"step \d+/\d+ .*?([\d.]+) s/step", (out / "ddp.log").read_text())
ddp_line = f"{ddp[-1]} s/step, {batch * gpus / float(ddp[-1]):.1f} images/s on {gpus}" if ddp else "no RunEta line"
print(f"## DDP (train.py, whole steps with logging and checkpoints)\n\n{ddp_line}\n")
loader = [float(x) for x in re.findall(r"([\d.]+) images/s", (out / "data_loader.txt").read_text())]
keeps_up = "keeps up with" if max(loader) >= batch / best else "CANNOT keep up with"
print(f"## data loader\n\n{max(loader):.0f} images/s: it {keeps_up} the best step's {batch / best:.0f} images/s\n")
print("## inference\n\n```\n" + (out / "inference.txt").read_text().strip() + "\n```\n")
print("## short run\n\n" + "\n".join(l for l in (out / "run.log").read_text().splitlines() if "final metrics" in l))
print("\n" + (out / "pretrained/evaluation.txt").read_text())
EOF
