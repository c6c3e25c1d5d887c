"""The simulated IA-32 SMP: event engine, physical memory, paging, TLBs,
cache lines and CPUs."""
from .cacheline import HIT, MISS, TRANSFER, CacheLine
from .cpu import CPU, IDLE, KERNEL, MODE_NAMES, SPIN, USER
from .engine import Engine
from .memory import PGSIZE, MiB, OutOfMemory, PhysicalMemory
from .tlb import TLB

__all__ = ["CPU", "CacheLine", "Engine", "HIT", "IDLE", "KERNEL", "MISS", "MODE_NAMES",
           "MiB", "OutOfMemory", "PGSIZE", "PhysicalMemory", "SPIN", "TLB", "TRANSFER", "USER"]
