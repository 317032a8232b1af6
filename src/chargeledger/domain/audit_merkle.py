"""Merkle trees of a day's chain entries, as Certificate Transparency builds them (RFC 6962
§2.1, restated in RFC 9162 §2.1): a leaf is SHA-256(0x00 ‖ data), an inner node
SHA-256(0x01 ‖ left ‖ right), and a tree of n leaves splits at the largest power of two below
n, so every tree size has exactly one shape and an inclusion proof is at most log2(n) hashes.

The data of a leaf is the entry's chain hash (32 raw bytes): the checkpoint of a day then also
commits to everything chained before it. Hashes are bytes here; the storage and the REST API
write them as hex.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 6962 §2.1: MTH({}) = SHA-256()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """The largest power of two smaller than ``size`` (``size`` > 1)."""
    return 1 << ((size - 1).bit_length() - 1)


CHUNK = 1 << 14  # leaves hashed together, level by level (a perfect subtree)


def _perfect_or_partial_root(leaves: Sequence[bytes]) -> bytes:
    """MTH of ``leaves`` (at least one), level by level: pairs from the left, an odd last
    node carried up unchanged, which gives the RFC's tree (each split at the largest power
    of two) with one list comprehension per level instead of a call per node."""
    sha256 = hashlib.sha256
    level = [sha256(b"\x00" + data).digest() for data in leaves]
    while len(level) > 1:
        pairs = zip(level[::2], level[1::2], strict=False)  # an odd last node has no pair
        paired = [sha256(b"\x01" + a + b).digest() for a, b in pairs]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class MerkleAccumulator:
    """The root of a growing list of leaves in bounded memory: leaves are buffered and each
    full buffer (a perfect subtree of ``CHUNK`` leaves) is reduced to its root; those roots are
    kept on a stack and merged like the carries of a binary counter; the root folds the stack
    and the buffer's partial tree from the right, which is the RFC's split at the largest
    power of two."""

    __slots__ = ("_buffer", "_stack", "size")

    def __init__(self) -> None:
        self._buffer: list[bytes] = []
        self._stack: list[tuple[int, bytes]] = []
        self.size = 0

    def add(self, data: bytes) -> None:
        self._buffer.append(data)
        self.size += 1
        if len(self._buffer) == CHUNK:
            self._push(_perfect_or_partial_root(self._buffer), CHUNK)
            self._buffer = []

    def extend(self, leaves: Sequence[bytes]) -> None:
        """``add`` each of ``leaves``, a chunk at a time."""
        taken, total = 0, len(leaves)
        while taken < total:
            room = CHUNK - len(self._buffer)
            self._buffer += leaves[taken : taken + room]
            taken += room
            if len(self._buffer) == CHUNK:
                self._push(_perfect_or_partial_root(self._buffer), CHUNK)
                self._buffer = []
        self.size += total

    def _push(self, node: bytes, width: int) -> None:
        stack = self._stack
        while stack and stack[-1][0] == width:
            node = node_hash(stack.pop()[1], node)
            width *= 2
        stack.append((width, node))

    def root(self) -> bytes:
        if not self.size:
            return EMPTY_ROOT
        parts = [node for _, node in self._stack]
        if self._buffer:
            parts.append(_perfect_or_partial_root(self._buffer))
        node = parts[-1]
        for left in reversed(parts[:-1]):
            node = node_hash(left, node)
        return node


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaves' data."""
    accumulator = MerkleAccumulator()
    for data in leaves:
        accumulator.add(data)
    return accumulator.root()


def _subtree(hashes: Sequence[bytes], start: int, end: int) -> bytes:
    size = end - start
    if size == 1:
        return hashes[start]
    k = _split(size)
    return node_hash(_subtree(hashes, start, start + k), _subtree(hashes, start + k, end))


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1: the sibling hashes from the leaf up to the root."""
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} of a tree of {len(leaves)}")
    hashes = [leaf_hash(data) for data in leaves]
    path: list[bytes] = []
    start, end = 0, len(hashes)
    while end - start > 1:
        k = _split(end - start)
        if index - start < k:
            path.append(_subtree(hashes, start + k, end))
            end = start + k
        else:
            path.append(_subtree(hashes, start, start + k))
            start += k
    path.reverse()  # the RFC lists the path from the leaf upwards
    return path


def root_from_proof(data: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes | None:
    """The root a proof leads to (RFC 9162 §2.1.3.2), or None when the proof cannot be one for
    leaf ``index`` of a tree of ``size`` leaves (compare the answer with the signed root)."""
    if not 0 <= index < size:
        return None
    fn, sn, node = index, size - 1, leaf_hash(data)
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            node = node_hash(sibling, node)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            node = node_hash(node, sibling)
        fn >>= 1
        sn >>= 1
    return node if sn == 0 else None


def proves_inclusion(
    data: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    return root_from_proof(data, index, size, proof) == root
