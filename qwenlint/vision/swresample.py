"""How many samples FFmpeg's resampler gives torchcodec for a file of known frame sizes.

transformers' ``load_audio`` decodes with torchcodec (``AudioDecoder(source, sample_rate=16000,
num_channels=1).get_all_samples()``), which converts every decoded frame with libswresample and
keeps what each call returns (torchcodec ``SingleStreamDecoder::convertAudioAVFrameToFrameOutputOnCPU``,
``FFMPEGCommon.cpp::convertAudioAVFrameSamples``, ``maybeFlushSwrBuffers``)::

    per frame:  out = swr_convert(ctx, buf, av_rescale_rnd(swr_get_delay(ctx, rate) + nb, 16000, rate,
                                                          AV_ROUND_UP), frame, nb)
    at the end: out = swr_convert(ctx, buf, swr_get_out_samples(ctx, 0), NULL, 0)

The resampler holds back input it needs for its filter, so the total is not ``ceil(n * 16000 /
rate)``: it depends on how the file is split into frames (the reflection padding of the flush,
the filter length, the x86 build's seven held-back samples).  :func:`resampled_samples` replays
that arithmetic, integer state only, for a sequence of frame sizes.  It mirrors libswresample 4.7
(FFmpeg 5.1: ``swresample.c`` ``swr_convert`` / ``resample()`` / ``swr_get_delay`` /
``swr_get_out_samples``, ``resample.c`` ``resample_init`` / ``multiple_resample`` /
``invert_initial_buffer`` / ``resample_flush`` / ``get_delay`` / ``get_out_samples``,
``resample_template.c`` ``resample_common``) with the options ``swr_alloc_set_opts2`` leaves at
their defaults (filter_size 32, phase_shift 10, cutoff 0.97, exact_rational on, the swr engine)
as torchcodec 0.17 calls it.  Hand-written because no library exposes this count without decoding
the file (qwenlint reads headers only, and its core does not load FFmpeg); it is checked against
the system libswresample through ctypes and against torchcodec's decode by
tests/differential/test_audio_facts.py (and, once by hand, against libswresample 6.3, FFmpeg 8:
the same counts on 800 drawn cases).  Replayed without the held-back samples (``padless=0``, as
non-x86 builds run) it gave the same totals on 3000 drawn WAV-like frame sequences; it is kept
for fidelity, not verified on such a build.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

#: ``resample()`` in swresample.c holds back this many input samples per call on x86
#: (``padless = ARCH_X86 && s->engine == SWR_ENGINE_SWR ? 7 : 0``); 0 on other architectures.
X86_PADLESS = 7
_INT_MAX = (1 << 31) - 1
#: States remembered while looking for the cycle of a run of equal frames (past it: frame by frame).
_MAX_STATES = 1 << 16


def _reduce(num: int, den: int, limit: int) -> tuple[int, int]:
    """``av_reduce`` (libavutil/rational.c): ``num / den`` in lowest terms, or its best continued
    fraction approximation with both terms at most ``limit``."""
    g = math.gcd(num, den)
    if g:
        num, den = num // g, den // g
    if num <= limit and den <= limit:
        return num, den
    a0n, a0d, a1n, a1d = 0, 1, 1, 0
    while den:
        x = num // den
        next_den = num - den * x
        a2n, a2d = x * a1n + a0n, x * a1d + a0d
        if a2n > limit or a2d > limit:
            if a1n:
                x = (limit - a0n) // a1n
            if a1d:
                x = min(x, (limit - a0d) // a1d)
            if den * (2 * x * a1d + a0d) > num * a1d:
                a1n, a1d = x * a1n + a0n, x * a1d + a0d
            break
        a0n, a0d, a1n, a1d = a1n, a1d, a2n, a2d
        num, den = den, next_den
    return a1n, a1d


@dataclass
class Resampler:
    """One ``SwrContext`` resampling ``in_rate`` to ``out_rate``: its resampler's constants and
    the counts of its state (where the samples are, not their values)."""

    in_rate: int
    out_rate: int
    padless: int = X86_PADLESS

    def __post_init__(self) -> None:
        # resample_init (resample.c), swr_alloc_set_opts2's defaults.  The filter length is the one
        # value C computes in double: the same IEEE operations here give the same ceil.
        factor = min(self.out_rate * 0.97 / self.in_rate, 1.0)  # cutoff 0.97
        length = max(math.ceil(32 / factor), 1)  # filter_size 32
        self.filter_length = length + (length & 1) if length > 1 else length
        phases = 1 << 10  # phase_shift 10
        exact, _ = _reduce(self.out_rate, self.in_rate, _INT_MAX)  # exact_rational
        if exact <= phases:
            phases = exact
        self.phase_count = phases
        src, dst = _reduce(self.out_rate, self.in_rate * phases, _INT_MAX // 2)
        while dst < 1 << 20 and src < 1 << 20:
            src, dst = src * 2, dst * 2
        self.src_incr, self.dst_incr = src, dst
        self.index = -phases * ((self.filter_length - 1) // 2)
        self.frac = 0
        self.buffered = 0  # in_buffer_count
        self.constrained = False  # resample_in_constraint
        self.flushed = False

    # --- resample.c --------------------------------------------------------------------------

    def _multiple_resample(self, dst_size: int, src_size: int) -> tuple[int, int]:
        """(samples out, samples consumed): as many outputs as the filter can compute from
        ``src_size`` inputs, at most ``dst_size`` (``multiple_resample`` + ``resample_common``)."""
        end_index = (1 + src_size - self.filter_length) * self.phase_count
        delta_frac = (end_index - self.index) * self.src_incr - self.frac
        n = max(min(dst_size, (delta_frac + self.dst_incr - 1) // self.dst_incr), 0)
        if n <= 0:
            return 0, 0
        position, self.frac = divmod(self.index * self.src_incr + self.frac + n * self.dst_incr, self.src_incr)
        consumed, self.index = divmod(position, self.phase_count)
        return n, consumed

    def _invert_initial_buffer(self, in_count: int) -> int | None:
        """``invert_initial_buffer``: None while the first ``filter_length + 1`` inputs are not in
        (all is buffered); else how many of this call's inputs went into the buffer."""
        if self.index >= 0:
            return 0
        length = self.filter_length
        num = min(in_count + self.buffered, length + 1)
        if num < length + 1:
            self.buffered = num
            return None
        taken = num - self.buffered
        out_idx = length
        while self.index < 0:
            out_idx -= 1
            self.index += self.phase_count
        self.buffered = max(self.buffered + length, 1 + 2 * length) - out_idx
        return max(taken, 0)

    # --- swresample.c ------------------------------------------------------------------------

    def _resample(self, out_count: int, in_count: int) -> int:
        border = self._invert_initial_buffer(in_count)
        if border is None:
            return 0
        if border:
            in_count -= border
            self.constrained = False
        padless = self.padless
        done = 0
        while True:
            if not self.constrained and self.buffered:
                n, used = self._multiple_resample(out_count, self.buffered)
                out_count -= n
                done += n
                self.buffered -= used
                if not in_count:
                    break
                if self.buffered <= border:  # what is left is this call's input: take it back
                    in_count += self.buffered
                    self.buffered = 0
                    border = 0
            if (self.flushed or in_count > padless) and not self.buffered:
                n, used = self._multiple_resample(out_count, max(in_count - padless, 0))
                out_count -= n
                done += n
                in_count -= used
            if in_count:
                count = in_count
                if self.buffered and self.buffered + 2 < count and out_count:
                    count = self.buffered + 2
                self.buffered += count
                in_count -= count
                border += count
                self.constrained = False
                if self.buffered != count or in_count:
                    continue
                if padless:
                    padless = 0
                    continue
            break
        self.constrained = out_count != 0
        return done

    def convert(self, out_count: int, in_count: int | None) -> int:
        """``swr_convert(ctx, out, out_count, in, in_count)``; ``in_count`` None: the flush (``in`` NULL)."""
        if in_count is None:
            if not self.flushed:  # resample_flush: reflect the buffer's tail
                self.buffered += (min(self.buffered, self.filter_length) + 1) // 2
            self.constrained = False
            self.flushed = True
            in_count = 0
        return self._resample(out_count, in_count)

    def delay(self, base: int) -> int:
        """``swr_get_delay(ctx, base)`` (resample.c ``get_delay``; ``av_rescale``: nearest, ties away from 0)."""
        num = (((self.buffered - (self.filter_length - 1) // 2) * self.phase_count - self.index) * self.src_incr
               - self.frac)
        den = self.in_rate * self.src_incr * self.phase_count
        return (num * base + den // 2) // den if num >= 0 else -((-num * base + den // 2) // den)

    def out_samples(self, in_samples: int) -> int:
        """``swr_get_out_samples(ctx, in_samples)`` (resample.c ``get_out_samples``)."""
        num = (self.buffered + 2 + in_samples) * self.phase_count - self.index
        den = self.in_rate * self.phase_count
        return -(-num * self.out_rate // den) + 2

    def state(self) -> tuple[int, int, int, bool, bool]:
        return self.index, self.frac, self.buffered, self.constrained, self.flushed


def resampled_samples(rate: int, frames: Iterable[tuple[int, int]], out_rate: int = 16000,
                      padless: int = X86_PADLESS) -> int:
    """Samples torchcodec returns for a stream at ``rate`` Hz decoded as ``frames``, runs of
    ``(frame size, how many frames)`` in decoding order, resampled to ``out_rate``.

    A long run of equal frames repeats its state (the resampler's position is rational): the
    count jumps over whole cycles, so the cost is the run's period, not its length.
    """
    if rate == out_rate:
        return sum(size * count for size, count in frames)
    swr = Resampler(rate, out_rate, padless)
    total = 0

    def one(size: int) -> int:
        cap = -(-(swr.delay(rate) + size) * out_rate // rate)  # av_rescale_rnd(..., AV_ROUND_UP)
        return swr.convert(cap, size)

    for size, count in frames:
        if size <= 0 or count <= 0:
            continue
        seen: dict[tuple[int, int, int, bool, bool], tuple[int, int]] = {}
        k = 0
        while k < count:
            key = swr.state()
            if key in seen:
                k0, total0 = seen[key]
                period, gain = k - k0, total - total0
                cycles = (count - k) // period
                total += cycles * gain
                k += cycles * period
                seen = {}  # the rest (less than a period) plainly
                while k < count:
                    total += one(size)
                    k += 1
                break
            if len(seen) < _MAX_STATES:
                seen[key] = (k, total)
            total += one(size)
            k += 1
    cap = swr.out_samples(0)
    if cap:
        total += swr.convert(cap, None)
    return total
