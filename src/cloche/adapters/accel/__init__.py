"""GPU and driver detection: NVML, libcuda, nvidia-smi, /proc and /sys, ROCm, Intel XPU,
Apple Silicon, with an on-disk cache keyed by boot and driver. Import the submodules."""
