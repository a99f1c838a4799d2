"""The input every model reads: a table of distinct paths, and the credit
every model returns.

A path is the ordered states of one or more journeys (``("email",
"sms:abandoned_cart", "direct")``), with the conversions, the value and the
non-converting journeys (nulls) that followed it. This is the path table
of the attribution literature and of ChannelAttribution; liftlab builds it
in the warehouse (:mod:`liftlab.attribution.paths`).

The models read the table block by block (:meth:`Paths.blocks`, at most
:data:`BLOCK_TOUCHES` touches each), so what they hold per touch is bounded
by the block size: only the table itself (and Shapley's one channel mask
per path) grows with the data.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["BLOCK_TOUCHES", "SEPARATOR", "ModelCredit", "Paths"]

SEPARATOR = " > "

# Touches per block when a model reads a path table block by block: every
# array a model makes per touch is then at most 8 MiB.
BLOCK_TOUCHES = 1 << 20


def _split(path: str, separator: str) -> tuple[str, ...]:
    parts = tuple(path.strip().split(separator))
    if "" in parts:
        parts = tuple(part.strip() for part in parts if part.strip())
    return parts


@dataclass(frozen=True, slots=True)
class Paths:
    """Distinct paths with their conversions, value and nulls.

    The paths are held as codes, not strings: ``states`` are the distinct
    states, sorted, and the touches of path ``i`` are
    ``codes[offsets[i]:offsets[i + 1]]``, indexes into ``states``. Every
    model reads them with array operations, so a path table of a million
    distinct paths needs a few bytes per touch.

    Attributes:
        states: Every state on any path, sorted.
        codes: Each touch's state, as an index into ``states``, path after
            path in time order.
        offsets: Where each path starts in ``codes``, and its end (one
            more entry than there are paths).
        conversions: Conversions that followed each path.
        value: Their total value.
        nulls: Journeys along each path that did not convert.
    """

    states: tuple[str, ...]
    codes: np.ndarray
    offsets: np.ndarray
    conversions: np.ndarray
    value: np.ndarray
    nulls: np.ndarray

    def __post_init__(self) -> None:
        count = len(self.offsets) - 1
        if count < 0 or self.offsets[0] != 0 or self.offsets[-1] != len(self.codes):
            raise ValueError("offsets: must run from 0 to the number of touches")
        for name in ("conversions", "value", "nulls"):
            column = getattr(self, name)
            if column.shape != (count,):
                raise ValueError(f"{name}: needs one number per path ({count})")
            if np.any(column < 0) or not np.all(np.isfinite(column)):
                raise ValueError(f"{name}: must be finite and not negative")
        if np.any(np.diff(self.offsets) <= 0):
            raise ValueError("paths: a path needs at least one state")
        if len(self.codes) and not 0 <= self.codes.min() <= self.codes.max() < len(
            self.states
        ):
            raise ValueError("codes: must index states")

    @classmethod
    def build(
        cls,
        paths: Iterable[str | Sequence[str]],
        conversions: Iterable[float],
        *,
        value: Iterable[float] | None = None,
        nulls: Iterable[float] | None = None,
        separator: str = SEPARATOR,
    ) -> Paths:
        """Paths from strings such as ``"a > b"`` or from sequences of states.

        Value defaults to zero and nulls to zero.
        """
        states = [
            _split(path, separator) if isinstance(path, str) else tuple(path)
            for path in paths
        ]
        labels = sorted({state for path in states for state in path})
        index = {label: code for code, label in enumerate(labels)}
        codes = np.fromiter(
            (index[state] for path in states for state in path), np.int32
        )
        lengths = np.fromiter(map(len, states), np.int64, len(states))
        return cls._from_codes(
            tuple(labels), codes, lengths, conversions, value=value, nulls=nulls
        )

    @classmethod
    def from_strings(
        cls,
        paths: pa.Array | pa.ChunkedArray | Sequence[str],
        conversions: Iterable[float],
        *,
        value: Iterable[float] | None = None,
        nulls: Iterable[float] | None = None,
        separator: str = SEPARATOR,
    ) -> Paths:
        """The same as :meth:`build` for path strings, split and coded with
        Arrow's compute kernels instead of one Python object per touch."""
        if isinstance(paths, (pa.Array, pa.ChunkedArray)):
            strings = paths
        elif isinstance(paths, pd.Series) and isinstance(paths.dtype, pd.StringDtype):
            # Pandas strings convert straight to Arrow (Arrow-backed: no copy).
            strings = pa.array(paths)
        else:
            strings = pa.array(pd.Series(paths, dtype=object), pa.large_string())
        # One contiguous array, so that list indexes count from its start.
        strings = pc.cast(strings, pa.large_string())
        if isinstance(strings, pa.ChunkedArray):
            strings = strings.combine_chunks()
        # The parts are coded as they are split (a path table has few
        # distinct states), and only the dictionary is trimmed: parts that
        # differ in surrounding space share a state, empty ones are dropped.
        split = pc.split_pattern(strings, separator)
        encoded = pc.dictionary_encode(split.flatten())
        raw = [str(label).strip() for label in encoded.dictionary.to_pylist()]
        labels = sorted({label for label in raw if label})
        rank = {label: code for code, label in enumerate(labels)}
        to_code = np.array([rank.get(label, -1) for label in raw], np.int32)
        codes = to_code[encoded.indices.to_numpy(zero_copy_only=False)]
        keep = codes >= 0
        if keep.all():
            lengths = pc.list_value_length(split).to_numpy(zero_copy_only=False)
            lengths = lengths.astype(np.int64)
        else:
            owner = pc.list_parent_indices(split).to_numpy()[keep]
            codes = codes[keep]
            lengths = np.bincount(owner, minlength=len(strings)).astype(np.int64)
        return cls._from_codes(
            tuple(labels),
            codes,
            lengths,
            conversions,
            value=value,
            nulls=nulls,
        )

    @classmethod
    def _from_codes(
        cls,
        states: tuple[str, ...],
        codes: np.ndarray,
        lengths: np.ndarray,
        conversions: Iterable[float],
        *,
        value: Iterable[float] | None,
        nulls: Iterable[float] | None,
    ) -> Paths:
        count = len(lengths)
        offsets = np.zeros(count + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return cls(
            states=states,
            codes=np.asarray(codes, np.int32),
            offsets=offsets,
            conversions=_numbers(conversions, count, 0.0),
            value=_numbers(value, count, 0.0),
            nulls=_numbers(nulls, count, 0.0),
        )

    @classmethod
    def concatenate(cls, parts: Sequence[Paths]) -> Paths:
        """One table of the paths of ``parts``, in their order.

        The parts may have different states (tables coded from separate
        batches of strings, say): the states become the sorted union and
        each part's codes are mapped onto it. No paths are merged, so a
        path in two parts is two rows. No parts give an empty table.
        """
        states = tuple(sorted({state for part in parts for state in part.states}))
        index = {state: code for code, state in enumerate(states)}
        # Each part's codes are mapped straight into the joined array, so
        # the codes are held twice at most, never three times.
        codes = np.empty(sum(len(part.codes) for part in parts), np.int32)
        start = 0
        for part in parts:
            remap = np.array([index[state] for state in part.states], np.int32)
            end = start + len(part.codes)
            np.take(remap, part.codes, out=codes[start:end])
            start = end

        def joined(column: str) -> np.ndarray:
            numbers = (getattr(part, column) for part in parts)
            return np.concatenate([np.zeros(0), *numbers])

        return cls._from_codes(
            states,
            codes,
            np.concatenate([np.zeros(0, np.int64), *(part.lengths for part in parts)]),
            joined("conversions"),
            value=joined("value"),
            nulls=joined("nulls"),
        )

    def blocks(self, touches: int | None = None) -> Iterator[Paths]:
        """The table as consecutive tables of whole paths, in path order.

        Each block holds as many whole paths as fit in ``touches`` touches
        (:data:`BLOCK_TOUCHES` when None); a path longer than that is a
        block of its own. Blocks share ``states`` and are views of this
        table's arrays: only their offsets, rebased to start at 0, are
        new. A table of no paths has no blocks.

        Args:
            touches: The most touches in a block (a single longer path
                excepted); at least 1.
        """
        limit = BLOCK_TOUCHES if touches is None else touches
        if limit < 1:
            raise ValueError(f"touches: must be 1 or more, got {limit}")
        count = len(self.offsets) - 1
        first = 0
        while first < count:
            start = self.offsets[first]
            # The last path boundary within the limit, at least one path on.
            end = int(np.searchsorted(self.offsets, start + limit, side="right")) - 1
            end = max(end, first + 1)
            stop = self.offsets[end]
            yield Paths(
                states=self.states,
                codes=self.codes[start:stop],
                offsets=self.offsets[first : end + 1] - start,
                conversions=self.conversions[first:end],
                value=self.value[first:end],
                nulls=self.nulls[first:end],
            )
            first = end

    def strings(self, *, separator: str = SEPARATOR) -> pa.Array:
        """Each path as one string, its states joined by ``separator``.

        Built block by block with Arrow, so no Python string is made per
        touch. :meth:`from_strings` reads them back into the same paths
        when no state holds the separator or space at either end (and into
        the same states when every state is on some path).
        """
        labels = pa.array(self.states, pa.large_string())
        glue = pa.scalar(separator, pa.large_string())
        joined = [
            pc.binary_join(
                pa.LargeListArray.from_arrays(
                    pa.array(block.offsets), labels.take(pa.array(block.codes))
                ),
                glue,
            )
            for block in self.blocks()
        ]
        return pa.concat_arrays(joined) if joined else pa.array([], pa.large_string())

    def to_frame(self, *, separator: str = SEPARATOR) -> pd.DataFrame:
        """The table as a frame with one row per path, in path order, and
        the columns ``path`` (the string of :meth:`strings`),
        ``conversions``, ``value`` and ``nulls``."""
        return pd.DataFrame(
            {
                "path": self.strings(separator=separator).to_pandas(),
                "conversions": self.conversions,
                "value": self.value,
                "nulls": self.nulls,
            }
        )

    @property
    def paths(self) -> tuple[tuple[str, ...], ...]:
        """Each path's states in time order (built on request)."""
        labels = np.array(self.states, dtype=object)[self.codes]
        return tuple(
            tuple(labels[start:end])
            for start, end in zip(self.offsets[:-1], self.offsets[1:], strict=True)
        )

    @property
    def lengths(self) -> np.ndarray:
        """Touches per path."""
        return np.diff(self.offsets)

    @property
    def owner(self) -> np.ndarray:
        """Each touch's path (its row in the table)."""
        return np.repeat(np.arange(len(self.offsets) - 1), self.lengths)

    @property
    def position(self) -> np.ndarray:
        """Each touch's place on its path, from 0."""
        return np.arange(len(self.codes)) - np.repeat(self.offsets[:-1], self.lengths)

    @property
    def channels(self) -> tuple[str, ...]:
        """Every state on any path, sorted."""
        return self.states

    @property
    def total_conversions(self) -> float:
        return float(self.conversions.sum())

    @property
    def total_value(self) -> float:
        return float(self.value.sum())


def _numbers(column: Iterable[float] | None, count: int, default: float) -> np.ndarray:
    if column is None:
        return np.full(count, default)
    if isinstance(column, np.ndarray):
        return column.astype(float, copy=False)
    return np.asarray(
        list(column) if not hasattr(column, "to_numpy") else column, float
    )


@dataclass(frozen=True, slots=True)
class ModelCredit:
    """The conversions and value one model credits to each state.

    Attributes:
        model: The model's name (``last``, ``markov``, ...).
        channels: The states credited, sorted.
        conversions: Credited conversions per state; they add up to the
            conversions of the paths (unless ``note`` says otherwise).
        value: Credited value per state, in the same shares.
        removal_effects: Markov only: each state's removal effect.
        conversion_probability: Markov only: the chain's probability of
            conversion from the start.
        note: Why credit is missing, when it is.
    """

    model: str
    channels: tuple[str, ...]
    conversions: tuple[float, ...]
    value: tuple[float, ...]
    removal_effects: tuple[float, ...] | None = None
    conversion_probability: float | None = None
    note: str | None = None

    @classmethod
    def from_totals(
        cls,
        model: str,
        conversions: Mapping[str, float],
        value: Mapping[str, float],
        **extra: object,
    ) -> ModelCredit:
        """Credit from per-state totals."""
        channels = tuple(sorted(set(conversions) | set(value)))
        return cls(
            model=model,
            channels=channels,
            conversions=tuple(float(conversions.get(c, 0.0)) for c in channels),
            value=tuple(float(value.get(c, 0.0)) for c in channels),
            **extra,  # type: ignore[arg-type]
        )

    def credit(self) -> dict[str, float]:
        """Credited conversions by state."""
        return dict(zip(self.channels, self.conversions, strict=True))

    def value_credit(self) -> dict[str, float]:
        """Credited value by state."""
        return dict(zip(self.channels, self.value, strict=True))
