"""The global random generators' state: read before each cell, restored before the same cell in a
replay, so a notebook that never seeds anything draws the same numbers again.

Covered: Python's ``random``, numpy's legacy global ``RandomState`` (``np.random.rand``, and
every library drawing from it: scikit-learn without ``random_state``), numpy's unseeded
generators (``default_rng()``, ``PCG64()``, ``SeedSequence()``, ``RandomState()``: their entropy,
see `Entropy`), torch's CPU generator and,
once CUDA is initialised, its CUDA generators. Only libraries the kernel has already imported are
read (``sys.modules``): nothing here imports numpy or torch. numpy seeds its global generator
from OS entropy when ``numpy.random`` is first imported, often in the very cell that then draws
from it; an import watch (`ImportWatch`) reads that state right after the import, so it is
replayed too.

Cheap on the kernel's thread (`RngWatch.read`: a few µs): the states are read and compared
with the previous ones; an unchanged state is the same `Reading` object as before, so the
writer thread stores each distinct state once (`encode`, JSON, as a blob) and refers to it.
"""

from __future__ import annotations

import base64
import ctypes
import importlib.abc
import importlib.machinery
import os
import random as _random
import struct
import sys
from array import array
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nbtrack.core.framing import json_bytes

NUMPY_RANDOM = "numpy.random"
NUMPY_BIT_GENERATOR = "numpy.random.bit_generator"
ENV_STATES = "NBTRACK_REPLAY_RNG"  # the replay kernel's file of states, by cell key


@dataclass(eq=False)
class Reading:
    """Raw states (name -> state as the library gives it), compared by identity downstream."""

    states: dict[str, Any]
    encoded: bytes | None = None  # filled by the writer thread, once


@dataclass
class CellRng:
    """What one cell had: the states before it, and those read when a library was imported in it."""

    before: Reading | None
    imported: dict[str, Any] = field(default_factory=dict)


def _numpy_state() -> Any:
    mtrand = getattr(sys.modules.get(NUMPY_RANDOM), "mtrand", None)
    rand = getattr(mtrand, "_rand", None)
    if rand is None:
        return None
    _, keys, pos, has_gauss, gauss = rand.get_state(legacy=True)
    return (keys.tobytes(), int(pos), int(has_gauss), float(gauss))


def _torch_state() -> Any:
    torch = sys.modules.get("torch")
    get_state = getattr(torch, "get_rng_state", None)
    if get_state is None:
        return None
    cpu = bytes(get_state().numpy().tobytes())
    cuda = getattr(torch, "cuda", None)
    if cuda is not None and getattr(cuda, "is_initialized", lambda: False)():
        return (cpu, tuple(bytes(s.numpy().tobytes()) for s in cuda.get_rng_state_all()))
    return (cpu, ())


class _Raw:
    """The bytes of a Mersenne Twister's state read in place (``ctypes.string_at``: about a µs),
    to tell cheaply whether a generator moved since the last reading. Each layout is checked
    once against the library's own ``getstate``; a layout that does not match (another Python
    build) falls back to reading the full state."""

    MT_BYTES = 4 * 624 + 4

    def __init__(self) -> None:
        self.python: bool | None = None  # random.Random in place: PyObject_HEAD, int index, uint32[624]
        self.numpy: bool | None = None  # MT19937's bitgen state: uint32 key[624], int pos
        self.gauss_at: int | None = None  # RandomState's has_gauss, gauss (`_gauss_offset`)

    def python_random(self, module: Any) -> Any:
        """``random``'s state: ("raw", bytes, gauss_next), else its ``getstate()``."""
        inst = getattr(module, "_inst", None)
        if inst is None:
            return module.getstate()
        return self.python_generator(inst)

    def python_generator(self, inst: Any) -> Any:
        """A ``random.Random``'s state, as `python_random` gives it."""
        if self.python is None:
            self.python = self._check_python(inst)
        if not self.python or _HEAD is None:
            return inst.getstate()
        return ("raw", ctypes.string_at(id(inst) + _HEAD, self.MT_BYTES), inst.gauss_next)

    def _check_python(self, inst: Any) -> bool:
        if _HEAD is None or sys.byteorder != "little":
            return False
        _, state, _ = inst.getstate()
        raw = ctypes.string_at(id(inst) + _HEAD, self.MT_BYTES)
        keys = array("I", raw[4:])
        return keys.itemsize == 4 and (*keys.tolist(), int.from_bytes(raw[:4], "little", signed=True)) == state

    def numpy_random(self, rand: Any) -> Any:
        """numpy's legacy global state as `_numpy_state` gives it, read in place when the
        layout checks out (the Mersenne Twister's words, and RandomState's cached Gaussian)."""
        bitgen: Any = getattr(rand, "_bit_generator", None)
        if bitgen is None or type(bitgen).__name__ != "MT19937":
            return _numpy_state()
        if self.numpy is None:
            self.numpy = self._check_numpy(bitgen)
            self.gauss_at = _gauss_offset(type(rand)) if self.numpy else None
        if not self.numpy or self.gauss_at is None:
            return _numpy_state()
        raw = ctypes.string_at(bitgen.ctypes.state_address, self.MT_BYTES)
        gauss = ctypes.string_at(id(rand) + self.gauss_at, 16)
        return (raw[:-4], int.from_bytes(raw[-4:], "little", signed=True), int.from_bytes(gauss[:4], "little"),
                struct.unpack("<d", gauss[8:])[0])

    def _check_numpy(self, bitgen: Any) -> bool:
        try:
            state = bitgen.state["state"]
            raw = ctypes.string_at(bitgen.ctypes.state_address, self.MT_BYTES)
        except Exception:
            return False
        return raw[:-4] == state["key"].tobytes() and int.from_bytes(raw[-4:], sys.byteorder) == state["pos"]


def _gauss_offset(cls: Any) -> int | None:
    """Where a RandomState keeps ``has_gauss`` (an int, then the cached double 8 bytes on):
    found on a private instance (the user's generator is never touched) as the field after the
    pointer to its own ``bitgen_t``, and checked against its ``get_state``."""
    if sys.byteorder != "little" or _HEAD is None:
        return None
    try:
        probe = cls(sys.modules[NUMPY_RANDOM].MT19937(12345))  # seeded: draws no entropy (see `Entropy`)
        probe.standard_normal()  # leaves a cached Gaussian: has_gauss = 1
        _, _, _, has_gauss, gauss = probe.get_state(legacy=True)
        bitgen = probe._bit_generator
        size = cls.__basicsize__
        raw = ctypes.string_at(id(probe), size)
        words = [int.from_bytes(raw[i:i + 8], "little") for i in range(0, size - 7, 8)]
        own = [id(probe) + 8 * i for i, w in enumerate(words) if w == bitgen.ctypes.state_address]
        for i, word in enumerate(words):
            if word in own and 8 * i + 24 <= size:
                at = 8 * i + 8
                found = ctypes.string_at(id(probe) + at, 16)
                if int.from_bytes(found[:4], "little") == has_gauss == 1 and \
                        struct.unpack("<d", found[8:])[0] == gauss:
                    return at
    except Exception:
        return None
    return None


_HEAD = object.__basicsize__ if object.__basicsize__ == 16 else None  # a standard 64-bit build


class Entropy:
    """numpy's unseeded generators (``default_rng()``, ``PCG64()``, ``SeedSequence()``,
    ``RandomState()``) take 128 bits of OS entropy from ``numpy.random.bit_generator.randbits``.
    While installed, they take them from a generator of nbtrack's own, seeded from the OS (again
    in a forked child): as unpredictable from one kernel to the next, but its state is read
    before each cell with the others ("entropy"), so a replay gives the same unseeded generators
    the same seeds. One per process (the patch is process-wide); only once numpy is imported."""

    def __init__(self) -> None:
        self.source = _random.Random(os.urandom(32))
        self._os: Callable[[int], int] | None = None  # numpy's own randbits, while ours is installed
        os.register_at_fork(after_in_child=self.reseed)

    @property
    def installed(self) -> bool:
        return self._os is not None

    def reseed(self) -> None:
        self.source.seed(os.urandom(32))

    def _draw(self, bits: int) -> int:
        return self.source.getrandbits(bits)

    def install(self) -> bool:
        """Take over numpy's entropy when ``numpy.random`` is imported; True when ours is in place."""
        module = sys.modules.get(NUMPY_BIT_GENERATOR)
        current = getattr(module, "randbits", None)
        if current is None:
            return False
        if current != self._draw:
            self._os = current
            vars(module)["randbits"] = self._draw
        return True

    def remove(self) -> None:
        module = sys.modules.get(NUMPY_BIT_GENERATOR)
        if self._os is not None and module is not None and getattr(module, "randbits", None) == self._draw:
            vars(module)["randbits"] = self._os
        self._os = None


ENTROPY = Entropy()


class RngWatch:
    """Reads the states before each cell; the same `Reading` while nothing changed. Python's and
    numpy's generators are read in place (`_Raw`: a few µs; Python's decoded by the writer
    thread, `encode`), torch's through its API (only when imported)."""

    def __init__(self) -> None:
        self._last: Reading | None = None
        self._raw = _Raw()

    def read(self) -> Reading:
        last = self._last
        before = last.states if last is not None else {}
        states: dict[str, Any] = {}
        random = sys.modules.get("random")
        if random is not None:
            states["random"] = self._raw.python_random(random)
        rand = getattr(getattr(sys.modules.get(NUMPY_RANDOM), "mtrand", None), "_rand", None)
        if rand is not None:
            numpy = self._raw.numpy_random(rand)
            if numpy is not None:
                states["numpy"] = numpy
        if NUMPY_BIT_GENERATOR in sys.modules and ENTROPY.install():
            states["entropy"] = self._raw.python_generator(ENTROPY.source)
        if "torch" in sys.modules:
            torch = _torch_state()
            if torch is not None:
                states["torch"] = torch
        if last is None or states != before:
            last = self._last = Reading(states)
        return last


def _jsonable(name: str, state: Any) -> Any:
    if name in ("random", "entropy"):
        if state[0] == "raw":  # index (int32), then the 624 words
            _, raw, gauss = state
            keys = array("I", raw[4:]).tolist()
            return {"version": 3, "state": [*keys, int.from_bytes(raw[:4], "little", signed=True)], "gauss": gauss}
        version, internal, gauss = state
        return {"version": version, "state": list(internal), "gauss": gauss}
    if name == "numpy":
        keys, pos, has_gauss, gauss = state
        return {"keys": base64.b64encode(keys).decode(), "pos": pos, "has_gauss": has_gauss, "gauss": gauss}
    cpu, cuda = state
    return {"cpu": base64.b64encode(cpu).decode(), "cuda": [base64.b64encode(s).decode() for s in cuda]}


def encode(cell: CellRng) -> bytes:
    """The blob of a cell's states (JSON): ``{"before": {name: state}, "imported": {...}}``."""
    before = cell.before
    if before is not None and before.encoded is not None and not cell.imported:
        return before.encoded
    states = before.states if before is not None else {}
    document = {"before": {name: _jsonable(name, s) for name, s in states.items()},
                "imported": {name: _jsonable(name, s) for name, s in cell.imported.items()}}
    data = json_bytes(document, sort_keys=True)
    if before is not None and not cell.imported:
        before.encoded = data
    return data


# ---- restoring (in the replay kernel)
def restore(states: Mapping[str, Any]) -> list[str]:
    """Set the generators of imported libraries to `states` (decoded JSON); returns the names set.
    A library not imported here is left alone (it is never imported for this)."""
    done = []
    for name, state in states.items():
        try:
            if name == "random" and "random" in sys.modules:
                sys.modules["random"].setstate((state["version"], tuple(state["state"]), state["gauss"]))
            elif name == "entropy" and ENTROPY.install():
                ENTROPY.source.setstate((state["version"], tuple(state["state"]), state["gauss"]))
            elif name == "numpy" and NUMPY_RANDOM in sys.modules:
                _restore_numpy(state)
            elif name == "torch" and "torch" in sys.modules:
                _restore_torch(state)
            else:
                continue
        except Exception:  # a state from another library version: leave the generator as it is
            continue
        done.append(name)
    return done


def _restore_numpy(state: Mapping[str, Any]) -> None:
    numpy = sys.modules["numpy"]
    keys = numpy.frombuffer(base64.b64decode(state["keys"]), dtype=numpy.uint32).copy()
    # through sys.modules: while numpy.random is being imported, `numpy.random` is no attribute yet
    rand = sys.modules[NUMPY_RANDOM].mtrand._rand
    rand.set_state(("MT19937", keys, state["pos"], state["has_gauss"], state["gauss"]))


def _restore_torch(state: Mapping[str, Any]) -> None:
    torch = sys.modules["torch"]

    def tensor(text: str) -> Any:
        return torch.frombuffer(bytearray(base64.b64decode(text)), dtype=torch.uint8)

    torch.set_rng_state(tensor(state["cpu"]))
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensor(s) for s in state["cuda"]])


# ---- the import watch: numpy's global generator as seeded at import
class _Loader(importlib.abc.Loader):
    def __init__(self, loader: Any, done: Callable[[], None]) -> None:
        self._loader, self._done = loader, done

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        self._loader.exec_module(module)
        try:
            self._done()
        except Exception:
            pass


class _Finder(importlib.abc.MetaPathFinder):
    """One finder for every watch (the first finder returning a spec wins, so two would hide
    each other): runs the watches' callbacks, in the order they were installed, right after
    ``numpy.random`` is first imported. A finder is only asked about modules not imported yet:
    imports that already happened cost nothing."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def _done(self) -> None:
        for callback in list(self.callbacks):
            callback()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != NUMPY_RANDOM or not self.callbacks:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader, self._done)
        return spec


_FINDER = _Finder()


class ImportWatch:
    """Calls `done()` right after ``numpy.random`` is first imported (see `_Finder`)."""

    def __init__(self, done: Callable[[], None]) -> None:
        self._done = done

    def install(self) -> None:
        if self._done not in _FINDER.callbacks:
            _FINDER.callbacks.append(self._done)
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)

    def remove(self) -> None:
        if self._done in _FINDER.callbacks:
            _FINDER.callbacks.remove(self._done)


def numpy_import_state() -> dict[str, Any]:
    """numpy's global state right after its import, with nbtrack's entropy (installed here)."""
    states: dict[str, Any] = {}
    state = _numpy_state()
    if state is not None:
        states["numpy"] = state
    if ENTROPY.install():
        states["entropy"] = ENTROPY.source.getstate()
    return states


def rng_key(source: str, occurrence: int) -> str:
    """A replayed cell's key: its source's hash and how many cells with that source ran before."""
    import hashlib

    return f"{hashlib.sha256(source.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}:{occurrence}"
