"""A block's observations held as uint16 DN, and one STACK_PX part of it as the reduction wants it.

A part is handed on either as the float32 stack (roles, h, w, obs) or, when every observation in it turns
DN into reflectance by one non-decreasing map (the same scale/offset and harmonisation: one sensor's
scenes), as the DN stack itself: composite.reduce_dn then sorts the DN and maps only the picked values,
which gives the float path's composite bit for bit at half the memory and without the float32 stack.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoresby.places import composite as comp
from scoresby.places.harmonize import harmonize, harmonize_in_place
from scoresby.places.reader import SceneReader
from scoresby.places.sensor_view import ROLES

Coefficients = Mapping[str, tuple[float, float]] | None
_SCRATCH = threading.local()


def scratch(key: str, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """This thread's reusable array `key` of `shape`: valid until the thread asks for `key` again.

    A part's DN and role stacks are a few MiB each: allocated afresh, each is a new mmap whose every page
    faults in on first touch (a third of a fresh process's composite page faults); reused, they stay mapped.
    """
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = getattr(_SCRATCH, key, None)
    if buf is None or buf.size < size:
        buf = np.empty(size, dtype=np.uint8)
        setattr(_SCRATCH, key, buf)
    return buf[:size].view(dtype).reshape(shape)


@dataclass
class Part:
    """One part's clear masks and its observations: the float32 stack, or the DN stack and its one map."""

    clears: list[np.ndarray]
    stack: np.ndarray | None = None  # (roles, h, w, obs) float32, NaN where not clear
    dn: np.ndarray | None = None  # (roles, h, w, obs) uint16, comp.DN_MISSING where not clear
    reader: SceneReader | None = None  # with `coeffs`: the map of every DN in `dn`
    coeffs: Coefficients = None

    def clear_count(self) -> np.ndarray:
        """Clear observations per pixel (uint16)."""
        shape = (self.stack if self.stack is not None else self._dn_form()[0]).shape[1:3]
        count = np.zeros(shape, dtype=np.uint16)
        for clear in self.clears:
            count += clear
        return count

    def _dn_form(self) -> tuple[np.ndarray, SceneReader]:
        """The DN stack and the reader of its map (a part in float form has neither)."""
        if self.dn is None or self.reader is None:
            raise ValueError("a part in float form has no DN stack")
        return self.dn, self.reader

    def reflectance(self, dn: np.ndarray) -> np.ndarray:
        """Reflectance of (roles, h, w) DN by the part's map, as the float stack makes it."""
        return harmonize_in_place(self._dn_form()[1].reflectance(dn), ROLES, self.coeffs)

    def roles(self, indices: list[int]) -> np.ndarray:
        """The float32 (len(indices), h, w, obs) of some roles, NaN where not clear."""
        if self.stack is not None:
            return self.stack[indices]
        dn, reader = self._dn_form()
        out = scratch("roles", (len(indices), *dn.shape[1:]), np.float32)
        missing = ~np.stack(self.clears, axis=-1) if self.clears else None
        for j, i in enumerate(indices):
            reader.role_reflectance(i, dn[i], out[j])
            harmonize_in_place(out[j : j + 1], [ROLES[i]], self.coeffs)
            if missing is not None:
                np.copyto(out[j], np.float32(np.nan), where=missing)
        return out

    def composite(self, method: str, percentile: float | None) -> np.ndarray:
        """The reduced reflectance (roles, h, w); consumes the stack (sorted in place)."""
        count = self.clear_count()
        if self.stack is not None:
            return comp.reduce(self.stack, count, method, percentile)
        return comp.reduce_dn(self._dn_form()[0], count, method, percentile, self.reflectance)


@dataclass
class Held:
    """A block's observations: DN (obs, 6, h, w), clear (obs, h, w), which part won (obs, h, w), parts."""

    dn: np.ndarray
    clear: np.ndarray
    source: np.ndarray
    parts: list[list[tuple[SceneReader, Any]]]  # per observation: (reader, harmonisation) of its scenes

    def part(self, part: Any, *, dn_form: bool = True) -> Part:
        """The observations clear in a part: in DN form when one map serves them all (and `dn_form`).

        A DN-form part's stacks are this thread's `scratch`: it is used up before the thread's next part.
        """
        keep = [k for k in range(len(self.parts)) if self.clear[(k, *part)].any()]
        one = self._one_map(keep) if dn_form else None
        if one is None:
            stack, clears = self.stack(part, keep)
            return Part(clears, stack=stack)
        h, w = (s.stop - s.start for s in part)
        dn = scratch("dn", (len(ROLES), h, w, len(keep)), np.uint16)
        clears = []
        missing = np.empty((h, w), dtype=np.uint16)
        for j, k in enumerate(keep):
            clear = self.clear[(k, *part)]
            # DN | 0xFFFF is DN_MISSING (all bits set) where not clear, DN | 0 is the DN where clear: the copy
            # and the fill in one plain pass, 4x faster than a copy and a masked copyto into the strided part.
            np.logical_not(clear, out=missing, casting="unsafe")
            np.negative(missing, out=missing)
            np.bitwise_or(self.dn[(k, slice(None), *part)], missing[None], out=dn[..., j])
            clears.append(clear)
        return Part(clears, dn=dn, reader=one[0], coeffs=one[1])

    def _one_map(self, keep: list[int]) -> tuple[SceneReader, Coefficients] | None:
        """The (reader, harmonisation) whose non-decreasing map is every kept scene's, if there is one."""
        key: tuple[Any, ...] | None = None
        first: tuple[SceneReader, Coefficients] | None = None
        for k in keep:
            for reader, coeffs in self.parts[k]:
                this = (tuple(reader.rescaling), tuple(sorted((coeffs or {}).items())))
                if key is None:
                    key, first = this, (reader, coeffs)
                elif this != key:
                    return None
        if key is None or any(s <= 0 for s, _ in key[0]) or any(b <= 0 for _, (_, b) in key[1]):
            return None
        return first

    def stack(self, part: Any, keep: list[int] | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """The float32 stack (6, h, w, obs) and clear masks of the observations clear in a part."""
        if keep is None:
            keep = [k for k in range(len(self.parts)) if self.clear[(k, *part)].any()]
        h, w = (s.stop - s.start for s in part)
        stack = np.empty((len(ROLES), h, w, len(keep)), dtype=np.float32)
        clears = []
        for j, k in enumerate(keep):
            dn, clear = self.dn[(k, slice(None), *part)], self.clear[(k, *part)]
            (reader, coeffs), *others = self.parts[k]
            if others:
                refl = harmonize(reader.reflectance(dn), ROLES, coeffs)
                for i, (other, other_coeffs) in enumerate(others, start=1):
                    won = self.source[(k, *part)] == i
                    refl[:, won] = harmonize(other.reflectance(dn), ROLES, other_coeffs)[:, won]
                stack[..., j] = refl
            else:  # one scene: its reflectance made in the stack itself
                harmonize_in_place(reader.reflectance(dn, out=stack[..., j]), ROLES, coeffs)
            np.copyto(stack[..., j], np.float32(np.nan), where=~clear)
            clears.append(clear)
        return stack, clears
