//! GPU probes: the nvidia-smi commands and parser ([`nvidia_smi`]).

pub mod nvidia_smi;
